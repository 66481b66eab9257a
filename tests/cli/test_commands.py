"""The ``fastdse`` command line: file formats, output, and one-line user errors.

Reference values come from calling the library directly on the same arrays.
"""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastdse
from fastdse import graph
from fastdse.cli import commands as cli
from fastdse.cli.options import cli_message

T = [1.0, 2.0, 5.0]


@pytest.fixture
def points(rng):
    return rng.normal(size=(120, 4))


@pytest.fixture
def labelled(rng):
    """Three separated classes of 40 points and their labels."""
    labels = np.repeat([0, 1, 2], 40)
    Z = rng.normal(size=(120, 3)) + 8.0 * labels[:, None]
    return Z, labels


def run(capsys, argv):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, argv):
    code, out, err = run(capsys, [*argv, "--json"])
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def assert_user_error(code, out, err, match):
    assert code != 0
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastdse: error: ")
    assert match in lines[0], lines[0]


def write_text(path, X, delimiter, header=None):
    np.savetxt(path, X, delimiter=delimiter, fmt="%.17g",
               header=header or "", comments="")
    return path


# --------------------------------------------------------------------------- dse: formats


@pytest.mark.parametrize("fmt", ["npy", "npz", "npz-key", "csv", "csv-header", "tsv"])
def test_dse_json_matches_library(capsys, tmp_path, points, fmt):
    extra = []
    if fmt == "npy":
        path = tmp_path / "x.npy"
        np.save(path, points)
    elif fmt == "npz":
        path = tmp_path / "x.npz"
        np.savez(path, only=points)
    elif fmt == "npz-key":
        path = tmp_path / "x.npz"
        np.savez(path, emb=points, other=np.zeros(3))
        extra = ["--key", "emb"]
    elif fmt == "csv":
        path = write_text(tmp_path / "x.csv", points, ",")
    elif fmt == "csv-header":
        path = write_text(tmp_path / "x.csv", points, ",", header="a,b,c,d")
    else:
        path = write_text(tmp_path / "x.tsv", points, "\t")
    got = run_json(capsys, ["dse", path, "--t", *T, "--mode", "exact", *extra])
    ref = fastdse.dse(points, t=T, mode="exact")
    assert got["command"] == "dse"
    assert got["n"] == 120 and got["d"] == 4
    assert got["mode"] == "exact"
    assert got["unit"] == "bits"
    assert got["t"] == T
    np.testing.assert_allclose(got["value"], ref.value, rtol=1e-12)
    assert got["stderr"] == [0.0, 0.0, 0.0]
    assert got["time_s"] >= 0


def test_dse_options_reach_the_library(capsys, tmp_path, points):
    path = tmp_path / "x.npy"
    np.save(path, points)
    got = run_json(capsys, ["dse", path, "--t", 3, "--mode", "exact", "--kernel", "gaussian",
                            "--sigma", 1.5, "--anisotropy", 0.5, "--base", "e"])
    ref = fastdse.dse(points, t=3, mode="exact", kernel="gaussian", sigma=1.5,
                      anisotropy=0.5, base=math.e)
    assert got["unit"] == "nats"
    assert got["value"] == pytest.approx([ref.value], rel=1e-12)
    assert got["settings"]["kernel"] == "gaussian"
    assert got["settings"]["sigma"] == 1.5
    assert got["settings"]["anisotropy"] == 0.5


def test_dse_auto_t_matches_library(capsys, tmp_path, points):
    np.save(tmp_path / "x.npy", points)
    got = run_json(capsys, ["dse", tmp_path / "x.npy", "--t", "auto", "--mode", "exact"])
    expected = fastdse.dse(points, "auto", mode="exact")
    assert got["t_auto"] is True
    assert got["t"] == [expected.t]
    assert got["value"] == [expected.value]


SETTINGS = ("mode_requested", "mode", "t", "seed", "n", "d", "base", "unit", "version",
            "thresh", "anisotropy", "kernel")


