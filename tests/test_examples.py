"""The example scripts run (small settings) and do what they say."""

import csv
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def training_dynamics():
    """The example's functions, without running it (its run_name is not __main__)."""
    return runpy.run_path(str(EXAMPLES / "training_dynamics.py"))


def test_training_dynamics_runs(training_dynamics, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "plots" / "dynamics.png"
    # in-process, so the suite's filterwarnings=error covers scikit-learn's warnings too
    code = training_dynamics["main"](
        ["--epochs", "3", "--n-eval", "300", "--seed", "1", "--out", str(out)])
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out.with_suffix(".csv"), newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows.pop(0) == ["# unit: bits"]  # History's unit, before the header
    assert rows[0] == ["epoch", "dse", "dse_stderr", "dsmi_y", "dsmi_y_stderr", "dsmi_x",
                       "dsmi_x_stderr"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]  # epoch 0 = before training
    values = np.array(rows[1:], dtype=float)
    assert np.isfinite(values).all()
    # the paper's finding, at the paper's settings (the defaults): DSE(Z) and DSMI(Z; Y) rise
    dse, dsmi_y = values[:, 1], values[:, 3]
    assert dse[-1] > dse[0] and dsmi_y[-1] > dsmi_y[0]
    printed = capsys.readouterr().out
    assert "DSMI(Z;Y)" in printed and "300 held-out points" in printed


def test_training_dynamics_csv_option(training_dynamics, tmp_path):
    pytest.importorskip("matplotlib")
    csv_path = tmp_path / "history.csv"
    training_dynamics["main"](["--epochs", "1", "--n-eval", "200", "--kernel", "alpha_decay",
                               "--t", "5", "--fix-scale", "--out", str(tmp_path / "p.png"),
                               "--csv", str(csv_path)])
    assert csv_path.exists() and (tmp_path / "p.png").exists()
    assert csv_path.read_text().splitlines()[0] == "# unit: bits"
    assert len(csv_path.read_text().splitlines()) == 4  # unit, header, epochs 0 and 1


def test_epoch_zero_is_the_network_training_starts_from(training_dynamics):
    # the example draws the initial weights itself (scikit-learn creates them inside the
    # first partial_fit); check them against the classifier's own, read after one epoch
    # with a step size so small that the epoch changes no weight
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 8)), np.arange(60) % 3
    for activation in ("relu", "logistic"):
        clf = MLPClassifier(hidden_layer_sizes=(5, 4), activation=activation,
                            learning_rate_init=1e-300, random_state=np.random.RandomState(7))
        clf.partial_fit(X, y, classes=[0, 1, 2])
        coefs, intercepts = training_dynamics["initial_parameters"]([8, 5, 4, 3], activation, 7)
        for mine, theirs in zip(coefs + intercepts, clf.coefs_ + clf.intercepts_):
            np.testing.assert_array_equal(mine, theirs)


def test_forward_pass_matches_the_classifier(training_dynamics):
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(1)
    X, y = rng.random((80, 6)), np.arange(80) % 4
    for activation in ("relu", "tanh"):
        clf = MLPClassifier(hidden_layer_sizes=(7,), activation=activation, random_state=0)
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
        _, logits = training_dynamics["forward"](X, clf.coefs_, clf.intercepts_, activation)
        np.testing.assert_array_equal(np.argmax(logits, axis=1), clf.predict(X))
