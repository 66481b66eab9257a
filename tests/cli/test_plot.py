"""The ``fastdse plot`` subcommand, and the plot of ``fastdse bench``: files, errors.

Figures are written as PNG files and checked by their magic bytes; the drawn data is
checked in tests/test_plotting.py.
"""

import argparse
import csv
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from figures import bench_rows

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # tests only: the library never switches the backend

import matplotlib.pyplot as plt  # noqa: E402

from fastdse.cli import bench  # noqa: E402
from fastdse.cli import commands as cli  # noqa: E402
from fastdse.cli import plot as _cli_plot  # noqa: E402
from fastdse.plotting import plot_scaling  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(7).normal(size=(250, 4))


def bench_cases():
    return [bench.Case(n=r["n"], d=r["d"], mode=r["mode"], seconds=r["seconds"],
                       peak_mib=r["peak_mib"], status=r["status"]) for r in bench_rows()]


def parse(argv):
    parser = argparse.ArgumentParser(prog="fastdse plot")
    _cli_plot.configure(parser)
    return parser.parse_args([str(a) for a in argv])


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1000


# --------------------------------------------------------------------------- bench


def test_scaling_from_bench_csv(tmp_path, ax):
    path = tmp_path / "bench.csv"
    bench.write_csv(bench_cases(), str(path))
    plot_scaling(path, ax=ax, y="peak_mib", by=("mode", "d"), slope=False)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["approx, d=32", "exact, d=32"]
    assert ax.get_ylabel() == "peak memory (MiB)"
    assert len(ax.lines[1].get_xdata()) == 4  # the timed-out case is left out


def test_scaling_from_long_bench_csv_per_t(tmp_path, ax):
    cases = [bench.Case(n=n, d=8, mode="approx", t=[1.0, 4.0], seconds=1e-3 * n,
                        value=[10.0 + n / 1000, 8.0 + n / 1000], status="ok")
             for n in (1000, 2000, 4000)]
    path = tmp_path / "bench.csv"
    bench.write_csv(cases, str(path))
    plot_scaling(path, ax=ax, y="value", by=("mode", "t"), slope=False)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "approx, t=1.0", "approx, t=4.0"]
    assert ax.lines[1].get_ydata().tolist() == [9.0, 10.0, 12.0]
    ax.clear()
    plot_scaling(cases, ax=ax)  # Case objects: lists, split per t like the old CSV form
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 2.0, 4.0])


DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"


#: Two rows of the scaling CSV in the form of the run of 2026-11-28 (some columns cut
#: short): one row per case, the diffusion times and values as space-separated lists.
OLD_FORM_CSV = """\
n,d,mode,t,seed,seconds,peak_mib,value,stderr,error,status,message
25000,128,approx,1 2 5 10,0,9.26,470.96,14.303 13.899 12.555 5.747,0.0005 0.0008 0.002 0.006,,ok,
50000,128,approx,1 2 5 10,0,40.91,883.64,15.312 14.920 13.706 6.623,0.0004 0.0009 0.002 0.008,,ok,
"""


def _plots_one_line_per_t(ax, path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    plot_scaling(path, ax=ax, by=("mode", "d"))
    assert len(ax.lines[0].get_xdata()) == len({r["n"] for r in rows if r["status"] == "ok"})
    ax.clear()
    plot_scaling(path, ax=ax, y="value", by=("mode", "t"), slope=False)
    assert len(ax.lines) == len({t for r in rows for t in r["t"].split()})
    return ax.lines


@pytest.mark.parametrize("name", ["scaling_d128.csv", "scaling_1M_d64.csv"])
def test_committed_bench_csvs_plot(ax, name):
    assert (DOCS / name).exists()  # committed with the scaling report
    _plots_one_line_per_t(ax, DOCS / name)


def test_bench_csvs_of_the_old_form_still_plot(ax, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(OLD_FORM_CSV)
    lines = _plots_one_line_per_t(ax, path)
    assert len(lines) == 4  # t = 1, 2, 5, 10, each split out of the lists
    np.testing.assert_allclose(lines[0].get_ydata(), [14.303, 15.312])


def test_bench_plot_results_uses_plot_scaling(tmp_path):
    path = tmp_path / "bench.png"
    assert bench.plot_results(bench_cases(), str(path))
    assert_png(path)


# --------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def points_file(tmp_path_factory, points):
    path = tmp_path_factory.mktemp("plot") / "points.npy"
    np.save(path, points)
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["spectrum", "{points}", "--mode", "exact"],
        ["spectrum", "{points}", "--mode", "exact", "--kind", "density", "--t", "2"],
        ["dse-curve", "{points}", "--mode", "exact", "--t", "1", "2", "5", "--title", "DSE"],
        ["dse-curve", "{points}", "--mode", "exact", "--auto", "--base", "e"],
    ],
)
def test_cli_points_writes_png(points_file, tmp_path, capsys, argv):
    out = tmp_path / "out.png"
    argv = [str(points_file) if a == "{points}" else a for a in argv]
    args = parse([*argv, "-o", out])
    assert _cli_plot.run(args) == 0
    assert_png(out)
    assert capsys.readouterr().out.strip() == f"wrote {out}"


