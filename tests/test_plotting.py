"""fastdse.plotting: what is drawn and the errors, one section per module of the package.

Drawn data is checked against the library's own numbers (DiffusionGraph.dse,
eigenvalues) on small point clouds. The ``fastdse plot`` command line is tested in
tests/cli/test_plot.py.
"""

import numpy as np
import pytest

from figures import bench_rows

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # tests only: the library never switches the backend

import matplotlib.pyplot as plt  # noqa: E402

from fastdse import DiffusionGraph, DSEResult  # noqa: E402
from fastdse.plotting import (  # noqa: E402
    DEFAULT_T_GRID,
    plot_dse_curve,
    plot_history,
    plot_scaling,
    plot_spectrum,
)
from fastdse.plotting._common import plain_number  # noqa: E402

T = [1.0, 2.0, 5.0, 10.0, 20.0]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(7).normal(size=(250, 4))


@pytest.fixture(scope="module")
def exact_graph(points):
    graph = DiffusionGraph(points, mode="exact")
    graph.spectral_measure()
    return graph


@pytest.fixture(scope="module")
def approx_graph(points):
    graph = DiffusionGraph(points, mode="approx", neighbors="exact", n_probes=8,
                           n_steps=30, random_state=0)
    graph.spectral_measure()
    return graph


# --------------------------------------------------------------------------- spectrum.py


def tick_labels(ax, axis):
    """The tick labels matplotlib draws on ``axis`` ("x" or "y"), major and minor."""
    ax.figure.draw_without_rendering()
    ticks = ax.get_xticklabels(which="both") if axis == "x" else ax.get_yticklabels(
        which="both")
    return [t.get_text() for t in ticks if t.get_text()]


def assert_plain(labels):
    """No power of ten, no mathtext: "1,000", "0.5", "200"."""
    assert labels
    for label in labels:
        assert "$" not in label and "10^" not in label and "e" not in label, labels


def test_spectrum_log_rank_axis(exact_graph, ax):
    out = plot_spectrum(exact_graph, ax=ax)
    assert out is ax
    line = ax.lines[0]
    lam = exact_graph.eigenvalues()
    magnitudes = np.sort(np.abs(lam))[::-1]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, lam.size + 1))  # ranks
    np.testing.assert_array_equal(line.get_ydata(), magnitudes)
    assert line.get_ydata()[0] == np.abs(lam).max()
    assert ax.get_xscale() == "log"
    assert "rank" in ax.get_xlabel() and "descending" in ax.get_xlabel()
    assert ax.get_ylabel() == r"$|\lambda_i|$"
    labels = tick_labels(ax, "x")
    assert_plain(labels)
    assert {"1", "10", "100"} <= set(labels)


def test_spectrum_rank_orders_by_magnitude(ax):
    # a negative eigenvalue of large magnitude ranks before smaller positive ones
    plot_spectrum([0.9, -0.95, 1.0, 0.1, -0.2], ax=ax)
    assert ax.lines[0].get_ydata().tolist() == [1.0, 0.95, 0.9, 0.2, 0.1]
    assert ax.lines[0].get_xdata().tolist() == [1, 2, 3, 4, 5]


def test_spectrum_linear_index_keeps_the_signed_eigenvalues(exact_graph, ax):
    plot_spectrum(exact_graph, ax=ax, logx=False)
    line = ax.lines[0]
    lam = exact_graph.eigenvalues()
    np.testing.assert_array_equal(line.get_ydata(), lam[::-1])
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, lam.size + 1))
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "index i (eigenvalues in descending order)"
    assert ax.get_ylabel() == r"$\lambda_i$"


def test_spectrum_sources_agree(exact_graph, ax):
    lam = exact_graph.eigenvalues()
    res = exact_graph.dse(1.0)
    for obj in (res, exact_graph.spectral_measure(), lam, list(lam)):
        plot_spectrum(obj, ax=ax)
    for line in ax.lines:
        np.testing.assert_array_equal(line.get_ydata(), np.sort(np.abs(lam))[::-1])


def test_spectrum_power_t(exact_graph, ax):
    plot_spectrum(exact_graph, ax=ax, t=3)
    expected = np.sort(np.abs(exact_graph.eigenvalues()) ** 3)[::-1]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), expected)
    assert "^{3}" in ax.get_ylabel()


def test_spectrum_density_exact_integrates_to_one(exact_graph, ax):
    plot_spectrum(exact_graph, ax=ax, kind="density", bins=20)
    data = ax.patches[0].get_data()
    values, edges = data.values, data.edges
    assert edges[0] == -1.0 and edges[-1] == 1.0
    mass = values * np.diff(edges) * exact_graph.n
    # every eigenvalue is counted once: the top one may exceed 1 by rounding (how far
    # depends on the CPU's BLAS kernels) and is clipped into the last bin, not dropped
    np.testing.assert_allclose(mass.sum(), exact_graph.n)
    eig = np.clip(exact_graph.eigenvalues(), -1.0, 1.0)
    counts = np.histogram(eig, bins=20, range=(-1, 1))[0]
    np.testing.assert_allclose(mass, counts)


