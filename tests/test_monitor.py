"""TrainingMonitor and plot_history of a monitor (History itself: tests/test_history.py)."""


import numpy as np
import pytest

import fastdse
from fastdse.monitor import History, TrainingMonitor, plot_history
from fastdse.mutual_information import discretize
from figures import data_lines

N = 120
FAST = {"mode": "exact"}  # small n: the dense path, no neighbour-search compilation


@pytest.fixture
def data(rng):
    """Three labelled blobs (inputs X) and a fixed random 'network' (W)."""
    labels = np.repeat(np.array(["a", "b", "c"]), N // 3)
    codes = np.repeat(np.arange(3), N // 3)
    X = rng.normal(size=(N, 4)) + 4.0 * codes[:, None]
    W = rng.normal(size=(4, 6))
    return labels, X, W


def embed(X, W, epoch):
    """Embeddings that change with the epoch (a stand-in for training)."""
    return np.tanh(X @ W * (0.2 + 0.4 * epoch))


def run(monitor, X, W, epochs=3):
    X_eval = monitor.select(X)
    return [monitor.update(embed(X_eval, W, e)) for e in range(epochs)]


# --------------------------------------------------------------------------- bookkeeping


def test_history_bookkeeping(data):
    labels, X, W = data
    monitor = TrainingMonitor(Y=labels, X=X, n_eval=60, n_clusters=3, random_state=0, **FAST)
    assert monitor.metrics == ("dse", "dsmi_y", "dsmi_x")
    assert monitor.indices.shape == (60,) and np.all(np.diff(monitor.indices) > 0)
    records = run(monitor, X, W)
    columns = ["epoch", "dse", "dse_stderr", "dsmi_y", "dsmi_y_stderr", "dsmi_x",
               "dsmi_x_stderr"]
    assert len(monitor.history) == 3
    assert monitor.history.columns == columns
    assert list(monitor.history.to_dict()) == columns
    assert monitor.history.to_dict()["epoch"] == [0, 1, 2]
    assert [sorted(r) for r in records] == [sorted(columns)] * 3
    assert records == monitor.history.records
    np.testing.assert_array_equal(monitor.history["dse"], [r["dse"] for r in records])
    assert monitor.history["dse_stderr"].tolist() == [0.0, 0.0, 0.0]  # exact DSE
    # the metrics follow the changing embeddings
    assert len(set(monitor.history["dse"].tolist())) == 3
    # explicit epochs, then the next one by default
    monitor.update(embed(monitor.select(X), W, 3), epoch=10)
    monitor.update(embed(monitor.select(X), W, 4))
    assert monitor.history["epoch"].tolist() == [0, 1, 2, 10, 11]
    assert "epochs=5" in repr(monitor) and "epochs=5" in repr(monitor.history)
    # a returned record is a copy
    records[0]["dse"] = -1.0
    assert monitor.history.records[0]["dse"] != -1.0


def test_default_and_chosen_metrics(data):
    labels, X, _ = data
    assert TrainingMonitor(random_state=0).metrics == ("dse",)
    assert TrainingMonitor(Y=labels, random_state=0).metrics == ("dse", "dsmi_y")
    assert TrainingMonitor(X=X, n_clusters=3, random_state=0).metrics == ("dse", "dsmi_x")
    m = TrainingMonitor(Y=labels, X=X, metrics=["dsmi_y", "dse"], random_state=0)
    assert m.metrics == ("dse", "dsmi_y") and m.x_clusters is None  # X not clustered
    assert TrainingMonitor(Y=labels, metrics="dsmi_y").history.columns == [
        "epoch", "dsmi_y", "dsmi_y_stderr"]


def test_dse_only_monitor_without_labels(rng):
    Z = rng.normal(size=(50, 3))
    monitor = TrainingMonitor(random_state=0, **FAST)
    assert monitor.indices is None
    monitor.update(Z)
    with pytest.raises(ValueError, match=r"Z must have 50 rows .*first update.*\(40, 3\)"):
        monitor.update(Z[:40])
    # with n, an evaluation subset can be drawn
    sub = TrainingMonitor(n=80, n_eval=50, random_state=0, **FAST)
    full = rng.normal(size=(80, 3))
    np.testing.assert_array_equal(sub.select(full), full[sub.indices])
    sub.update(sub.select(full))
    assert len(sub.history) == 1


def test_names_stay_importable_from_the_monitor():
    # History moved to fastdse.history; fastdse.monitor and fastdse still export it
    import fastdse.history
    import fastdse.monitor

    assert fastdse.monitor.History is fastdse.history.History is fastdse.History
    assert fastdse.monitor.TrainingMonitor is fastdse.TrainingMonitor
    assert fastdse.monitor.METRICS == fastdse.history.METRICS == ("dse", "dsmi_y", "dsmi_x")
    assert fastdse.monitor.__all__ == ["TrainingMonitor", "History", "plot_history", "METRICS"]


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_numbers(data):
    labels, X, W = data
    kw = dict(Y=labels, X=X, n_eval=60, n_clusters=3, **FAST)
    a = TrainingMonitor(random_state=7, **kw)
    b = TrainingMonitor(random_state=7, **kw)
    c = TrainingMonitor(random_state=8, **kw)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.seeds == b.seeds
    assert a.seeds != c.seeds and not np.array_equal(a.indices, c.indices)
    assert run(a, X, W) == run(b, X, W)
    assert len(set(a.seeds.values())) == len(a.seeds)  # one stream per stage


def test_seeds_are_fixed_across_epochs(data):
    # the same embeddings at two epochs give the same numbers: DSMI's random subsets are
    # the same evaluation points every epoch
    labels, X, W = data
    monitor = TrainingMonitor(Y=labels, n_eval=90, random_state=1, **FAST)
    Z = embed(monitor.select(X), W, 1)
    first, second = monitor.update(Z), monitor.update(Z)
    assert {k: v for k, v in first.items() if k != "epoch"} == {
        k: v for k, v in second.items() if k != "epoch"}


def test_values_equal_direct_calls(data):
    # independent check: plain fastdse.dse / fastdse.dsmi on the same subset and settings
    labels, X, W = data
    settings = dict(kernel="gaussian", sigma=2.0, anisotropy=0.5, **FAST)
    monitor = TrainingMonitor(Y=labels, X=X, n_eval=90, t=2, n_clusters=3,
                              num_repetitions=3, random_state=3, **settings)
    Y_eval, X_eval = labels[monitor.indices], X[monitor.indices]
    np.testing.assert_array_equal(monitor.y_labels, Y_eval)
    clusters = discretize(X_eval, n_clusters=3, kind="continuous",
                          random_state=monitor.seeds["x_clusters"])
    np.testing.assert_array_equal(monitor.x_clusters, clusters)
    for epoch in range(2):
        Z = embed(X_eval, W, epoch)
        rec = monitor.update(Z)
        d = fastdse.dse(Z, 2, random_state=monitor.seeds["dse"], **settings)
        my = fastdse.dsmi(Z, Y_eval, 2, num_repetitions=3, random_state=monitor.seeds["dsmi_y"],
                          **settings)
        mx = fastdse.dsmi(Z, None, 2, clusters=clusters, num_repetitions=3,
                          random_state=monitor.seeds["dsmi_x"], **settings)
        assert rec["dse"] == d.value and rec["dse_stderr"] == d.stderr
        assert rec["dsmi_y"] == my.value and rec["dsmi_y_stderr"] == my.stderr
        assert rec["dsmi_x"] == mx.value and rec["dsmi_x_stderr"] == mx.stderr
    # sanity: separated blobs carry information about their labels
    assert monitor.history["dsmi_y"][-1] > 0.1


def test_images_are_flattened_and_n_eval_none_is_everything(data):
    labels, X, W = data
    images = X.reshape(N, 2, 2)
    monitor = TrainingMonitor(X=images, n_clusters=3, random_state=0, **FAST)
    np.testing.assert_array_equal(monitor.indices, np.arange(N))
    flat = TrainingMonitor(X=X, n_clusters=3, random_state=0, **FAST)
    np.testing.assert_array_equal(monitor.x_clusters, flat.x_clusters)
    assert monitor.select(list(labels)).tolist() == labels.tolist()


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip(tmp_path, data):
    labels, X, W = data
    monitor = TrainingMonitor(Y=labels, X=X, n_eval=60, n_clusters=3, random_state=0, **FAST)
    run(monitor, X, W, epochs=2)
    path = tmp_path / "history.csv"
    monitor.history.to_csv(path)
    lines = path.read_text().splitlines()
    assert lines[:2] == ["# unit: bits",
                         "epoch,dse,dse_stderr,dsmi_y,dsmi_y_stderr,dsmi_x,dsmi_x_stderr"]
    assert len(lines) == 4
    back = History.from_csv(path)
    assert back.unit == "bits"
    assert back.metrics == monitor.metrics
    assert back.records == monitor.history.records  # exact floats, int epochs
    assert isinstance(back.records[0]["epoch"], int)


# --------------------------------------------------------------------------- validation


def test_update_validates_z(data):
    labels, X, W = data
    monitor = TrainingMonitor(Y=labels, n_eval=60, random_state=0, **FAST)
    with pytest.raises(ValueError, match=r"Z must have 60 rows \(the evaluation subset: "
                                         r"monitor.select\(inputs\)\); got an array of shape "
                                         r"\(120, 6\)"):
        monitor.update(embed(X, W, 0))
    with pytest.raises(ValueError, match="Z must be a 2-D array"):
        monitor.update(np.zeros(60))
    with pytest.raises(TypeError, match="epoch must be a number"):
        monitor.update(embed(monitor.select(X), W, 0), epoch=True)
    with pytest.raises(ValueError, match="epoch must be finite"):
        monitor.update(embed(monitor.select(X), W, 0), epoch=float("nan"))
    assert len(monitor.history) == 0
    with pytest.raises(ValueError, match=r"A must have one row per point of the full set "
                                         r"\(120 rows\); got 60"):
        monitor.select(X[:60])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_eval": 500}, ValueError, r"n_eval must be <= 120 \(the number of points\); got 500"),
        ({"n_eval": 1}, ValueError, "n_eval must be >= 2; got 1"),
        ({"n_eval": 5.0}, TypeError, "n_eval must be an integer"),
        ({"metrics": ["dse", "entropy"]}, ValueError, "metrics must be a non-empty selection"),
        ({"metrics": []}, ValueError, "metrics must be a non-empty selection"),
        ({"t": [1, 2]}, ValueError, "t must be a single diffusion time"),
        ({"t": 0}, ValueError, "t must be positive"),
        ({"sigmaa": 1.0}, TypeError, r"unexpected keyword argument\(s\) \['sigmaa'\]"),
        ({"clusters": [0, 1]}, TypeError, r"unexpected keyword argument\(s\) \['clusters'\]"),
        ({"n": 99}, ValueError, "Y, X and n must agree on the number of points; got n 99, Y 120"),
        ({"random_state": -1}, ValueError, "random_state must be a non-negative integer"),
    ],
)
def test_constructor_errors(data, kwargs, error, match):
    labels, _, _ = data
    with pytest.raises(error, match=match):
        TrainingMonitor(Y=labels, **kwargs)


