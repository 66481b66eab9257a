"""``python -m fastdse``: the ``fastdse`` command, its output and exit code unchanged."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import fastdse
from fastdse.cli import main
from fastdse.cli.options import EXIT_ERROR, EXIT_OK, EXIT_USAGE

# the subprocess imports the fastdse under test, wherever pytest found it
SRC = str(Path(fastdse.__file__).resolve().parents[1])


def run_module(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fastdse", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_version(tmp_path):
    proc = run_module("--version", cwd=tmp_path)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stdout.strip() == f"fastdse {fastdse.__version__}"


def test_dse_on_a_small_file(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 3))
    np.save(tmp_path / "small.npy", X)
    proc = run_module("dse", "small.npy", "--t", "1", "2", "--mode", "exact", "--json",
                      cwd=tmp_path)
    assert proc.returncode == EXIT_OK, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["command"] == "dse" and payload["n"] == 60 and payload["t"] == [1.0, 2.0]
    # another process: the same number up to rounding
    expected = fastdse.dse(X, [1, 2], mode="exact").value
    np.testing.assert_allclose(payload["value"], expected, rtol=1e-12)


def test_exit_codes_pass_through(tmp_path, capsys, monkeypatch):
    # a usage error and a failed run give the codes main() returns
    monkeypatch.chdir(tmp_path)
    proc = run_module(cwd=tmp_path)
    assert proc.returncode == EXIT_USAGE == main([])
    proc = run_module("dse", "missing.npy", cwd=tmp_path)
    assert proc.returncode == EXIT_ERROR == main(["dse", "missing.npy"]), proc.stderr
    assert proc.stderr.startswith("fastdse: error: ") and "Traceback" not in proc.stderr
    capsys.readouterr()