def test_spectrum_density_slq_averages_probes(approx_graph, ax):
    measure = approx_graph.spectral_measure()
    assert measure.n_probes == 8 + measure.info["probes_added"]  # auto may add probes
    plot_spectrum(approx_graph, ax=ax, kind="density", bins=10)
    data = ax.patches[0].get_data()
    values, edges = data.values, data.edges
    # deflated eigenvalues count once, each probe's quadrature rule 1 / n_probes
    fixed, per_probe = measure.per_probe_sums(np.ones_like(measure.nodes))
    mass = fixed + per_probe.mean()
    np.testing.assert_allclose((values * np.diff(edges)).sum(), mass / measure.n)
    assert abs(mass / measure.n - 1.0) < 0.2


def test_spectrum_density_power_lives_on_unit_interval(exact_graph, ax):
    plot_spectrum(exact_graph, ax=ax, kind="density", t=2, bins=5)
    edges = ax.patches[0].get_data().edges
    np.testing.assert_allclose(edges, np.linspace(0, 1, 6))


def test_spectrum_new_figure_without_ax(exact_graph):
    out = plot_spectrum(exact_graph)
    assert out.figure is not None
    assert len(out.lines) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "foo"}, ValueError, r"kind must be one of 'eigenvalues', 'density'; got 'foo'"),
        ({"t": 0}, ValueError, r"t must be > 0"),
        ({"bins": 0}, ValueError, r"bins must be >= 1"),
        ({"ax": "axes"}, TypeError, r"ax must be a matplotlib Axes"),
        ({"plot_kws": 3}, TypeError, r"plot_kws must be a mapping"),
        ({"logx": "yes"}, TypeError, r"logx must be True or False; got 'yes'"),
    ],
)
def test_spectrum_bad_arguments(exact_graph, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_spectrum(exact_graph, **kwargs)


def test_spectrum_needs_eigenvalues(approx_graph):
    res = approx_graph.dse(1.0)
    with pytest.raises(ValueError, match=r"DSEResult \(mode='approx'\) holds none.*mode='exact'"):
        plot_spectrum(res)
    with pytest.raises(ValueError, match=r"mode='approx'.*kind='density'"):
        plot_spectrum(approx_graph)
    with pytest.raises(ValueError, match=r"estimated by 'slq\+deflation'.*kind='density'"):
        plot_spectrum(approx_graph.spectral_measure())


@pytest.mark.parametrize(
    ("obj", "error", "match"),
    [
        ({"a": 1}, TypeError, r"obj must be a DiffusionGraph, a DSEResult .* got \{'a': 1\}"),
        ("eigenvalues", TypeError, r"obj must be a DiffusionGraph"),
        (np.ones((3, 2)), ValueError, r"1-D array of eigenvalues; got an array of shape \(3, 2\)"),
        ([0.5, np.nan], ValueError, r"must be finite"),
    ],
)
def test_spectrum_bad_obj(obj, error, match):
    with pytest.raises(error, match=match):
        plot_spectrum(obj)


# --------------------------------------------------------------------------- dse_curve.py


def test_dse_curve_graph_default_grid(exact_graph, ax):
    plot_dse_curve(exact_graph, ax=ax)
    expected = exact_graph.dse(DEFAULT_T_GRID)
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), DEFAULT_T_GRID)
    np.testing.assert_allclose(line.get_ydata(), expected.value)
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "DSE (bits)"
    assert ax.containers == []  # exact: no error bars
    assert ax.get_legend() is None


def test_dse_curve_result_nats(exact_graph, ax):
    res = exact_graph.dse([1, 2, 5], base=np.e)
    plot_dse_curve(res, ax=ax)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), res.value)
    assert ax.get_ylabel() == "DSE (nats)"
    assert ax.get_xscale() == "linear"


def test_dse_curve_converts_base(exact_graph, ax):
    res = exact_graph.dse(T, base=np.e)
    plot_dse_curve(res, ax=ax, base=2)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), exact_graph.dse(T).value)
    assert ax.get_ylabel() == "DSE (bits)"


def test_dse_curve_result_new_t_from_eigenvalues(exact_graph, ax):
    res = exact_graph.dse(1.0)
    plot_dse_curve(res, T, ax=ax)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), exact_graph.dse(T).value)


def test_dse_curve_points_build_graph(points, exact_graph, ax):
    plot_dse_curve(points, T, ax=ax, mode="exact", label="X")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), exact_graph.dse(T).value)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["X"]