def test_cli_scaling_writes_png(tmp_path):
    csv_path, out = tmp_path / "bench.csv", tmp_path / "scaling.png"
    bench.write_csv(bench_cases(), str(csv_path))
    assert _cli_plot.run(parse(["scaling", csv_path, "-o", out, "--by", "mode", "d"])) == 0
    assert_png(out)


def test_cli_history_reads_csv_and_delegates(tmp_path, monkeypatch):
    calls = []

    def fake_plot_history(history, metrics=None, *, ax=None):
        calls.append((history, metrics))
        ax.plot(history["epoch"], history["dse"])
        return ax

    monkeypatch.setitem(sys.modules, "fastdse.monitor",
                        types.SimpleNamespace(plot_history=fake_plot_history))
    path, out = tmp_path / "history.csv", tmp_path / "history.png"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "dse", "dse_stderr"])
        writer.writerows([[0, 5.5, 0.1], [1, 6.0, ""], [2, 6.5, 0.1]])
    assert _cli_plot.run(parse(["history", path, "-o", out, "--metrics", "dse"])) == 0
    assert_png(out)
    (history, metrics), = calls
    assert metrics == ["dse"]
    assert history["epoch"] == [0.0, 1.0, 2.0]
    assert np.isnan(history["dse_stderr"][1])


# --------------------------------------------------------------------------- what a plot shows


@pytest.fixture
def saved(monkeypatch):
    """The figures ``fastdse plot`` saves, in order (each still saved to its file)."""
    from matplotlib.figure import Figure

    figures = []
    real_savefig = Figure.savefig

    def savefig(fig, *args, **kwargs):
        figures.append(fig)
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figures


def titles(fig):
    """(heading, the line below it, y label) of a saved ``fastdse plot`` figure."""
    (ax,) = fig.axes
    return fig.get_suptitle(), ax.get_title(), ax.get_ylabel()


@pytest.mark.parametrize(
    ("argv", "heading", "shown"),
    [
        (["spectrum", "--mode", "exact", "--kernel", "gaussian"],
         "Eigenvalues of the diffusion operator",
         "points.npy: n = 250, kernel gaussian, mode exact"),
        (["spectrum", "--mode", "approx", "--kind", "density", "--t", "2"],
         "Spectral density of the diffusion operator",
         "points.npy: n = 250, kernel alpha_decay, mode approx, |lambda|^t with t = 2"),
        (["dse-curve", "--mode", "exact", "--t", "1", "2", "5"],
         "DSE against the diffusion time t",
         "points.npy: n = 250, kernel alpha_decay, mode exact, t = 1, 2, 5"),
        (["dse-curve", "--mode", "exact"], "DSE against the diffusion time t",
         "mode exact, t = 1 to 100 (21 values)"),
        (["dse-curve", "--mode", "exact", "--auto", "--title", "Mine"], "Mine",
         "mode exact, t = auto (knee at t = "),
    ],
)
def test_cli_points_plot_says_what_it_shows(points_file, tmp_path, saved, argv, heading,
                                            shown):
    kind, *options = argv
    assert _cli_plot.run(parse([kind, points_file, "-o", tmp_path / "out.png", *options])) == 0
    suptitle, caption, _ = titles(saved[0])
    assert suptitle == heading
    assert shown in caption


def test_cli_dse_curve_auto_marks_the_t_of_its_caption(points_file, tmp_path, saved):
    from fastdse import DiffusionGraph

    _cli_plot.run(parse(["dse-curve", points_file, "-o", tmp_path / "a.png", "--mode", "exact",
                         "--auto"]))
    t_auto = DiffusionGraph(np.load(points_file), mode="exact").dse("auto").t
    (ax,) = saved[0].axes
    assert ax.get_title().endswith(f", t = auto (knee at t = {float(t_auto):g})")
    assert ax.lines[-1].get_label() == f"t_auto = {float(t_auto):g}"


