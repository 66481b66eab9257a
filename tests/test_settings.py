"""Settings: validated once at the public boundary, never again inside.

Every ``check_*`` function (and the progress / verbose checks) is wrapped, in every
loaded fastdse module, by a counter keyed by the parameter it checks; only the
outermost check of a nested call counts. A call of ``dse``, ``DiffusionGraph`` or
``dsmi`` must check each setting at most once, however many graphs it builds.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import sys
import threading

import numpy as np
import pytest

import fastdse
from fastdse.settings import _CHECKS, Settings

# checker -> how to name what it checks: the index of its `name` argument, or a fixed name
CHECKERS = {
    "check_int": 1, "check_float": 1, "check_choice": 1, "check_t": "t",
    "check_n_jobs": "n_jobs", "check_random_state": "random_state",
    "show_progress": "progress", "check_verbose": "verbose", "check_base": "base",
    "check_n_probes": "n_probes",
}


@pytest.fixture
def counts(monkeypatch):
    seen: collections.Counter = collections.Counter()
    depth = threading.local()

    def wrap(func, key):
        @functools.wraps(func)
        def counted(*args, **kwargs):
            if getattr(depth, "n", 0) == 0:
                name = key if isinstance(key, str) else kwargs.get("name", args[key])
                seen[name] += 1
            depth.n = getattr(depth, "n", 0) + 1
            try:
                return func(*args, **kwargs)
            finally:
                depth.n -= 1
        return counted

    for module_name, module in list(sys.modules.items()):
        if module_name == "fastdse" or module_name.startswith("fastdse."):
            for func_name, key in CHECKERS.items():
                func = getattr(module, func_name, None)
                if callable(func):
                    monkeypatch.setattr(module, func_name, wrap(func, key))
    return seen


SETTINGS = [f.name for f in dataclasses.fields(Settings)]


def test_every_setting_has_its_one_check():
    assert set(_CHECKS) == set(SETTINGS)


def test_the_counter_counts(counts):
    # the fixture must see checks, or the tests below would pass on nothing
    with pytest.raises(ValueError, match="knn must be >= 1"):
        fastdse.dse(np.zeros((10, 2)), knn=0)
    assert counts["knn"] == 1 and counts["mode"] == 1


@pytest.mark.parametrize("mode", ["exact", "approx", "landmark"])
def test_dse_checks_each_setting_once(counts, mode):
    X = np.random.default_rng(0).normal(size=(300, 3))
    fastdse.dse(X, t=[1, 2], mode=mode, neighbors="exact", n_landmarks=50, random_state=0)
    given = set(SETTINGS) - {"sigma", "thresh"}  # None: nothing to check
    assert {name: counts[name] for name in given} == dict.fromkeys(given, 1)
    assert counts["t"] == 1 and counts["base"] == 1 and counts["random_state"] == 1
    assert max(counts.values()) == 1, counts


def test_graph_queries_check_only_their_own_arguments(counts):
    X = np.random.default_rng(0).normal(size=(200, 3))
    g = fastdse.DiffusionGraph(X, mode="exact", sigma=2.0, thresh=1e-3, t_hint=[1, 5])
    assert max(counts.values()) == 1, counts
    counts.clear()
    g.dse([1, 2])
    g.dse(5, base=np.e)
    assert set(counts) == {"t", "base"} and counts["t"] == 2


def test_dsmi_checks_each_graph_setting_once_for_all_its_graphs(counts):
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 60)
    Z = rng.normal(size=(180, 4)) + 5 * labels[:, None]
    res = fastdse.dsmi(Z, labels, t=[1, 5], mode="exact", num_repetitions=3, random_state=0)
    assert res.info["n_evaluations"] == 12  # twelve graphs built
    assert max(counts[name] for name in SETTINGS) == 1, counts
    assert counts["t"] == 1 and counts["base"] == 1 and counts["random_state"] == 1
