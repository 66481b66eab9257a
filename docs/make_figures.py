"""Write the figures of docs/plotting.md (docs/images/plot_*.png) with ``fastdse plot``.

Each figure is what the command line writes for the command shown under it on the
page, at 100 dpi on a 6 x 3.8 inch figure (a few tens of KB each). The data:

- scikit-learn's digits (1,797 images of 8 x 8 pixels), for the spectrum, the
  spectral density and the DSE curve;
- ``docs/benchmarks/scaling_d128.csv``, the committed scaling run, for ``plot scaling``;
- the history CSV that ``examples/training_dynamics.py`` writes (an MLP on the digits,
  seed 0, 10 epochs), for ``plot history``.

Run by hand from the root of a checkout, after a change to the plots (about 20 s on
2 cores), and commit the PNGs with that change::

    python docs/make_figures.py            # writes docs/images/plot_*.png
    python docs/make_figures.py --out /tmp/figures

Needs matplotlib and scikit-learn.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fastdse.cli.commands import main as fastdse

ROOT = Path(__file__).resolve().parents[1]
FIGURE = ["--dpi", "100", "--figsize", "6", "3.8"]


def _digits(folder: Path) -> Path:
    from sklearn.datasets import load_digits

    path = folder / "digits.npy"
    np.save(path, load_digits().data)
    return path


def _history(folder: Path) -> Path:
    """Train the example's MLP for 10 epochs; return the history CSV it writes."""
    path = folder / "history.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "training_dynamics.py"), "--epochs", "10",
         "--out", str(folder / "training_dynamics.png"), "--csv", str(path)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    """Write the figures; return 0, or the exit code of the ``fastdse plot`` that failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="folder for the PNGs (default: docs/images)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        digits = _digits(folder)
        commands = {
            "plot_spectrum.png": ["spectrum", digits, "--mode", "exact"],
            "plot_density.png": ["spectrum", digits, "--mode", "approx", "--kind", "density",
                                 "--seed", "0"],
            "plot_dse_curve.png": ["dse-curve", digits, "--mode", "exact", "--auto"],
            "plot_scaling.png": ["scaling", ROOT / "docs" / "benchmarks" / "scaling_d128.csv",
                                 "--by", "mode", "d"],
            "plot_history.png": ["history", _history(folder)],
        }
        for name, command in commands.items():
            start = time.perf_counter()
            out = args.out / name
            code = fastdse(["plot", *map(str, command), "-o", str(out), *FIGURE])
            if code != 0:
                return code
            print(f"{out}: {out.stat().st_size / 1024:.0f} KB, "
                  f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