def test_cli_scaling_says_what_it_shows_with_plain_ticks(tmp_path, saved):
    csv_path = tmp_path / "bench.csv"
    bench.write_csv(bench_cases(), str(csv_path))
    assert _cli_plot.run(parse(["scaling", csv_path, "-o", tmp_path / "s.png"])) == 0
    suptitle, caption, ylabel = titles(saved[0])
    assert suptitle == "fastdse bench: seconds against n"
    assert caption == "bench.csv: data blobs; d = 32; modes approx, exact"
    (ax,) = saved[0].axes
    labels = [t.get_text() for t in ax.get_xticklabels(which="both") if t.get_text()]
    assert {"1,000", "2,000", "3,000"} <= set(labels)
    assert "4,000" not in labels and "6,000" not in labels  # they would touch their neighbours
    assert not any("$" in label for label in labels)


def history_csv(path, unit):
    from fastdse.history import History

    History(["dse"], [{"epoch": e, "dse": 5.0 + e} for e in range(3)], unit=unit).to_csv(path)


@pytest.mark.parametrize(
    ("unit", "ylabel", "shown"),
    [
        ("bits", "DSE(Z) (bits)", "history.csv, values in bits"),
        (None, "DSE(Z)", "history.csv, unit not recorded (no '# unit:' line)"),
    ],
)
def test_cli_history_labels_its_unit(tmp_path, saved, unit, ylabel, shown):
    path = tmp_path / "history.csv"
    history_csv(path, unit)
    assert _cli_plot.run(parse(["history", path, "-o", tmp_path / "h.png"])) == 0
    assert titles(saved[0]) == ("Training history", shown, ylabel)


def test_cli_history_unit_of_several_metrics(tmp_path, saved):
    path = tmp_path / "history.csv"
    path.write_text("# unit: nats\nepoch,dse,acc\n0,1.5,0.2\n1,2.0,0.4\n")
    assert _cli_plot.run(parse(["history", path, "-o", tmp_path / "h.png"])) == 0
    assert titles(saved[0])[2] == "nats"


def test_read_history_reads_the_unit_line(tmp_path):
    path = tmp_path / "history.csv"
    history_csv(path, "bits")
    columns, unit = _cli_plot.read_history(str(path))
    assert unit == "bits"
    assert columns == {"epoch": [0.0, 1.0, 2.0], "dse": [5.0, 6.0, 7.0],
                       "dse_stderr": [pytest.approx(np.nan, nan_ok=True)] * 3}
    path.write_text("epoch,dse\n0,1\n")  # the old form: no unit line
    assert _cli_plot.read_history(str(path)) == ({"epoch": [0.0], "dse": [1.0]}, None)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("# unit: bits\nepoch,dse\n0,high\n", r"non-numeric value 'high' on line 3"),
        ("# unit: bits\nepoch,dse\n0,1,2\n", r"line 3 has 3 field\(s\) but the header has 2"),
        ("# unit: bits\n", r"the file is empty"),
        ("epoch,dse\n\n0,1\n", r"line 2 is blank but rows follow it"),
        ("step,dse\n0,1\n", r"must name an 'epoch' column; got columns: 'step', 'dse'"),
        ("epoch,dse\n0,high\n", r"non-numeric value 'high' on line 2, column 'dse'"),
        ("epoch,dse\n", r"header row but no data"),
        ("epoch,dse\n0,1,2\n", r"line 2 has 3 field"),
    ],
)
def test_cli_history_bad_csv(tmp_path, content, match):
    path = tmp_path / "history.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        _cli_plot.read_history(str(path))