def test_constructor_errors_inputs(data):
    labels, X, _ = data
    with pytest.raises(ValueError, match="metric 'dsmi_y' needs the labels: pass Y"):
        TrainingMonitor(X=X, metrics=["dsmi_y"])
    with pytest.raises(ValueError, match="metric 'dsmi_x' needs the inputs: pass X"):
        TrainingMonitor(Y=labels, metrics="dsmi_x")
    with pytest.raises(ValueError, match="got Y 120, X 60"):
        TrainingMonitor(Y=labels, X=X[:60])
    with pytest.raises(ValueError, match="n_eval needs the number of points of the full set"):
        TrainingMonitor(n_eval=10)
    with pytest.raises(ValueError, match=r"Y contains 1 NaN"):
        TrainingMonitor(Y=np.r_[np.zeros(N - 1), np.nan], n_clusters=3)


def test_small_classes_are_reported_before_training(data):
    labels, X, _ = data
    y = labels.astype(object)
    y[:3] = "rare"
    with pytest.raises(ValueError, match=r"class 'rare' of Y has 3 point\(s\) in the evaluation "
                                         r"subset; DSMI needs at least 6 .*knn \+ 1"):
        TrainingMonitor(Y=y, kernel="alpha_decay", random_state=0)
    TrainingMonitor(Y=y, kernel="alpha_decay", knn=2, random_state=0)  # knn + 1 = 3 suffice
    TrainingMonitor(Y=y, random_state=0)  # the default Gaussian kernel: 2 points suffice
    binned = np.r_[np.zeros(N - 2), 1.0, 1.0]  # a 1-D X: two bins, of 118 and 2 points
    with pytest.raises(ValueError, match="class 2 of X has 2 point"):
        TrainingMonitor(X=binned, n_clusters=2, kernel="alpha_decay", random_state=0)
    with pytest.raises(ValueError, match="Y has a single class 'a' in the evaluation subset"):
        TrainingMonitor(Y=np.full(N, "a"))


