"""``fastdse bench``: the CSV written as the cases finish, and output errors in one line.

The cases are measured by a stand-in for ``bench.run_case`` (a real case starts a Python
process); the plot by a stand-in for ``bench.plot_results`` (tests/cli/test_plot.py draws it).
"""

import csv
import errno
import json
import os

import numpy as np
import pytest

import fastdse
from fastdse.cli import bench
from fastdse.cli import commands as cli

ARGS = ["bench", "--sizes", "100", "200", "--dims", "3", "--modes", "approx", "exact",
        "--t", "1", "2"]


@pytest.fixture
def measured(monkeypatch):
    """Replace the measurement of a case; returns the list of cases measured, in order."""
    calls = []

    def fake_run_case(case, timeout=None):
        calls.append(case)
        case.seconds, case.import_seconds, case.dse_seconds = 1e-4 * case.n, 0.5, 0.1
        case.peak_mib, case.data_mib = 100.0, 1.0
        offset = 0.0 if case.mode == "exact" else 0.25
        case.value = [5.0 + offset, 4.0 + offset]
        case.stderr = [0.0, 0.0]
        case.status = "ok"
        return case

    def fake_plot_results(cases, path):
        with open(path, "wb"):
            return True

    monkeypatch.setattr(bench, "run_case", fake_run_case)
    monkeypatch.setattr(bench, "plot_results", fake_plot_results)
    return calls


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def one_error_line(err):
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert lines[-1].startswith("fastdse: error: "), err
    return lines[-1]


def test_csv_is_written_as_the_cases_finish(tmp_path, capsys, measured, monkeypatch):
    prefix = tmp_path / "run"
    seen = []  # rows on disk when each case starts
    fake = bench.run_case

    def run_case(case, timeout=None):
        seen.append(len(read_csv(f"{prefix}.csv")))
        return fake(case, timeout)

    monkeypatch.setattr(bench, "run_case", run_case)
    assert cli.main([*ARGS, "--out", str(prefix)]) == 0
    out, _ = capsys.readouterr()
    assert seen == [0, 2, 4, 6]  # the header first, then a finished case's rows, flushed
    rows = read_csv(f"{prefix}.csv")
    # long form: one row per (case, t); for each n the exact mode runs first, so every error
    # is known when its rows are written
    assert [(r["n"], r["mode"], r["t"]) for r in rows] == [
        (n, mode, t) for n in ("100", "200") for mode in ("exact", "approx")
        for t in ("1.0", "2.0")]
    assert [r["value"] for r in rows[:4]] == ["5.0", "4.0", "5.25", "4.25"]
    assert [r["error"] for r in rows] == ["0.0", "0.0", "0.25", "0.25"] * 2
    assert {r["seconds"] for r in rows[:2]} == {"0.01"}  # the case's columns on each of its rows
    assert f"wrote {prefix}.csv, {prefix}.png" in out


def test_interrupted_run_keeps_the_finished_cases(tmp_path, capsys, measured, monkeypatch):
    fake = bench.run_case

    def run_case(case, timeout=None):
        if len(measured) == 3:
            raise KeyboardInterrupt
        return fake(case, timeout)

    monkeypatch.setattr(bench, "run_case", run_case)
    assert cli.main([*ARGS, "--out", str(tmp_path / "run")]) == 130
    rows = read_csv(tmp_path / "run.csv")
    assert [(r["n"], r["mode"], r["t"], r["status"]) for r in rows] == [
        (n, mode, t, "ok") for n, mode in [("100", "exact"), ("100", "approx"), ("200", "exact")]
        for t in ("1.0", "2.0")]
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("out", "match"),
    [
        ("{d}/no/run", "--out: the folder {d}/no does not exist; create it first"),
        ("{d}/file.npy/run", "--out: {d}/file.npy is a file, not a folder"),
        ("{d}/file.npy/sub/run", "--out: {d}/file.npy is a file, not a folder"),
        ("{d}/taken", "--out: {d}/taken.csv is a folder, not a file; choose another"),
    ],
)
def test_out_is_checked_before_the_first_case(tmp_path, capsys, measured, out, match):
    (tmp_path / "file.npy").write_bytes(b"")
    (tmp_path / "taken.csv").mkdir()
    code = cli.main([*ARGS, "--out", out.format(d=tmp_path)])
    out_text, err = capsys.readouterr()
    assert code == 1 and out_text == ""
    assert match.format(d=tmp_path) in one_error_line(err)
    assert err.count("\n") == 1
    assert measured == []


def test_out_folder_not_writable(tmp_path, capsys, measured, deny_write):
    deny_write(tmp_path)
    assert cli.main([*ARGS, "--out", str(tmp_path / "run")]) == 1
    _, err = capsys.readouterr()
    assert f"--out: the folder {tmp_path} is not writable; choose a folder" in one_error_line(err)
    assert measured == []
    assert not (tmp_path / "run.csv").exists()