def test_cli_errors_are_one_line(points_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(cli.SUBCOMMANDS, "plot", (_cli_plot.configure, _cli_plot.run))
    cases = [
        (["plot", "spectrum", tmp_path / "missing.npy", "-o", tmp_path / "a.png"],
         "no such file"),
        (["plot", "spectrum", points_file, "-o", tmp_path / "no" / "a.png"], "does not exist"),
        (["plot", "spectrum", points_file, "-o", tmp_path / "a.png", "--mode", "approx",
          "--base", "2"], "--base applies to 'fastdse plot dse-curve' only"),
        (["plot", "dse-curve", points_file, "-o", tmp_path / "a.png", "--auto", "--t", "2"],
         "--auto and --t exclude each other"),
        (["plot", "scaling", tmp_path / "missing.csv", "-o", tmp_path / "a.png"],
         "no such file"),
        (["plot", "pie", points_file, "-o", tmp_path / "a.png"], "invalid choice: 'pie'"),
        (["plot", "spectrum", points_file, "-o", tmp_path / "a.png", "--mode", "approx"],
         "--kind eigenvalues needs all n eigenvalues, which only --mode exact computes; this "
         "graph uses --mode approx. Use --mode exact, or plot its estimated spectral measure "
         "with --kind density."),
        (["plot", "scaling", tmp_path / "long.csv", "-o", tmp_path / "a.png", "--y", "value"],
         "--y value has one value per diffusion time and the rows hold several t: add t to "
         "--by to draw one line per t"),
        (["plot", "scaling", tmp_path / "long.csv", "-o", tmp_path / "a.png", "--y", "secs"],
         "--y secs is not a column of source"),
    ]
    bench.write_csv([bench.Case(n=10, d=2, mode="exact", t=[1.0, 2.0], value=[1.0, 0.5],
                                seconds=1.0, status="ok")], str(tmp_path / "long.csv"))
    for argv, match in cases:
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert code != 0 and out == ""
        assert err.startswith("fastdse: error: ") and err.count("\n") == 1, err
        assert match in err, err
    assert not (tmp_path / "a.png").exists()


# --------------------------------------------------------------------------- output path


@pytest.fixture
def no_drawing(monkeypatch):
    """Fail the test if a plot is drawn: output paths are checked before any work."""

    def draw(args, ax):
        raise AssertionError("drawn before the output path was checked")

    for kind in _cli_plot.KINDS:
        monkeypatch.setitem(_cli_plot._DRAW, kind, draw)


def plot_error(capsys, argv):
    """Run ``fastdse plot`` through main; return the one error line on stderr."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "Traceback" not in err
    assert err.startswith("fastdse: error: ") and err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize(
    ("output", "match"),
    [
        ("{d}/no/a.png", "-o/--output: the folder {d}/no does not exist; create it first"),
        ("{d}/file.npy/a.png", "-o/--output: {d}/file.npy is a file, not a folder; choose a"),
        ("{d}/file.npy/sub/a.png", "-o/--output: {d}/file.npy is a file, not a folder"),
        ("{d}/taken.png", "-o/--output: {d}/taken.png is a folder, not a file; choose another"),
        ("{d}/a.xyz", "-o/--output: unknown image format '.xyz'; use one of: "),
    ],
)
def test_cli_output_checked_before_drawing(points_file, tmp_path, capsys, no_drawing, output,
                                           match):
    (tmp_path / "file.npy").write_bytes(b"")
    (tmp_path / "taken.png").mkdir()
    err = plot_error(capsys, ["plot", "spectrum", points_file, "-o", output.format(d=tmp_path)])
    assert match.format(d=tmp_path) in err


def test_cli_output_folder_not_writable(points_file, tmp_path, capsys, no_drawing,
                                        deny_write):
    deny_write(tmp_path)
    err = plot_error(capsys, ["plot", "spectrum", points_file, "-o", tmp_path / "a.png"])
    assert f"-o/--output: the folder {tmp_path} is not writable; choose a folder" in err


def test_cli_output_existing_file_not_writable(points_file, tmp_path, capsys, no_drawing,
                                               deny_write):
    target = tmp_path / "a.png"
    target.write_bytes(b"")
    deny_write(target)
    err = plot_error(capsys, ["plot", "spectrum", points_file, "-o", target])
    assert f"-o/--output: {target} exists and is not writable" in err


def test_cli_save_failure_is_one_line(points_file, tmp_path, capsys):
    # the folder passes the check; the file name is too long for the file system
    output = tmp_path / ("x" * 300 + ".png")
    err = plot_error(capsys, ["plot", "spectrum", points_file, "-o", output, "--mode", "exact"])
    assert err == f"fastdse: error: -o/--output: cannot write {output} (File name too long)"


def test_cli_save_failure_past_the_check(points_file, tmp_path, capsys, monkeypatch):
    # the check skipped, the save itself meets a file where a folder should be
    monkeypatch.setattr(_cli_plot.opts, "check_output_path", lambda path, option: None)
    (tmp_path / "file.npy").write_bytes(b"")
    output = tmp_path / "file.npy" / "a.png"
    err = plot_error(capsys, ["plot", "spectrum", points_file, "-o", output, "--mode", "exact"])
    assert err == f"fastdse: error: -o/--output: cannot write {output} (Not a directory)"