def test_dse_curve_errorbars_for_approx(approx_graph, ax):
    res = approx_graph.dse(T)
    assert np.all(res.stderr > 0)
    plot_dse_curve(res, ax=ax)
    (container,) = ax.containers
    np.testing.assert_allclose(container.lines[0].get_ydata(), res.value)
    segments = container.lines[2][0].get_segments()
    half_widths = [(seg[1, 1] - seg[0, 1]) / 2 for seg in segments]
    np.testing.assert_allclose(half_widths, res.stderr)


def test_dse_curve_marks_t_auto(exact_graph, ax):
    res = exact_graph.dse(T)
    res = DSEResult(value=res.value, stderr=res.stderr, t=res.t, n=res.n, mode=res.mode,
                    eigenvalues=res.eigenvalues, base=res.base,
                    info={**res.info, "t_auto": 5.0})
    plot_dse_curve(res, ax=ax)
    marks = [line for line in ax.lines if line.get_label().startswith("t_auto")]
    assert len(marks) == 1
    np.testing.assert_array_equal(marks[0].get_xdata(), [5.0, 5.0])
    assert "t_auto = 5" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_dse_curve_auto_draws_curve_and_knee(exact_graph, ax):
    res = exact_graph.dse("auto")
    plot_dse_curve(exact_graph, "auto", ax=ax)
    curve, mark = ax.lines
    np.testing.assert_array_equal(curve.get_xdata(), res.info["curve_t"])
    np.testing.assert_allclose(curve.get_ydata(), res.info["curve_value"])
    np.testing.assert_array_equal(mark.get_xdata(), [res.t, res.t])
    assert mark.get_label() == f"t_auto = {res.t:g}"


def test_dse_curve_ignores_missing_or_bad_t_auto(exact_graph, ax):
    res = exact_graph.dse(T)
    bad = DSEResult(value=res.value, stderr=res.stderr, t=res.t, n=res.n, mode=res.mode,
                    info={"t_auto": "n/a"})
    plot_dse_curve(bad, ax=ax)
    assert len(ax.lines) == 1


@pytest.mark.parametrize(
    ("obj_name", "kwargs", "error", "match"),
    [
        ("graph", {"knn": 3}, TypeError, r"graph keyword arguments \(knn\) apply only when obj "
                                         r"is the points X; got DiffusionGraph"),
        ("graph", {"base": 1}, ValueError, r"base must be greater than 1"),
        ("graph", {"base": -2}, ValueError, r"base must be greater than 1"),
        ("graph", {"t": None, "plot_kws": ["o"]}, TypeError, r"plot_kws must be a mapping"),
        ("graph", {"t": [1, -1]}, ValueError, r"t must be positive and finite"),
        ("graph", {"logx": "yes"}, TypeError, r"logx must be True, False or None"),
        ("approx_result", {"t": [1, 2]}, ValueError, r"holds no eigenvalues .* leave t=None"),
        ("object", {}, TypeError, r"obj must be a DiffusionGraph, a DSEResult, a "
                                  r"SpectralMeasure or the points X"),
    ],
)
def test_dse_curve_bad_arguments(exact_graph, approx_graph, obj_name, kwargs, error, match):
    obj = {"graph": exact_graph, "approx_result": approx_graph.dse([1.0, 5.0]),
           "object": object()}[obj_name]
    with pytest.raises(error, match=match):
        plot_dse_curve(obj, **kwargs)


# --------------------------------------------------------------------------- scaling.py


def test_scaling_rows_log_log_with_slopes(ax):
    plot_scaling(bench_rows(), ax=ax)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["approx (slope 1.00)", "exact (slope 3.00)"]
    approx, exact = ax.lines
    np.testing.assert_array_equal(approx.get_xdata(), [1000, 2000, 4000, 8000])
    np.testing.assert_allclose(exact.get_ydata(), 1e-9 * np.array([1000, 2000, 4000, 8000.0])**3)
    assert ax.get_xlabel() == "n (points)"


def test_scaling_plain_tick_labels(ax):
    # y within one decade: matplotlib's own labels would read 1.4x10^2, 2x10^2, ...
    rows = [{"n": n, "mode": "approx", "seconds": s, "status": "ok"}
            for n, s in ((1000, 150.0), (2000, 187.5), (4000, 260.0))]
    plot_scaling(rows, ax=ax)
    x_labels, y_labels = tick_labels(ax, "x"), tick_labels(ax, "y")
    assert_plain(x_labels + y_labels)
    assert {"1,000", "2,000", "3,000"} <= set(x_labels)
    assert "4,000" not in x_labels  # 0.4 decades or more: multiples 1, 2, 3 only
    assert {"200", "260"} <= set(y_labels)  # less: matplotlib's choice
    ax.clear()
    plot_scaling([{**row, "seconds": row["seconds"] / 300} for row in rows], ax=ax)
    assert {"0.5", "0.6"} <= set(tick_labels(ax, "y"))


