"""fastdse on a read-only install: where numba caches the kernels (``fastdse._numba.jit``).

A non-root user of a system or container install can write neither the package's
``__pycache__`` nor, often, a home directory; numba then finds no cache directory for a
``cache=True`` kernel and ``import fastdse`` would fail. The unit tests check the fallback
decision with numba made to see read-only directories; the subprocess tests run fastdse
as user ``nobody`` on a read-only copy of the package.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np
import pytest

import fastdse
import fastdse._numba.jit as policy

PACKAGE = Path(fastdse.__file__).resolve().parent

needs_jit = pytest.mark.skipif(
    numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT=1: numba neither compiles nor caches"
)
posix_only = pytest.mark.skipif(os.name != "posix", reason="file owners and modes are POSIX")


def _double(x):
    return 2.0 * x


def _read_only_except(monkeypatch, writable: Path) -> None:
    """numba's cache locators find every directory outside ``writable`` read-only.

    They test a directory by making a temporary file in it; the user-wide cache moves
    under pytest's ``tmp_path`` too, so nothing is made in the real home directory.
    """
    real = tempfile.TemporaryFile

    def temporary_file(*args, dir=None, **kwargs):
        if dir is None or not Path(dir).resolve().is_relative_to(writable.resolve()):
            raise PermissionError(13, "Permission denied (test)", dir)
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    monkeypatch.setenv("XDG_CACHE_HOME", str(writable.parent / "read-only-home-cache"))


def test_normal_case_changes_nothing(caplog):
    before = numba.config.CACHE_DIR
    with caplog.at_level(logging.DEBUG, logger="fastdse"):
        assert policy._choose_cache() == (True, None)
    assert caplog.records == []
    assert numba.config.CACHE_DIR == before
    assert (policy._CACHE, policy._CACHE_DIR) == (True, None)


@needs_jit
@posix_only
def test_fallback_caches_in_a_private_temp_dir(monkeypatch, tmp_path, caplog):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _read_only_except(monkeypatch, temp)
    before = numba.config.CACHE_DIR
    with caplog.at_level(logging.INFO, logger="fastdse"):
        cache, directory = policy._choose_cache()
    private = temp / f"fastdse-numba-cache-{os.getuid()}"
    assert (cache, directory) == (True, str(private))
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert str(private) in caplog.records[0].getMessage()
    assert numba.config.CACHE_DIR == before

    # kernels decorated under that choice are cached there; numba's setting is restored
    monkeypatch.setattr(policy, "_CACHE_DIR", directory)
    kernel = policy.jit(_double)
    assert numba.config.CACHE_DIR == before
    np.testing.assert_array_equal(kernel(np.arange(3.0)), [0.0, 2.0, 4.0])
    assert kernel.stats.cache_path.startswith(directory)
    assert list(private.rglob("*.nbi"))
    with pytest.raises(ValueError, match="inside"):
        with policy.fallback_cache():
            assert numba.config.CACHE_DIR == directory
            raise ValueError("inside")
    assert numba.config.CACHE_DIR == before


@needs_jit
def test_no_usable_directory_compiles_without_cache(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _read_only_except(monkeypatch, tmp_path / "nowhere")
    with caplog.at_level(logging.INFO, logger="fastdse"):
        assert policy._choose_cache() == (False, None)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "NUMBA_CACHE_DIR" in caplog.records[0].getMessage()


@posix_only
@pytest.mark.parametrize("made_by", ["others_can_write", "symlink", "another_user"])
def test_private_dir_refuses_one_others_control(monkeypatch, tmp_path, made_by):
    # numba loads cache files with pickle: such a directory could hold another user's code
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    uid = os.getuid()
    if made_by == "another_user":
        uid += 1
        monkeypatch.setattr(os, "getuid", lambda: uid)
    path = tmp_path / f"fastdse-numba-cache-{uid}"
    if made_by == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        path.symlink_to(tmp_path / "elsewhere")
    else:
        path.mkdir(mode=0o700)
    if made_by == "others_can_write":
        path.chmod(0o777)
    assert policy._private_temp_dir() is None


# --- as user nobody, on a read-only copy of the package -----------------------------------

CHILD = """
import json, logging, sys
messages = []
class Keep(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())
logging.getLogger("fastdse").addHandler(Keep())
logging.getLogger("fastdse").setLevel(logging.INFO)
import numba, numpy as np
import fastdse
at_import = list(messages)
if sys.argv[1] == "pynndescent":
    from fastdse._numba.jit import fallback_cache
    with fallback_cache():
        import pynndescent
    print(json.dumps({"file": fastdse.__file__, "log": at_import,
                      "pynndescent": pynndescent.__file__}))
    raise SystemExit
X = np.random.default_rng(0).normal(size=(200, 3))
values = {"exact": fastdse.dse(X, mode="exact").value,
          "approx": fastdse.dse(X, mode="approx", neighbors="exact", random_state=0).value}