@pytest.mark.parametrize(
    ("argv", "library", "expected"),
    [
        ([], {}, {"kernel": "alpha_decay", "knn": 5, "decay": 40.0, "thresh": 1e-4,
                  "anisotropy": 0.0, "mode_requested": "auto", "mode": "exact", "seed": None,
                  "base": 2.0, "unit": "bits", "t": [1.0]}),
        (["-t", 2, 4, "--mode", "approx", "--knn", 7, "--decay", 20, "--seed", 9,
          "--anisotropy", 0.5],
         {"t": [2, 4], "mode": "approx", "knn": 7, "decay": 20, "random_state": 9,
          "anisotropy": 0.5},
         {"kernel": "alpha_decay", "knn": 7, "decay": 20.0, "thresh": 1e-4,
          "anisotropy": 0.5, "mode_requested": "approx", "mode": "approx", "seed": 9,
          "t": [2.0, 4.0]}),
        (["--kernel", "gaussian", "--sigma", 2, "--mode", "exact", "--base", "e"],
         {"kernel": "gaussian", "sigma": 2, "mode": "exact", "base": math.e},
         {"kernel": "gaussian", "sigma": 2.0, "thresh": 1e-4, "mode_requested": "exact",
          "mode": "exact", "seed": None, "base": math.e, "unit": "nats"}),
        # a sparse Gaussian kernel drops affinities below 1e-4 (info["thresh"] says 0)
        (["--kernel", "gaussian", "--sigma", 2, "--mode", "landmark", "--seed", 0,
          "--thresh", 1e-3],
         {"kernel": "gaussian", "sigma": 2, "mode": "landmark", "random_state": 0,
          "thresh": 1e-3},
         {"kernel": "gaussian", "sigma": 2.0, "thresh": 1e-3, "mode": "landmark", "seed": 0}),
        (["--kernel", "gaussian", "--sigma", 2, "--mode", "approx", "--seed", 0],
         {"kernel": "gaussian", "sigma": 2, "mode": "approx", "random_state": 0},
         {"kernel": "gaussian", "sigma": 2.0, "thresh": 1e-4, "mode": "approx", "seed": 0}),
    ],
)
def test_dse_json_carries_its_settings(capsys, tmp_path, rng, argv, library, expected):
    X = rng.normal(size=(260, 3))  # above the dense cut-off of approx (200 points)
    np.save(tmp_path / "x.npy", X)
    got = run_json(capsys, ["dse", tmp_path / "x.npy", *argv])
    assert set(SETTINGS) <= set(got)
    assert ("knn" in got) == ("decay" in got) == (expected["kernel"] == "alpha_decay")
    assert ("sigma" in got) == (expected["kernel"] == "gaussian")
    assert (got["n"], got["d"], got["version"]) == (260, 3, fastdse.__version__)
    assert {k: got[k] for k in expected} == expected
    ref = fastdse.dse(X, **{"t": 1.0, **library})
    np.testing.assert_allclose(got["value"], np.atleast_1d(ref.value), rtol=1e-10)


def test_dsmi_json_carries_its_settings(capsys, tmp_path, labelled):
    Z, labels = labelled
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", labels)
    got = run_json(capsys, ["dsmi", tmp_path / "z.npy", tmp_path / "y.npy", "-t", 1, 5,
                            "--kernel", "alpha_decay", "--knn", 4, "--seed", 7,
                            "--num-repetitions", 2])
    assert {k: got[k] for k in (*SETTINGS, "knn", "decay")} == {
        "kernel": "alpha_decay", "knn": 4, "decay": 40.0, "thresh": 1e-4, "anisotropy": 0.0,
        "mode_requested": "auto", "mode": "exact", "t": [1.0, 5.0], "seed": 7, "n": 120,
        "d": 3, "base": 2.0, "unit": "bits", "version": fastdse.__version__}
    got = run_json(capsys, ["dsmi", tmp_path / "z.npy", tmp_path / "y.npy", "--mode", "exact",
                            "--kernel", "gaussian", "--sigma", 3, "--thresh", 1e-6,
                            "--anisotropy", 1, "--num-repetitions", 2])
    assert {k: got[k] for k in ("kernel", "sigma", "thresh", "anisotropy", "mode_requested",
                                "mode", "seed")} == {
        "kernel": "gaussian", "sigma": 3.0, "thresh": 1e-6, "anisotropy": 1.0,
        "mode_requested": "exact", "mode": "exact", "seed": None}
    assert "knn" not in got