# --------------------------------------------------------------------------- plotting


def test_plot_history_draws_the_data(mpl, data):
    from matplotlib.container import ErrorbarContainer
    from matplotlib.figure import Figure

    labels, X, W = data
    monitor = TrainingMonitor(Y=labels, n_eval=60, random_state=0, **FAST)
    run(monitor, X, W)
    ax = monitor.plot(ax=Figure().add_subplot())
    h = monitor.history
    lines = data_lines(ax)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["DSE(Z)", "DSMI(Z; Y)"]
    np.testing.assert_array_equal(lines["DSE(Z)"].get_xdata(), h["epoch"])
    np.testing.assert_array_equal(lines["DSE(Z)"].get_ydata(), h["dse"])
    np.testing.assert_array_equal(lines["DSMI(Z; Y)"].get_xdata(), h["epoch"])
    np.testing.assert_array_equal(lines["DSMI(Z; Y)"].get_ydata(), h["dsmi_y"])
    # exact DSE has zero stderr: no error bars; DSMI has them
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in bars] == ["DSMI(Z; Y)"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "bits"
    assert ax.get_legend() is not None

    ax = plot_history(h, "dsmi_y", ax=Figure().add_subplot(), errorbars=False)
    assert len(ax.lines) == 1 and not ax.containers
    assert ax.get_ylabel() == "DSMI(Z; Y) (bits)" and ax.get_legend() is None
