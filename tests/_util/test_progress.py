"""Progress bars and log messages: on when asked, silent otherwise, numbers unchanged."""

import logging

import numpy as np
import pytest

import fastdse
from fastdse._util import progress as _progress


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(1200, 6))


def test_verbose_logs_to_stderr_and_changes_no_number(capsys, X, stochastic_plan):
    quiet = fastdse.dse(X, [1, 5], mode="approx", neighbors="exact", random_state=0)
    capsys.readouterr()
    loud = fastdse.dse(X, [1, 5], mode="approx", neighbors="exact", random_state=0,
                       verbose=True, progress=False)
    err = capsys.readouterr().err
    np.testing.assert_array_equal(quiet.value, loud.value)
    lines = [line for line in err.splitlines() if line.startswith("fastdse: ")]
    assert len(lines) == 1, err
    assert "mode='approx'" in lines[0] and "neighbours=exact" in lines[0]
    assert "deflated" in lines[0]
    # every stage of the approximate path, in pipeline order, with the process's peak memory
    stages = ["search", "widening", "kernel", "normalize", "pilot", "deflation", "lanczos",
              "quadrature"]
    at = [lines[0].index(f" {name} ") for name in stages]
    assert at == sorted(at) and lines[0].count("(peak ") == len(stages)
    assert [row["stage"] for row in loud.info["stages"]] == stages
    # the temporary handler is gone afterwards
    assert not any(getattr(h, "_fastdse", False) for h in _progress.logger.handlers)


def test_logger_receives_messages_without_verbose(caplog, X):
    with caplog.at_level(logging.DEBUG, logger="fastdse"):
        fastdse.dse(X[:300], 1, mode="approx", neighbors="exact", random_state=0)
    assert any("slq" in r.getMessage() or "exact" in r.getMessage() for r in caplog.records)
    assert all(r.name == "fastdse" for r in caplog.records)


def test_progress_bars_drawn_when_asked(capsys, monkeypatch, X):
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    fastdse.dse(X, 1, mode="approx", neighbors="exact", n_deflate=0, random_state=0,
                progress=True)
    err = capsys.readouterr().err
    assert "kNN + radius (exact, n=1200)" in err
    assert "Lanczos (20 probes, n=1200)" in err


def test_no_bars_when_off(capsys, monkeypatch, X):
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    fastdse.dse(X, 1, mode="approx", neighbors="exact", random_state=0, progress=False)
    assert capsys.readouterr().err == ""


def test_dsmi_verbose_one_plan_and_one_result_line(capsys, X):
    labels = np.repeat([0, 1, 2], 150)
    a = fastdse.dsmi(X[:450], labels, mode="exact", num_repetitions=2, random_state=1,
                     progress=False)
    capsys.readouterr()
    b = fastdse.dsmi(X[:450], labels, mode="exact", num_repetitions=2, random_state=1,
                     progress=False, verbose=True)
    err = capsys.readouterr().err.splitlines()
    assert a.value == b.value
    assert len(err) == 2, err
    assert "3 classes, 9 DSE evaluations (3 per class)" in err[0]
    assert err[1].startswith("fastdse: dsmi: ") and "+/-" in err[1]


@pytest.mark.parametrize("bad", ["yes", 3, -1, 1.0])
def test_bad_verbose(bad, X):
    with pytest.raises(TypeError, match="verbose must be False, True, 0, 1 or 2"):
        fastdse.dse(X[:50], verbose=bad)


def test_bars_come_from_tqdm_auto():
    # tqdm.auto: widget bars in a notebook, text bars on stderr elsewhere (as here)
    import tqdm.auto

    from fastdse._util import parallel

    with _progress.reporting(True), _progress.bar(3, "x") as b:
        assert isinstance(b, tqdm.auto.tqdm)
    assert parallel.tqdm is tqdm.auto.tqdm


def test_run_tasks_bar_on_stderr(capsys):
    from fastdse._util.parallel import run_tasks

    out = run_tasks(pow, [2], [1, 2, 3], n_jobs=1, progress=True, desc="powers")
    assert out == [2, 4, 8]
    captured = capsys.readouterr()
    assert "powers" in captured.err and captured.out == ""
