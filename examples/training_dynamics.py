"""DSE(Z), DSMI(Z; Y) and DSMI(Z; X) of a small network's hidden layer, epoch by epoch.

Trains scikit-learn's ``MLPClassifier`` on the digits (8x8 images, 10 classes)
one epoch at a time (``partial_fit``) and, before training (epoch 0) and after
every epoch, records with :class:`fastdse.monitor.TrainingMonitor`, on a fixed
random subset of the held-out digits:

- DSE(Z): diffusion spectral entropy of the last hidden layer's activations Z;
- DSMI(Z; Y): their diffusion spectral mutual information with the digit labels;
- DSMI(Z; X): ... with the input images (clustered once, before training).

The hidden activations are computed from the classifier's weights
(``coefs_``, ``intercepts_``) and activation function. The weights before the
first ``partial_fit`` are drawn exactly as scikit-learn draws them (Glorot
uniform, from the same random state), so epoch 0 is the network training
starts from.

Defaults are the paper's settings (Liao, Liu et al., arXiv 2312.04823): Gaussian
kernel with sigma = 10 and t = 1, the defaults of the reference package
``dse-dsmi``. With them DSE(Z) and DSMI(Z; Y) rise during training. See
docs/monitoring.md for what changes with other kernels, t and with
``--fix-scale``.

Run (about 6 s on a 2-core machine)::

    python examples/training_dynamics.py --out training_dynamics.png

writes the plot, the history CSV (``--csv``, default: next to the plot) and
prints a table. Needs matplotlib (``pip install matplotlib``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.spatial.distance import pdist
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from fastdse.monitor import TrainingMonitor, plot_history

#: The activation functions of MLPClassifier, as numpy functions.
ACTIVATIONS = {
    "relu": lambda a: np.maximum(a, 0.0),
    "tanh": np.tanh,
    "logistic": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "identity": lambda a: a,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=30, help="training epochs after epoch 0")
    p.add_argument("--n-eval", type=int, default=500,
                   help="held-out digits in the fixed evaluation subset")
    p.add_argument("--hidden", type=int, nargs="+", default=[64],
                   help="hidden layer sizes; Z is the last hidden layer")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                   help="activation of the hidden layers (Z is computed with the same)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam step size")
    p.add_argument("--batch-size", type=int, default=64, help="minibatch size")
    p.add_argument("--kernel", choices=["gaussian", "alpha_decay", "defaults"],
                   default="gaussian",
                   help="affinity kernel of DSE/DSMI (gaussian with sigma 10: the paper's; "
                        "defaults: fastdse's, alpha-decay for DSE and the Gaussian with "
                        "sigma='knn' for DSMI)")
    p.add_argument("--sigma", type=float, default=10.0, help="Gaussian kernel bandwidth")
    p.add_argument("--t", type=float, default=1.0, help="diffusion time")
    p.add_argument("--fix-scale", action="store_true",
                   help="rescale Z at every epoch to the median pairwise distance it had at "
                        "epoch 0, so that only its shape changes, not its size")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the split, the network, its training and the monitor")
    p.add_argument("--out", type=Path, default=Path("training_dynamics.png"),
                   help="PNG to write")
    p.add_argument("--csv", type=Path, default=None,
                   help="history CSV to write (None: --out with the suffix .csv)")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1; got {args.epochs}")
    if any(h < 1 for h in args.hidden):
        p.error(f"--hidden sizes must be >= 1; got {args.hidden}")
    if args.csv is None:
        args.csv = args.out.with_suffix(".csv")
    return args


def initial_parameters(
    layer_sizes: Sequence[int], activation: str, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Draw the weights that MLPClassifier(random_state=RandomState(seed)) starts from.

    scikit-learn draws them at the first ``partial_fit``, layer by layer, weights
    then biases, uniform in +-sqrt(f / (fan_in + fan_out)) with f = 2 for the
    logistic activation and 6 otherwise (Glorot et al.), from its random state.
    The same draws from a fresh ``RandomState(seed)`` give the same numbers.
    """
    rs = np.random.RandomState(seed)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rs.uniform(-bound, bound, fan_out))
    return coefs, intercepts