from fastdse._numba import dense, lanczos, search, sparse
kernels = [k for m in (dense, lanczos, search, sparse) for obj in vars(m).values()
           for k in (obj, getattr(obj, "serial", None), getattr(obj, "parallel", None))
           if isinstance(k, numba.core.dispatcher.Dispatcher)]
print(json.dumps({
    "file": fastdse.__file__, "log": at_import, "CACHE_DIR": numba.config.CACHE_DIR,
    "values": values, "cache_paths": sorted({k.stats.cache_path for k in kernels}),
    "hits": sum(sum(k.stats.cache_hits.values()) for k in kernels),
    "misses": sum(sum(k.stats.cache_misses.values()) for k in kernels),
}))
"""


class User(NamedTuple):
    uid: int
    prefix: list[str]  # the command prefix that runs a program as this user


def _runs(prefix: list[str]) -> bool:
    """Whether ``prefix`` runs this interpreter, with its libraries, as the other user."""
    # where the user cannot read them, the dynamic loader and Python may fall back to
    # another libpython and standard library: check the prefix and one dependency
    check = f"import sys, numba; assert sys.prefix == {sys.prefix!r}"
    args = [*prefix, "--", sys.executable, "-c", check]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(args, env=env, cwd="/", capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def nobody() -> User:
    """User ``nobody``, and how to run a program as them (skips where impossible)."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("running a program as user nobody needs root, which this run is not "
                    "(a platform limit)")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot run as user nobody")
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("this system has no user nobody")
    prefix = [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
    if _runs(prefix):
        return User(entry.pw_uid, prefix)
    # the interpreter lives where nobody may not look (e.g. under /root): let nobody read
    # every file (CAP_DAC_READ_SEARCH), as any user reads a shared install; writing stays
    # forbidden, and writing is what this test is about
    reader = [*prefix, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    if _runs(reader):
        return User(entry.pw_uid, reader)
    pytest.skip(f"user nobody cannot run {sys.executable} and setpriv cannot grant reading")


@pytest.fixture(scope="module")
def read_only_copy(nobody):
    """A world-readable copy of the package that no one can write to, and a read-only home."""
    root = Path(tempfile.mkdtemp(prefix="fastdse-read-only-"))
    try:
        root.chmod(0o755)
        shutil.copytree(PACKAGE, root / "fastdse",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (root / "home").mkdir()
        for path in [root / "fastdse", *(root / "fastdse").rglob("*"), root / "home"]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        yield root
    finally:
        shutil.rmtree(root)


def _run_as(user: User, root: Path, tmp: str, what: str = "dse") -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root / "home"),
           "TMPDIR": tmp, "PYTHONPATH": str(root)}  # no NUMBA_CACHE_DIR
    args = [*user.prefix, "--", sys.executable, "-s", "-c", CHILD, what]
    done = subprocess.run(args, env=env, cwd=root, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # the read-only copy was imported, not the editable install
    assert Path(out["file"]).is_relative_to(root / "fastdse"), out["file"]
    return out


def _shared_temp(root: Path, name: str) -> str:
    """A fresh directory like /tmp (world-writable, sticky) for the child's TMPDIR."""
    tmp = root / name
    tmp.mkdir()
    tmp.chmod(0o1777)
    return str(tmp)


@pytest.mark.slow
def test_read_only_install_as_nobody(nobody, read_only_copy):
    X = np.random.default_rng(0).normal(size=(200, 3))
    expected = {"exact": fastdse.dse(X, mode="exact").value,
                "approx": fastdse.dse(X, mode="approx", neighbors="exact",
                                      random_state=0).value}
    tmp = _shared_temp(read_only_copy, "tmp-dse")
    private = Path(tmp) / f"fastdse-numba-cache-{nobody.uid}"

    cold = _run_as(nobody, read_only_copy, tmp)
    assert len(cold["log"]) == 1 and str(private) in cold["log"][0], cold["log"]
    assert cold["CACHE_DIR"] == ""  # numba's own setting is left as it was
    assert all(p.startswith(str(private)) for p in cold["cache_paths"]), cold["cache_paths"]
    assert cold["misses"] > 0
    info = private.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == nobody.uid

    warm = _run_as(nobody, read_only_copy, tmp)  # a new process loads them back
    assert (warm["misses"], warm["hits"] > 0) == (0, True)
    for out in (cold, warm):
        for mode, value in expected.items():
            assert out["values"][mode] == pytest.approx(value, rel=1e-10), mode


@pytest.mark.slow
@pytest.mark.pynndescent
def test_pynndescent_imports_inside_fallback_cache(nobody, read_only_copy):
    # pynndescent's own cache=True functions hit the same wall on such an install
    tmp = _shared_temp(read_only_copy, "tmp-pynndescent")
    out = _run_as(nobody, read_only_copy, tmp, "pynndescent")
    assert len(out["log"]) == 1
    private = Path(tmp) / f"fastdse-numba-cache-{nobody.uid}"
    assert any(p.name.startswith("pynndescent_") for p in private.iterdir())