def test_dsmi_json_of_a_mixed_run(capsys, tmp_path, rng):
    # mode auto on classes of different sizes: exact for the small, approx for the large
    labels = np.repeat([0, 1], [3100, 40])
    Z = rng.normal(size=(labels.size, 2)) + 5.0 * labels[:, None]
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", labels)
    got = run_json(capsys, ["dsmi", tmp_path / "z.npy", tmp_path / "y.npy", "--seed", 0,
                            "--num-repetitions", 1, "--no-progress"])
    assert (got["mode_requested"], got["mode"]) == ("auto", "mixed")
    assert got["thresh"] == 1e-4  # one default threshold in every mode


def test_short_t_is_the_long_one(capsys, tmp_path, points):
    np.save(tmp_path / "x.npy", points)
    short = run_json(capsys, ["dse", tmp_path / "x.npy", "-t", 1, 3, "--mode", "exact"])
    long = run_json(capsys, ["dse", tmp_path / "x.npy", "--t", 1, 3, "--mode", "exact"])
    assert short["t"] == long["t"] == [1.0, 3.0]
    assert short["value"] == long["value"]


@pytest.mark.parametrize("command", [["dse"], ["dsmi"], ["bench"], ["plot", "spectrum"],
                                     ["plot", "dse-curve"]])
def test_help_names_t_once(capsys, command):
    assert cli.main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "  -t, --t T [T ...]" in text


def test_help_texts_name_each_argument_once(capsys):
    for kind, metavar in [("spectrum", "POINTS"), ("dse-curve", "POINTS"), ("scaling", "CSV"),
                          ("history", "HISTORY")]:
        assert cli.main(["plot", kind, "--help"]) == 0
        text = capsys.readouterr().out
        assert f"{metavar} {metavar}" not in text and f"  {metavar}  " in text
        assert "-o, --output OUT" in text


