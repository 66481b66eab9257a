import json
import math
import sys

import numpy as np
import pytest

import fastdse
from fastdse.cli import commands as cli
from fastdse.results import ClassTerm, DSEResult, DSMIResult, unit_name


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


# --------------------------------------------------------------------------- keeping results

@pytest.fixture
def pandas():
    """pandas, for the to_frame tests (skipped without it: it is an optional extra)."""
    return pytest.importorskip("pandas")


@pytest.fixture
def dse_result(rng):
    return fastdse.dse(rng.normal(size=(80, 3)), t=[1.0, 2.0, 5.0], mode="exact")


@pytest.fixture
def approx_result(rng):
    # above the dense cut-off of the approximate mode: info holds arrays and nested dicts
    return fastdse.dse(rng.normal(size=(250, 3)), t=[1.0, 4.0], mode="approx", random_state=3)


@pytest.fixture
def dsmi_result(rng):
    labels = np.repeat([0, 1, 2], 30)
    Z = rng.normal(size=(90, 2)) + 6.0 * labels[:, None]
    return fastdse.dsmi(Z, labels, t=[1.0, 3.0], mode="exact", random_state=0,
                        num_repetitions=3)


def hand_made_dsmi():
    terms = [ClassTerm("a", 3, np.array([1.0, 0.5]), np.array([1.25, 1.0]),
                       np.array([[1.0, 0.75], [1.5, 1.25]])),
             ClassTerm("b", 5, np.array([2.0, 1 / 3]), np.array([2.5, 0.5]),
                       np.array([[2.5, 0.5], [2.5, 0.5]]))]
    return DSMIResult(value=np.array([0.40625, 0.416666]), stderr=np.array([0.1, np.nan]),
                      per_class=terms, clusters=np.array([0, 0, 0, 1, 1, 1, 1, 1]),
                      t=np.array([1.0, 3.0]), n=8, mode="exact", base=math.e,
                      info={"n_classes": np.int64(2), "timings": {"total": np.float32(0.5)}})


def test_dse_to_dict_holds_the_attributes_as_plain_values(dse_result):
    d = dse_result.to_dict()
    assert set(d) == {"value", "stderr", "t", "n", "mode", "base", "unit", "eigenvalues",
                      "info"}
    assert d["value"] == dse_result.value.tolist() and type(d["value"][0]) is float
    assert d["stderr"] == [0.0, 0.0, 0.0]
    assert d["t"] == [1.0, 2.0, 5.0]
    assert (d["n"], d["mode"], d["base"], d["unit"]) == (80, "exact", 2.0, "bits")
    assert d["eigenvalues"] == dse_result.eigenvalues.tolist()  # all n of them are kept
    assert d["info"]["kernel"] == "alpha_decay" and d["info"]["knn"] == 5


def test_scalar_t_stays_scalar(pandas):
    res = DSEResult(value=np.float64(2.5), stderr=0.0, t=3.0, n=10, mode="approx")
    d = res.to_dict()
    assert d["value"] == 2.5 and type(d["value"]) is float and d["t"] == 3.0
    frame = res.to_frame()
    assert frame.shape == (1, 7) and frame["value"].tolist() == [2.5]


def test_json_round_trips_the_values_exactly(dse_result, approx_result):
    for res in (dse_result, approx_result):
        back = json.loads(res.to_json())
        assert back == res.to_dict()  # every float read back bit for bit
        assert back["value"] == [float(v) for v in res.value]
    info = json.loads(approx_result.to_json())["info"]
    # nested numpy arrays and scalars of info are converted recursively
    assert info["operator"]["bandwidth"] == approx_result.info["operator"]["bandwidth"].tolist()
    assert info["quadrature_bias"] == approx_result.info["quadrature_bias"].tolist()


def test_to_json_passes_its_keywords_to_json_dumps(dse_result):
    text = dse_result.to_json(indent=2, sort_keys=True)
    assert text.startswith('{\n  "base": 2.0,')
    assert json.loads(text) == dse_result.to_dict()


def test_non_finite_values_become_null_in_json():
    res = DSEResult(value=np.array([1.5, np.inf]), stderr=np.array([np.nan, 0.0]),
                    t=np.array([1.0, 2.0]), n=4, mode="approx", info={"x": np.float64(-np.inf)})
    assert math.isnan(res.to_dict()["stderr"][0])  # the dict keeps the Python values
    back = json.loads(res.to_json())
    assert back["value"] == [1.5, None] and back["stderr"] == [None, 0.0]
    assert back["info"] == {"x": None}
    assert "NaN" not in res.to_json() and "Infinity" not in res.to_json()


def test_dse_to_frame_one_row_per_t(pandas, dse_result):
    frame = dse_result.to_frame()
    assert list(frame.columns) == ["t", "value", "stderr", "n", "mode", "base", "unit"]
    assert frame["t"].tolist() == [1.0, 2.0, 5.0]
    np.testing.assert_array_equal(frame["value"].to_numpy(), dse_result.value)
    assert set(frame["mode"]) == {"exact"} and set(frame["n"]) == {80}


