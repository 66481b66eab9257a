"""Per-stage seconds and peak memory (fastdse._util.stages) in results and the bench."""

from __future__ import annotations

import numpy as np
import pytest

import fastdse
from fastdse._util.stages import format_stages, peak_rss, stage_table
from fastdse.spectral import lanczos


def test_stage_table_splits_the_sparse_kernel_and_orders_the_stages():
    info = {"operator": {"search_seconds": 2.0, "widen_seconds": 3.0,
                         "timings": {"kernel": 6.5, "normalize": 0.5},
                         "peak_rss": {"search": 2**30, "kernel": 2**31}},
            "timings": {"lanczos": 4.0, "pilot": 1.0, "other": 9.0},
            "peak_rss": {"lanczos": 3 * 2**30}}
    rows = stage_table(info)
    assert [r["stage"] for r in rows] == ["search", "widening", "kernel", "normalize", "pilot",
                                          "lanczos"]
    # the kernel's own time: its total less the search and the widening inside it
    assert [r["seconds"] for r in rows] == [2.0, 3.0, 1.5, 0.5, 1.0, 4.0]
    assert [r["peak_rss_mib"] for r in rows] == [1024, None, 2048, None, None, 3072]
    assert format_stages(rows[:2]) == "search 2.00 s (peak 1024 MiB), widening 3.00 s"


def test_peak_rss_grows_with_an_allocation():
    before = peak_rss()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    assert peak_rss() >= before and peak_rss() >= block.nbytes


@pytest.mark.parametrize("mode, n, names", [
    ("exact", 600, ["kernel", "normalize", "eigensolver"]),
    # the automatic plan solves a small operator densely
    ("approx", 600, ["search", "widening", "kernel", "normalize", "eigensolver"]),
    ("approx", lanczos.AUTO_DENSE_MAX_N + 1,
     ["search", "widening", "kernel", "normalize", "pilot", "deflation", "lanczos", "quadrature"]),
])
def test_results_carry_their_stages(rng, mode, n, names):
    X = rng.normal(size=(n, 5))
    res = fastdse.dse(X, [1, 5], mode=mode, neighbors="exact", random_state=0)
    rows = res.info["stages"]
    assert [r["stage"] for r in rows] == names
    assert all(r["seconds"] >= 0 and r["peak_rss_mib"] > 0 for r in rows)
    # stages are part of the measure's time
    assert sum(r["seconds"] for r in rows) <= res.info["timings"]["spectral_measure"] + 1e-6