def test_dse_table_output(capsys, tmp_path, points):
    path = tmp_path / "x.npy"
    np.save(path, points)
    code, out, err = run(capsys, ["dse", path, "--t", 1, 10, "--mode", "exact"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1].split() == ["t", "value", "stderr", "unit", "n", "mode", "time_s"]
    ref = fastdse.dse(points, t=[1, 10], mode="exact")
    rows = [line.split() for line in lines[3:]]
    assert [r[0] for r in rows] == ["1", "10"]
    assert [float(r[1]) for r in rows] == pytest.approx(ref.value, rel=1e-5)
    assert all(r[3:6] == ["bits", "120", "exact"] for r in rows)


def test_version(capsys):
    code, out, _ = run(capsys, ["--version"])
    assert code == 0
    assert out.strip() == f"fastdse {fastdse.__version__}"


def console_script():
    """The installed ``fastdse`` command, run as a user runs it."""
    exe = shutil.which("fastdse") or str(Path(sys.executable).parent / "fastdse")
    assert os.path.exists(exe), "the fastdse console script is not installed"
    return exe


def test_console_script_entry_point(tmp_path, points):
    exe = console_script()
    path = tmp_path / "x.npy"
    np.save(path, points[:30])
    proc = subprocess.run([exe, "dse", str(path), "--mode", "exact", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["value"] == pytest.approx([fastdse.dse(points[:30], mode="exact").value],
                                         rel=1e-12)
    bad = subprocess.run([exe, "dse", str(tmp_path / "missing.npy")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert bad.stderr.startswith("fastdse: error: ")
    assert "Traceback" not in bad.stderr


# --------------------------------------------------------------------------- closed pipe


def environment(buffered):
    """The environment of a CLI run, with stdout block-buffered (as usual) or not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return env if buffered else {**env, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "table"])
def test_closed_pipe_ends_quietly(tmp_path, points, json_flag, buffered):
    # fastdse dse X.npy --json | head -c 100: the reader takes a few bytes and goes away while
    # the output (far more than a pipe holds) is still being written
    np.save(tmp_path / "x.npy", points[:30])
    t = [f"{v:.6g}" for v in np.linspace(1.0, 50.0, 20000)]
    proc = subprocess.Popen([console_script(), "dse", str(tmp_path / "x.npy"), "--mode",
                             "exact", *json_flag, "--t", *t],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=environment(buffered))
    head = proc.stdout.read(100)
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert head.startswith(b'{"command": "dse"' if json_flag else b"DSE of ")
    assert "Traceback" not in err
    assert err == ""


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_pipe_closed_before_any_output(tmp_path, points, buffered):
    # buffered, a short output waits for the last flush, the one Python does at exit unless
    # the command does it first
    np.save(tmp_path / "x.npy", points[:30])
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([console_script(), "dse", str(tmp_path / "x.npy"), "--json"],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120,
                              env=environment(buffered))
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err == ""
    assert proc.returncode == 141


def test_broken_pipe_in_a_subcommand_returns_141(capsys, monkeypatch):
    def closed(args):
        print("partial")
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setitem(cli.SUBCOMMANDS, "closed", (lambda parser: None, closed))
    assert cli.main(["closed"]) == 141
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- dsmi


def test_dsmi_int_labels_match_library(capsys, tmp_path, labelled):
    Z, labels = labelled
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", labels)
    got = run_json(capsys, ["dsmi", tmp_path / "z.npy", tmp_path / "y.npy", "--t", 1, 5,
                            "--mode", "exact", "--seed", 7, "--num-repetitions", 3])
    ref = fastdse.dsmi(Z, labels, t=[1, 5], mode="exact", random_state=7, num_repetitions=3)
    assert got["command"] == "dsmi"
    assert got["n_classes"] == 3
    np.testing.assert_allclose(got["value"], ref.value, rtol=1e-12)
    np.testing.assert_allclose(got["stderr"], ref.stderr, rtol=1e-12)
    assert [c["label"] for c in got["per_class"]] == [0, 1, 2]
    assert [c["size"] for c in got["per_class"]] == [40, 40, 40]
    for c, term in zip(got["per_class"], ref.per_class):
        np.testing.assert_allclose(c["conditional"], term.conditional, rtol=1e-12)
        np.testing.assert_allclose(c["unconditional"], term.unconditional, rtol=1e-12)


def test_dsmi_string_labels_in_csv(capsys, tmp_path, labelled):
    Z, labels = labelled
    names = np.array(["cat", "dog", "eel"])[labels]
    write_text(tmp_path / "z.csv", Z, ",")
    (tmp_path / "y.csv").write_text("animal\n" + "\n".join(names) + "\n")
    got = run_json(capsys, ["dsmi", tmp_path / "z.csv", tmp_path / "y.csv", "--mode", "exact",
                            "--kernel", "gaussian", "--sigma", 3, "--seed", 3,
                            "--num-repetitions", 2])
    ref = fastdse.dsmi(Z, names, mode="exact", kernel="gaussian", sigma=3, random_state=3,
                       num_repetitions=2)
    assert [c["label"] for c in got["per_class"]] == ["cat", "dog", "eel"]
    assert got["value"] == pytest.approx([ref.value], rel=1e-12)
    assert got["value"][0] > 0.5  # separated classes share information with their labels


def test_dsmi_integer_labels_in_csv_stay_discrete(capsys, tmp_path, labelled):
    Z, labels = labelled
    np.save(tmp_path / "z.npy", Z)
    np.savetxt(tmp_path / "y.tsv", labels, fmt="%d")
    got = run_json(capsys, ["dsmi", tmp_path / "z.npy", tmp_path / "y.tsv", "--mode", "exact",
                            "--seed", 0, "--num-repetitions", 2])
    assert got["n_classes"] == 3  # not binned into 10 bins as a continuous variable
    assert [c["label"] for c in got["per_class"]] == [0, 1, 2]


def test_dsmi_npz_keys_and_table(capsys, tmp_path, labelled):
    Z, labels = labelled
    np.savez(tmp_path / "data.npz", z=Z, y=labels)
    code, out, err = run(capsys, [
        "dsmi", tmp_path / "data.npz", tmp_path / "data.npz", "--z-key", "z", "--y-key", "y",
        "--mode", "exact", "--seed", 1, "--num-repetitions", 2,
    ])
    assert code == 0 and err == ""
    assert "3 classes" in out
    assert "DSE(Z|y)" in out


def test_dsmi_continuous_y_is_binned(capsys, tmp_path, rng):
    Z = rng.normal(size=(150, 2))
    y = Z[:, 0] + 0.01 * rng.normal(size=150)
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", y)
    got = run_json(capsys, ["dsmi", tmp_path / "z.npy", tmp_path / "y.npy", "--mode", "exact",
                            "--kernel", "gaussian", "--sigma", 1, "--n-clusters", 3,
                            "--seed", 0, "--num-repetitions", 2])
    ref = fastdse.dsmi(Z, y, mode="exact", kernel="gaussian", sigma=1, n_clusters=3,
                       random_state=0, num_repetitions=2)
    assert got["n_classes"] == 3
    assert got["value"] == pytest.approx([ref.value], rel=1e-12)


# --------------------------------------------------------------------------- demo


def test_demo_json(capsys):
    got = run_json(capsys, ["demo", "--n-points", 200])
    assert got["command"] == "demo"
    assert got["n"] == 200 and got["d"] == 64 and got["n_classes"] == 10
    assert got["dse"]["unit"] == "bits"
    assert len(got["dse"]["t"]) == len(got["dse"]["value"]) == len(got["dse"]["stderr"]) >= 3
    assert all(0 < v <= math.log2(200) for v in got["dse"]["value"])
    # the headline: DSMI at dsmi's defaults, clearly positive; shuffled labels near 0
    mi, null = got["dsmi"], got["dsmi_shuffled"]
    assert mi["kernel"] == null["kernel"] == "gaussian" and mi["t"] == 1.0
    assert mi["value"] > 10 * mi["stderr"] and mi["value"] > 0.5
    assert abs(null["value"]) < 3 * null["null_stderr"]
    assert set(got["timings"]) == {"load", "dse", "dsmi"}
    assert {k: got[k] for k in (*SETTINGS, "knn", "decay")} == {
        "kernel": "alpha_decay", "knn": 5, "decay": 40.0, "thresh": 1e-4, "anisotropy": 0.0,
        "mode_requested": "exact", "mode": "exact", "t": [1.0, 5.0, 20.0, 50.0], "seed": 0,
        "n": 200, "d": 64, "base": 2.0, "unit": "bits", "version": fastdse.__version__}
    assert all(math.isfinite(v) and v >= 0 for v in got["timings"].values())


# --------------------------------------------------------------------------- user errors


@pytest.fixture
def files(tmp_path, points):
    np.save(tmp_path / "x.npy", points)
    np.savez(tmp_path / "two.npz", a=points, b=points)
    np.save(tmp_path / "nan.npy", np.where(np.arange(points.size).reshape(points.shape) == 5,
                                           np.nan, points))
    (tmp_path / "x.txt").write_text("1 2\n3 4\n")
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "words.csv").write_text("1,2\n3,oops\n5,6\n")
    (tmp_path / "empty.csv").write_text("\n\n")
    (tmp_path / "labels.csv").write_text("a\nb\na\nb\n")
    (tmp_path / "gap.csv").write_text("0\n1\n\n0\n" + "1\n" * 116)
    np.save(tmp_path / "y_short.npy", np.zeros(10, dtype=int))
    np.save(tmp_path / "one_d.npy", points[:, 0])
    np.save(tmp_path / "y_2d.npy", points[:, :2])
    (tmp_path / "names.csv").write_text("\n".join(["cat", "dog"] * 60) + "\n")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object))
    return tmp_path


@pytest.mark.parametrize(
    "argv,match",
    [
        (["dse", "{d}/missing.npy"], "missing.npy: no such file"),
        (["dse", "{d}/x.txt"], "unknown file type '.txt'; supported: .npy, .npz, .csv, .tsv"),
        (["dse", "{d}"], "unknown file type"),
        (["dse", "{d}/two.npz", "--key", "c"], "no array named 'c'; the archive holds: a, b"),
        (["dse", "{d}/two.npz"], "holds 2 arrays (a, b); choose one with --key"),
        (["dse", "{d}/x.npy", "--key", "a"], "--key applies to .npz files only"),
        (["dse", "{d}/obj.npz"], "never unpickled"),
        (["dse", "{d}/nan.npy"], "X contains 1 NaN or infinite value(s)"),
        (["dse", "{d}/ragged.csv"], "line 2 has 2 field(s) but the first line has 3"),
        (["dse", "{d}/words.csv"], "non-numeric value 'oops' in data row 2, column 2"),
        (["dse", "{d}/empty.csv"], "the file is empty"),
        (["dse", "{d}/labels.csv"], "point clouds must be numeric"),
        (["dse", "{d}/x.npy", "--knn", "500"], "--knn must be <= 119"),
        (["dse", "{d}/x.npy", "--thresh", "2"], "--thresh must be < 1.0"),
        (["dse", "{d}/x.npy", "--t", "auto", "2"], "--t auto cannot be combined"),
        (["dsmi", "{d}/x.npy", "{d}/y_short.npy"], "same number of points"),
        (["dsmi", "{d}/x.npy", "{d}/missing.csv"], "missing.csv: no such file"),
        (["dsmi", "{d}/x.npy", "{d}/gap.csv"], "gap.csv: line 3 is blank but rows follow it"),
        (["demo", "--n-points", "5"], "--n-points must be in [20, 1797]"),
    ],
)
def test_user_errors_are_one_line(capsys, files, argv, match):
    code, out, err = run(capsys, [a.format(d=files) for a in argv])
    assert code == 1
    assert_user_error(code, out, err, match)


@pytest.mark.parametrize(
    "argv,match",
    [
        # the library's messages name keywords and give Python advice; the CLI's name options
        (["dse", "{d}/one_d.npy"], "Save one value per point as one column, shape (n, 1), or "
                                   "as a .csv file with one value per line."),
        (["dse", "{d}/x.npy", "--mode", "approx", "--thresh", "0"],
         "use --mode exact for --thresh 0, or e.g. --thresh 1e-4; got 0.0"),
        (["dse", "{d}/x.npy", "--knn", "0"], "error: --knn must be >= 1; got 0"),
        (["dse", "{d}/x.npy", "--anisotropy", "2"], "error: --anisotropy must be <= 1.0"),
        (["dsmi", "{d}/x.npy", "{d}/y_2d.npy", "--y-kind", "discrete"],
         "Pass --y-kind continuous to cluster a multi-dimensional variable."),
        (["dsmi", "{d}/x.npy", "{d}/names.csv", "--y-kind", "continuous"],
         "Pass --y-kind discrete for labels."),
        (["dsmi", "{d}/x.npy", "{d}/names.csv", "--n-clusters", "1"],
         "error: --n-clusters must be >= 2; got 1"),
        (["dsmi", "{d}/x.npy", "{d}/names.csv", "--num-repetitions", "0"],
         "error: --num-repetitions must be >= 1; got 0"),
    ],
)
def test_user_errors_speak_in_options(capsys, files, argv, match):
    code, out, err = run(capsys, [a.format(d=files) for a in argv])
    assert_user_error(code, out, err, match)
    assert "reshape" not in err and "kind='" not in err and "mode='" not in err


def test_cli_message_leaves_other_words_alone():
    message = ("class 'a' of Y has 3 point(s); every class needs at least knn + 1 = 6 points "
               "for kernel='alpha_decay'. Merge rare classes, use fewer bins (n_clusters) or "
               "a smaller knn; max_neighbors=64, n=120, X must be 2-D")
    assert cli_message(message, "dsmi") == (
        "class 'a' of Y has 3 point(s); every class needs at least knn + 1 = 6 points for "
        "--kernel alpha_decay. Merge rare classes, use fewer bins (--n-clusters) or a smaller "
        "knn; max_neighbors=64, n=120, X must be 2-D")
    assert cli_message("use kind='density'", "plot") == "use --kind density"
    assert cli_message("use kind='density'", "dse") == "use kind='density'"  # no --kind


@pytest.mark.parametrize(
    "argv,match",
    [
        (["dse", "{d}/x.npy", "--t", "abc"], "argument -t/--t: not a number: 'abc'"),
        (["dse", "{d}/x.npy", "-t", "-1"], "argument -t/--t: must be a positive finite number"),
        (["dse", "{d}/x.npy", "--t", "0"], "must be a positive finite number; got '0'"),
        (["dse", "{d}/x.npy", "--t"], "argument -t/--t: expected at least one argument"),
        (["dse", "{d}/x.npy", "--mode", "fast"], "argument --mode: invalid choice: 'fast'"),
        (["dse", "{d}/x.npy", "--knn", "2.5"], "argument --knn: not an integer: '2.5'"),
        (["dse", "{d}/x.npy", "--seed", "-3"], "must be a non-negative integer"),
        (["dse"], "the following arguments are required: FILE"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["dse", "{d}/x.npy", "--header", "--no-header"], "not allowed with argument"),
    ],
)
def test_usage_errors_are_one_line(capsys, files, argv, match):
    code, out, err = run(capsys, [a.format(d=files) for a in argv])
    assert code == 2
    assert_user_error(code, out, err, match)
    assert "--help" in err


def test_every_cli_mode_has_a_builder_in_the_one_mode_table():
    # the CLI offers every name in graph.MODES; each (but 'auto', which resolves to one of
    # them) has its spectral-measure builder in the mode table, none registered from outside
    from fastdse import modes

    assert set(modes.BUILDERS) == set(graph.MODES) - {"auto"}


def test_no_command_prints_help(capsys):
    code, out, err = run(capsys, [])
    assert code == 2
    assert "dse" in err and "dsmi" in err and "demo" in err


def test_traceback_flag_reraises(capsys, files):
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        cli.main(["--traceback", "dse", str(files / "nan.npy")])


# --------------------------------------------------------------------------- extension point


def test_subcommand_registry_is_the_extension_point(capsys, monkeypatch):
    calls = []

    def configure(parser):
        parser.add_argument("--size", type=int, default=3)
        cli.add_output_options(parser)

    def run_cmd(args):
        calls.append(args.size)
        cli.emit(args, {"size": args.size, "value": np.float64(np.nan)}, f"size {args.size}")
        return 0

    monkeypatch.setitem(cli.SUBCOMMANDS, "bench", (configure, run_cmd))
    assert cli.main(["bench", "--size", "5", "--json"]) == 0
    assert calls == [5]
    assert json.loads(capsys.readouterr().out) == {"size": 5, "value": None}


def test_unexpected_errors_keep_their_traceback(monkeypatch):
    def boom(args):
        raise RuntimeError("bug")

    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", (lambda parser: None, boom))
    with pytest.raises(RuntimeError, match="bug"):
        cli.main(["boom"])


def test_plot_subcommand_is_wired(capsys, tmp_path, points):
    np.save(tmp_path / "x.npy", points)
    out = tmp_path / "curve.png"
    code, _, err = run(capsys, ["plot", "dse-curve", tmp_path / "x.npy", "-o", out,
                                "--mode", "exact", "--t", "1", "2", "5"])
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- .h5ad


@pytest.fixture
def h5ad(tmp_path, labelled):
    anndata = pytest.importorskip("anndata")
    import pandas as pd
    import scipy.sparse as sp

    X, y = labelled
    n = X.shape[0]
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    nbr = np.argsort(d2, axis=1)[:, :5]
    rows = np.repeat(np.arange(n), 5)
    conn = sp.csr_matrix((np.ones(rows.size), (rows, nbr.ravel())), shape=(n, n))
    adata = anndata.AnnData(np.asarray(X), obs=pd.DataFrame(
        {"y": np.asarray(y).astype(str)}, index=[str(i) for i in range(n)]))
    adata.obsm["X_pca"] = np.asarray(X)[:, :2]
    adata.obsp["connectivities"] = conn.maximum(conn.T).tocsr()
    # scanpy's k-NN distances, 60 per row (enough to hold every alpha-decay radius here)
    far = np.argsort(d2, axis=1)[:, :60]
    rows = np.repeat(np.arange(n), 60)
    adata.obsp["distances"] = sp.csr_matrix((np.sqrt(d2[rows, far.ravel()]),
                                             (rows, far.ravel())), shape=(n, n))
    adata.uns["neighbors"] = {"connectivities_key": "connectivities",
                              "distances_key": "distances"}
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    return path, adata


def test_dse_reads_h5ad(capsys, h5ad):
    path, adata = h5ad
    out = run_json(capsys, ["dse", path, "--use-rep", "X_pca", "-t", "1", "5"])
    ref = fastdse.dse(adata, [1, 5], use_rep="X_pca")
    assert out["value"] == ref.value.tolist() and out["d"] == 2
    out = run_json(capsys, ["dse", path, "--neighbors-key", "neighbors", "--kernel",
                            "precomputed"])
    ref = fastdse.dse(adata, 1, kernel="precomputed", neighbors_key="neighbors")
    assert out["value"] == [ref.value] and out["kernel"] == "precomputed"


@pytest.mark.parametrize("options,kw", [
    ([], {}),  # the default kernel, alpha-decay, on the stored k-NN distances
    (["--knn", 3, "--decay", 10], {"knn": 3, "decay": 10.0}),
    (["--kernel", "gaussian", "--sigma", 1], {"kernel": "gaussian", "sigma": 1.0}),
])
def test_neighbors_key_builds_the_kernel_on_the_stored_distances(capsys, h5ad, options, kw):
    path, adata = h5ad
    out = run_json(capsys, ["dse", path, "--neighbors-key", "neighbors", "-t", 1, 5,
                            *options])
    ref = fastdse.dse(adata, [1, 5], neighbors_key="neighbors", **kw)
    assert out["value"] == ref.value.tolist()
    assert out["kernel"] == kw.get("kernel", "alpha_decay") and out["thresh"] == 1e-4
    points = fastdse.dse(adata, [1, 5], use_rep="X", **kw, thresh=1e-4)
    np.testing.assert_allclose(out["value"], points.value, atol=1e-10)


def test_kernel_precomputed_reads_an_affinity_file(capsys, tmp_path, points):
    from fastdse.operator.kernel import dense_affinity

    K = dense_affinity(points, "gaussian", sigma=2.0)
    np.save(tmp_path / "K.npy", K)
    out = run_json(capsys, ["dse", tmp_path / "K.npy", "--kernel", "precomputed", "-t", 1, 5])
    ref = fastdse.dse(K, [1, 5], kernel="precomputed")
    assert out["value"] == ref.value.tolist() and out["kernel"] == "precomputed"


def test_dsmi_takes_y_from_obs(capsys, h5ad):
    path, adata = h5ad
    for kernel in ("alpha_decay", "precomputed"):
        out = run_json(capsys, ["dsmi", path, "--obs", "y", "--neighbors-key", "neighbors",
                                "--seed", "0", "--kernel", kernel])
        ref = fastdse.dsmi(adata, "y", kernel=kernel, neighbors_key="neighbors", random_state=0)
        assert out["value"] == [ref.value] and out["obs"] == "y"
    # the default bandwidth is measured on points, which a stored graph does not hold
    assert_user_error(*run(capsys, ["dsmi", path, "--obs", "y", "--neighbors-key",
                                    "neighbors"]), "use_rep= (the representation")
    out = run_json(capsys, ["dsmi", path, "--obs", "y", "--use-rep", "X_pca", "--seed", "0"])
    ref = fastdse.dsmi(adata, "y", use_rep="X_pca", random_state=0)
    assert out["value"] == [ref.value] and out["kernel"] == "gaussian"


def test_h5ad_options_errors(capsys, h5ad, tmp_path, points):
    path, _ = h5ad
    assert_user_error(*run(capsys, ["dsmi", path]), "Y_FILE, or --obs COLUMN")
    npy = tmp_path / "p.npy"
    np.save(npy, points)
    assert_user_error(*run(capsys, ["dse", npy, "--use-rep", "X_pca"]),
                      "--use-rep applies to .h5ad input only")
    assert_user_error(*run(capsys, ["dse", path, "--neighbors-key", "neighbors",
                                    "--knn", 61]),
                      "--knn 61 is larger than the stored graph allows")
    bad = tmp_path / "bad.h5ad"
    bad.write_text("not hdf5")
    assert_user_error(*run(capsys, ["dse", bad]), "not a readable .h5ad file")