def test_dsmi_to_dict_and_json(dsmi_result):
    d = dsmi_result.to_dict()
    assert d["value"] == dsmi_result.value.tolist()
    assert d["clusters"] == dsmi_result.clusters.tolist()
    assert [c["label"] for c in d["per_class"]] == [0, 1, 2]
    for got, term in zip(d["per_class"], dsmi_result.per_class):
        assert got["size"] == term.size == 30
        assert got["conditional"] == term.conditional.tolist()
        assert got["unconditional_reps"] == term.unconditional_reps.tolist()
    assert d["info"]["n_classes"] == 3
    assert json.loads(dsmi_result.to_json()) == d


def test_hand_made_dsmi_converts_numpy_scalars_and_nan():
    res = hand_made_dsmi()
    d = res.to_dict()
    assert d["info"] == {"n_classes": 2, "timings": {"total": 0.5}}
    assert type(d["info"]["n_classes"]) is int
    assert d["unit"] == "nats" and d["base"] == math.e
    assert d["per_class"][1]["conditional"] == [2.0, 1 / 3]
    back = json.loads(res.to_json())
    assert back["stderr"] == [0.1, None]
    assert back["per_class"] == d["per_class"]


def test_dsmi_to_frame_per_t_and_per_class(pandas):
    res = hand_made_dsmi()
    frame = res.to_frame()
    assert list(frame.columns) == ["t", "value", "stderr", "n", "mode", "base", "unit",
                                   "n_classes"]
    assert frame["value"].tolist() == [0.40625, 0.416666]
    assert frame["unit"].tolist() == ["nats", "nats"] and frame["n_classes"].tolist() == [2, 2]
    per = res.to_frame(per_class=True)
    assert list(per.columns) == ["label", "size", "t", "conditional", "unconditional",
                                 "difference"]
    assert per.shape == (4, 6)
    assert per[["label", "size", "t"]].values.tolist() == [
        ["a", 3, 1.0], ["a", 3, 3.0], ["b", 5, 1.0], ["b", 5, 3.0]]
    assert per["difference"].tolist() == [0.25, 0.5, 0.5, 0.5 - 1 / 3]
    with pytest.raises(TypeError, match="per_class must be True or False; got 'yes'"):
        res.to_frame(per_class="yes")


def test_dsmi_per_class_frame_matches_the_library(pandas, dsmi_result):
    per = dsmi_result.to_frame(per_class=True)
    assert per.shape == (3 * 2, 6)
    weights = per["size"] / dsmi_result.n
    summed = (weights * per["difference"]).groupby(per["t"]).sum()
    np.testing.assert_allclose(summed.to_numpy(), dsmi_result.value, rtol=1e-12, atol=1e-15)


def test_class_term_alone(pandas):
    term = hand_made_dsmi().per_class[0]
    assert json.loads(term.to_json()) == term.to_dict() == {
        "label": "a", "size": 3, "conditional": [1.0, 0.5], "unconditional": [1.25, 1.0],
        "unconditional_reps": [[1.0, 0.75], [1.5, 1.25]]}
    frame = term.to_frame()
    assert list(frame.columns) == ["label", "size", "conditional", "unconditional",
                                   "difference"]
    with pytest.raises(ValueError, match=r"one value per diffusion time of the term \(2\); got 3"):
        term.to_frame(t=[1.0, 2.0, 3.0])
    scalar = ClassTerm(np.int64(4), 7, 1.5, 2.0, np.array([2.0, 2.0]))
    assert scalar.to_dict()["label"] == 4 and type(scalar.to_dict()["label"]) is int
    assert scalar.to_frame(t=2.0).values.tolist() == [[4, 7, 2.0, 1.5, 2.0, 0.5]]


def test_to_frame_without_pandas(monkeypatch, dse_result):
    monkeypatch.setitem(sys.modules, "pandas", None)
    message = r"to_frame\(\) needs pandas: pip install pandas"
    for call in (dse_result.to_frame, hand_made_dsmi().to_frame,
                 hand_made_dsmi().per_class[0].to_frame):
        with pytest.raises(ImportError, match=message):
            call()
    assert json.loads(dse_result.to_json())["n"] == 80  # JSON needs no pandas


def test_every_json_record_says_what_produced_it():
    X = np.random.default_rng(0).normal(size=(120, 3))
    y = np.repeat([0, 1], 60)
    want = {"kernel", "knn", "sigma", "thresh", "anisotropy", "random_state", "d",
            "fastdse_version"}
    dse = json.loads(fastdse.dse(X, [1, 2], random_state=3).to_json())
    assert want <= set(dse["info"]) and {"mode", "t", "n"} <= set(dse)
    assert (dse["info"]["random_state"], dse["info"]["d"]) == (3, 3)
    assert dse["info"]["fastdse_version"] == fastdse.__version__
    mi = json.loads(fastdse.dsmi(X, y, 1, kernel="gaussian", sigma=2.0,
                                 random_state=np.random.default_rng(1)).to_json())
    assert want <= set(mi["info"]) and {"mode", "t", "n"} <= set(mi)
    assert (mi["info"]["kernel"], mi["info"]["sigma"], mi["info"]["thresh"]) == ("gaussian", 2.0,
                                                                                  1e-4)
    # a generator's state is not recorded: its type is
    assert mi["info"]["random_state"] == "<numpy.random._generator.Generator>"
    graph = fastdse.DiffusionGraph(X, random_state=5).dse(1)
    assert graph.info["random_state"] == 5