def forward(
    X: np.ndarray, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray],
    activation: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Last hidden layer's activations and the output logits."""
    act = ACTIVATIONS[activation]
    h = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        h = act(h @ W + b)
    return h, h @ coefs[-1] + intercepts[-1]


def plot(monitor: TrainingMonitor, accuracy: Sequence[float], title: str, out: Path) -> None:
    """One panel per metric (their scales differ) and the test accuracy."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for ax, name in zip(axes, monitor.metrics):
        plot_history(monitor, name, ax=ax)
    ax = axes[len(monitor.metrics)]
    ax.plot(monitor.history["epoch"], accuracy, marker="o", markersize=3, color="black")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    for ax in axes[:2]:
        ax.set_xlabel("")  # the bottom row's label names the shared x axis
    fig.suptitle(title)
    fig.savefig(out, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    """Train, monitor, write the CSV and the plot, print a table."""
    args = parse_args(argv)
    start = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=args.seed)
    classes = np.unique(y)
    if not 2 <= args.n_eval <= len(y_test):
        raise SystemExit(f"--n-eval must be in [2, {len(y_test)}]; got {args.n_eval}")

    monitor = TrainingMonitor(
        Y=y_test, X=X_test, n_eval=args.n_eval, t=args.t, random_state=args.seed,
        **({} if args.kernel == "defaults" else {"kernel": args.kernel}),
        **({"sigma": args.sigma} if args.kernel == "gaussian" else {}),
    )
    X_eval = monitor.select(X_test)

    # a RandomState instance (not an int) so that each partial_fit continues one stream:
    # an int would re-seed, and replay the same minibatch order, at every epoch
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(args.hidden), activation=args.activation,
        learning_rate_init=args.learning_rate, batch_size=args.batch_size,
        random_state=np.random.RandomState(args.seed),
    )
    layer_sizes = [X.shape[1], *args.hidden, len(classes)]
    coefs, intercepts = initial_parameters(layer_sizes, args.activation, args.seed)

    accuracy: list[float] = []
    scale0 = None
    for epoch in range(args.epochs + 1):
        if epoch > 0:
            # one pass over the training set; partial_fit never checks convergence, so it
            # emits no ConvergenceWarning (the test suite runs this with warnings as errors)
            clf.partial_fit(X_train, y_train, classes=classes)
            coefs, intercepts = clf.coefs_, clf.intercepts_
        Z, _ = forward(X_eval, coefs, intercepts, args.activation)
        if args.fix_scale:
            scale = float(np.median(pdist(Z)))
            scale0 = scale if scale0 is None else scale0
            if scale > 0:
                Z = Z * (scale0 / scale)
        _, logits = forward(X_test, coefs, intercepts, args.activation)
        accuracy.append(float(np.mean(classes[np.argmax(logits, axis=1)] == y_test)))
        monitor.update(Z, epoch=epoch)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    monitor.history.to_csv(args.csv)
    setting = (f"kernel={args.kernel}" + (f", sigma={args.sigma:g}" if args.kernel == "gaussian"
                                          else "") + f", t={args.t:g}"
               + (", fixed scale" if args.fix_scale else ""))
    title = (f"MLP {'-'.join(map(str, args.hidden))} ({args.activation}) on digits: "
             f"hidden layer, {args.n_eval} held-out points, {setting}, seed {args.seed}")
    plot(monitor, accuracy, title, args.out)

    unit = monitor.history.unit
    print(f"digits: {len(y_train)} training, {len(y_test)} held-out; monitor: "
          f"{args.n_eval} held-out points, {setting} ({unit})")
    print(f"{'epoch':>5} {'test acc':>8} {'DSE(Z)':>8} {'DSMI(Z;Y)':>13} {'DSMI(Z;X)':>13}")
    for rec, acc in zip(monitor.history, accuracy):
        print(f"{rec['epoch']:>5} {acc:8.3f} {rec['dse']:8.3f} "
              f"{rec['dsmi_y']:7.3f}+-{rec['dsmi_y_stderr']:.3f} "
              f"{rec['dsmi_x']:7.3f}+-{rec['dsmi_x_stderr']:.3f}")
    print(f"wrote {args.out} and {args.csv} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
