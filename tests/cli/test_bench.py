"""``fastdse bench``: the CSV written as the cases finish, and output errors in one line.

The cases are measured by a stand-in for ``bench.run_case`` (a real case starts a Python
process); the plot by a stand-in for ``bench.plot_results`` (tests/cli/test_plot.py draws it).
"""

import csv
import errno
import os

import pytest

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
    assert seen == [0, 1, 2, 3]  # the header first, then one flushed row per finished case
    rows = read_csv(f"{prefix}.csv")
    # for each n the exact mode runs first, so every error is known when its row is written
    assert [(r["n"], r["mode"]) for r in rows] == [
        ("100", "exact"), ("100", "approx"), ("200", "exact"), ("200", "approx")]
    assert [r["error"] for r in rows] == ["0 0", "0.25 0.25", "0 0", "0.25 0.25"]
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
    assert [(r["n"], r["mode"], r["status"]) for r in rows] == [
        ("100", "exact", "ok"), ("100", "approx", "ok"), ("200", "exact", "ok")]
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


def test_out_folder_not_writable(tmp_path, capsys, measured, monkeypatch):
    # the tests run as root, for whom every folder is writable: os.access answers here
    real_access = os.access

    def access(path, mode, **kwargs):
        if os.path.abspath(path) == str(tmp_path):
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
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
    assert len(read_csv(f"{prefix}.csv")) == 2  # what was measured before the failure


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
    assert len(read_csv(f"{prefix}.csv")) == 4


def test_write_csv_round_trips_through_csv_log(tmp_path):
    cases = [bench.Case(n=10, d=2, mode="exact", value=[1.5, 2.0], status="ok"),
             bench.Case(n=20, d=2, mode="approx", status="timeout", message="too slow")]
    bench.write_csv(cases, str(tmp_path / "b.csv"))
    rows = read_csv(tmp_path / "b.csv")
    assert list(rows[0]) == list(bench.Case.__dataclass_fields__)
    assert [(r["n"], r["value"], r["status"], r["message"]) for r in rows] == [
        ("10", "1.5 2", "ok", ""), ("20", "", "timeout", "too slow")]