def test_scaling_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"y='secs' is not a column of source; columns: 'n'"):
        plot_scaling(bench_rows(), y="secs")
    with pytest.raises(ValueError, match=r"source holds no rows"):
        plot_scaling([])
    with pytest.raises(ValueError, match=r"none with status 'ok'"):
        plot_scaling(bench_rows()[-1:])
    with pytest.raises(TypeError, match=r"source must be the path of a bench CSV"):
        plot_scaling(42)
    with pytest.raises(TypeError, match=r"by must be a column name"):
        plot_scaling(bench_rows(), by=3)
    with pytest.raises(ValueError, match=r"column 'seconds' must hold numbers; row 1 has 'fast'"):
        plot_scaling([{"n": 10, "mode": "exact", "seconds": "fast"}])


def long_bench_rows():
    """bench_rows() as fastdse bench writes them now: one row per (case, t)."""
    return [{**row, "t": t, "value": (10.0 if row["mode"] == "exact" else 9.0) + t}
            for row in bench_rows() for t in (1.0, 2.0, 5.0)]


def test_scaling_long_form_draws_each_case_once(ax):
    plot_scaling(long_bench_rows(), ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["approx (slope 1.00)", "exact (slope 3.00)"]
    approx, exact = ax.lines
    np.testing.assert_array_equal(approx.get_xdata(), [1000, 2000, 4000, 8000])
    np.testing.assert_allclose(exact.get_ydata(), 1e-9 * np.array([1000, 2000, 4000, 8000.0])**3)


def test_scaling_per_t_column_needs_t_among_by(ax):
    message = r"y='value' has one value per diffusion time .* add 't' to by"
    with pytest.raises(ValueError, match=message):
        plot_scaling(long_bench_rows(), y="value")
    plot_scaling(long_bench_rows(), ax=ax, y="value", by=("mode", "t"), slope=False)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["approx, t=1.0", "approx, t=2.0", "approx, t=5.0", "exact, t=1.0",
                      "exact, t=2.0", "exact, t=5.0"]
    assert ax.lines[2].get_ydata().tolist() == [14.0] * 4


def test_scaling_old_form_with_every_t_in_one_cell(tmp_path, ax):
    # the committed docs/benchmarks/scaling_*.csv: "1 2 5" in the t cell, values alike
    path = tmp_path / "old.csv"
    lines = ["n,d,mode,t,seconds,value,stderr,error,status"]
    for n in (1000, 2000, 4000):
        lines.append(f"{n},8,approx,1 2 5,{1e-3 * n},7.5 6.5 {n / 1000},0 0 0,,ok")
    lines.append("8000,8,approx,1 2 5,nan,,,,timeout")
    path.write_text("\n".join(lines) + "\n")
    plot_scaling(path, ax=ax)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1000, 2000, 4000])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 2.0, 4.0])
    ax.clear()
    plot_scaling(path, ax=ax, y="value", by=("mode", "t"), slope=False)
    assert [line.get_ydata().tolist() for line in ax.lines] == [
        [7.5] * 3, [6.5] * 3, [1.0, 2.0, 4.0]]


# --------------------------------------------------------------------------- _common.py


@pytest.mark.parametrize(
    ("value", "text"),
    [(1000, "1,000"), (10000.0, "10,000"), (0.5, "0.5"), (10, "10"), (200, "200"),
     (187.5, "187.5"), (2e-5, "0.00002"), (0.1 + 0.2, "0.3"), (-1500.25, "-1,500.25"),
     (3e9, "3,000,000,000")],
)
def test_plain_number(value, text):
    assert plain_number(value) == text


def test_dse_curve_log_t_axis_has_plain_ticks(exact_graph, ax):
    plot_dse_curve(exact_graph, ax=ax)
    assert ax.get_xscale() == "log"
    labels = tick_labels(ax, "x")
    assert_plain(labels)
    assert {"1", "10", "100"} <= set(labels)


# --------------------------------------------------------------------------- training.py


def test_plot_history_is_the_monitors(ax):
    # fastdse.plotting.plot_history hands over to fastdse.monitor.plot_history
    columns = {"epoch": [0, 1, 2], "dse": [4.1, 4.6, 4.8], "dse_stderr": [0.0, 0.1, 0.0]}
    assert plot_history(columns, ax=ax, errorbars=False) is ax
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), columns["epoch"])
    np.testing.assert_array_equal(line.get_ydata(), columns["dse"])
    assert ax.get_ylabel() == "DSE(Z)" and not ax.containers
