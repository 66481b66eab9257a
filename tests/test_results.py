import json
import math

import numpy as np
import pytest

import fastdse
from fastdse.cli import commands as cli
from fastdse.results import unit_name


@pytest.mark.parametrize(
    ("base", "unit"),
    [(2.0, "bits"), (math.e, "nats"), (float(np.e), "nats"), (3.0, "log base 3"),
     (10, "log base 10"), (0.5, "log base 0.5")],
)
def test_unit_name(base, unit):
    assert unit_name(base) == unit


def test_the_result_and_the_cli_name_a_unit_the_same_way(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(60, 2))
    assert " log base 3, t=1" in repr(fastdse.dse(X, t=1, mode="exact", base=3))
    np.save(tmp_path / "x.npy", X)
    assert cli.main(["dse", str(tmp_path / "x.npy"), "--base", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unit"] == "log base 3"