def test_csv_that_cannot_be_created_is_reported_before_the_first_case(tmp_path, capsys,
                                                                      measured):
    prefix = tmp_path / ("x" * 300)  # the folder is fine; the file name is too long
    assert cli.main([*ARGS, "--out", str(prefix)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"--out: cannot write {prefix}.csv (File name too long)" in one_error_line(err)
    assert err.count("\n") == 1
    assert measured == []


def test_failed_csv_write_keeps_the_table(tmp_path, capsys, measured, monkeypatch):
    real_append = bench.CsvLog.append

    def append(self, case):
        if case.n == 200:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_append(self, case)

    monkeypatch.setattr(bench.CsvLog, "append", append)
    prefix = tmp_path / "run"
    assert cli.main([*ARGS, "--out", str(prefix)]) == 1
    out, err = capsys.readouterr()
    assert len(measured) == 4  # the benchmark went on
    table = out.splitlines()
    assert table[0].split()[:3] == ["n", "d", "mode"]
    assert [line.split()[:3] for line in table[1:5]] == [
        ["100", "3", "exact"], ["100", "3", "approx"], ["200", "3", "exact"],
        ["200", "3", "approx"]]
    assert "wrote" in out and f"{prefix}.csv" not in out  # the plot only
    assert one_error_line(err) == (
        f"fastdse: error: --out: cannot write {prefix}.csv (No space left on device)")
    assert len(read_csv(f"{prefix}.csv")) == 2 * 2  # the cases measured before the failure


def test_failed_plot_keeps_the_table_and_the_csv(tmp_path, capsys, measured, monkeypatch):
    def plot_results(cases, path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(bench, "plot_results", plot_results)
    prefix = tmp_path / "run"
    assert cli.main([*ARGS, "--out", str(prefix), "--json"]) == 1
    out, err = capsys.readouterr()
    assert '"cases"' in out and f'"written": ["{prefix}.csv"]' in out
    assert one_error_line(err) == (
        f"fastdse: error: --out: cannot write {prefix}.png (Permission denied)")
    assert len(read_csv(f"{prefix}.csv")) == 4 * 2


def test_write_csv_round_trips_through_csv_log(tmp_path):
    cases = [bench.Case(n=10, d=2, mode="exact", t=[1.0, 2.5], value=[1.5, 1 / 3],
                        stderr=[0.0, 0.0], seconds=0.125, status="ok"),
             bench.Case(n=20, d=2, mode="approx", t=[1.0, 2.5], status="timeout",
                        message="too slow")]
    bench.write_csv(cases, str(tmp_path / "b.csv"))
    rows = read_csv(tmp_path / "b.csv")
    assert list(rows[0]) == list(bench.CSV_COLUMNS)
    assert list(bench.CSV_COLUMNS[:7]) == ["n", "d", "mode", "t", "value", "stderr", "error"]
    assert [(r["n"], r["t"], r["value"], r["error"], r["status"], r["message"])
            for r in rows] == [
        ("10", "1.0", "1.5", "", "ok", ""), ("10", "2.5", repr(1 / 3), "", "ok", ""),
        ("20", "1.0", "", "", "timeout", "too slow"), ("20", "2.5", "", "", "timeout",
                                                        "too slow")]
    assert float(rows[1]["value"]) == 1 / 3  # floats read back exactly
    assert [r["seconds"] for r in rows] == ["0.125", "0.125", "nan", "nan"]


def test_json_carries_the_settings_of_the_run(capsys, measured):
    assert cli.main([*ARGS, "--seed", "4", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["command"] == "bench"
    assert (got["modes"], got["t"], got["seed"]) == (["approx", "exact"], [1.0, 2.0], 4)
    assert (got["sizes"], got["dims"], got["data"]) == ([100, 200], [3], "blobs")
    # bench passes no graph setting but the mode: the library's defaults
    assert (got["kernel"], got["knn"], got["decay"], got["thresh"], got["anisotropy"]) == (
        "alpha_decay", 5, 40.0, None, 0.0)
    assert (got["base"], got["unit"], got["version"]) == (2.0, "bits", fastdse.__version__)
    assert [(c["n"], c["d"], c["mode"], c["seed"]) for c in got["cases"]] == [
        (100, 3, "exact", 4), (100, 3, "approx", 4), (200, 3, "exact", 4),
        (200, 3, "approx", 4)]


def test_a_case_reports_what_it_ran_with(rng):
    # one real case, in a fresh process as fastdse bench runs it
    case = bench.run_case(bench.Case(n=300, d=3, mode="approx", t=[1.0, 3.0], seed=2),
                          timeout=300)
    assert case.status == "ok", case.message
    settings = case.settings
    assert (settings["mode_requested"], settings["mode"]) == ("approx", "approx")
    assert (settings["n"], settings["d"], settings["t"], settings["seed"]) == (
        300, 3, [1.0, 3.0], 2)
    assert (settings["kernel"], settings["knn"], settings["thresh"]) == ("alpha_decay", 5, 1e-4)
    ref = fastdse.dse(bench.make_data(300, 3, "blobs", 2), [1.0, 3.0], mode="approx",
                      random_state=2)
    np.testing.assert_allclose(case.value, ref.value, rtol=1e-10)
    # the child's stages: in pipeline order, in the CSV's columns and the stage table
    assert [r["stage"] for r in case.stages][:3] == ["search", "widening", "kernel"]
    # 300 points: the automatic plan's dense solve, not the stochastic stages
    row = bench.csv_rows(case)[0]
    assert row["eigensolver_seconds"] == next(r["seconds"] for r in case.stages
                                              if r["stage"] == "eigensolver")
    assert row["eigensolver_peak_mib"] <= case.peak_mib and row["lanczos_seconds"] == ""
    table = bench.format_stages_table([case])
    assert table.splitlines()[1].split()[:5] == ["n", "d", "mode", "import", "s"]


def test_shuffled_blobs_are_the_blobs_in_another_order():
    a = bench.make_data(500, 3, "blobs", 4)
    b = bench.make_data(500, 3, "blobs-shuffled", 4)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
