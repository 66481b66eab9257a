"""Inputs that once ended in an internal error or a misleading message: each now gives the
right number or an error that names the parameter, the problem and the fix."""

import numpy as np
import pytest
import scipy.sparse as sp

import fastdse
from fastdse import compat
from fastdse.spectral.lanczos import slq_measure


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(300, 3))


LABELS = np.repeat([0, 1, 2], 100)


# --------------------------------------------------------------------------- right numbers


@pytest.mark.parametrize("mode", ["exact", "approx"])
def test_isolated_points_give_log2_n_in_every_mode(mode):
    # the identity affinity: n components, n eigenvalues 1 (the approx path once said
    # "known_vectors must have fewer than n columns")
    res = fastdse.dse(np.eye(150), t=[1, 10], kernel="precomputed", mode=mode)
    np.testing.assert_allclose(res.value, np.log2(150), rtol=1e-12)


def test_a_gaussian_too_narrow_for_any_neighbour_isolates_every_point(X):
    approx = fastdse.dse(X, kernel="gaussian", sigma=1e-6, mode="approx", random_state=0)
    exact = fastdse.dse(X, kernel="gaussian", sigma=1e-6, mode="exact")
    assert approx.value == pytest.approx(np.log2(300)) == exact.value


def test_known_vectors_spanning_the_space_mean_the_identity():
    n = 40
    mu = slq_measure(sp.identity(n, format="csr"), known_vectors=np.eye(n), random_state=0)
    np.testing.assert_array_equal(mu.nodes, np.ones(n))
    assert mu.is_exact and mu.info["fallback"].startswith("the known eigenvalue-1 vectors")


def test_gaussian_kernel_with_fewer_points_than_knn(X):
    # knn only sizes a fixed-bandwidth kernel's first neighbour search: capped, not refused
    res = fastdse.dse(X[:5], kernel="gaussian", sigma=1.0, mode="exact")
    K = np.exp(-((X[:5, None] - X[None, :5]) ** 2).sum(-1) / 2.0)
    lam = np.linalg.eigvalsh(K / np.sqrt(np.outer(K.sum(1), K.sum(1))))
    p = np.abs(lam) / np.abs(lam).sum()
    assert res.value == pytest.approx(-(p * np.log2(p)).sum(), rel=1e-9)
    approx = fastdse.dse(X[:5], kernel="gaussian", sigma=1.0, mode="approx", random_state=0)
    assert approx.value == pytest.approx(res.value, rel=1e-9)


def test_dsmi_with_more_jobs_than_the_machine_can_start(X):
    many = fastdse.dsmi(X, LABELS, n_jobs=100_000, mode="exact", num_repetitions=2,
                        random_state=0)
    one = fastdse.dsmi(X, LABELS, n_jobs=1, mode="exact", num_repetitions=2, random_state=0)
    assert many.info["n_jobs"] <= 6  # capped at the cores and at the 6 evaluations
    np.testing.assert_allclose(many.value, one.value, rtol=1e-12)


# --------------------------------------------------------------------------- clear errors


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"base": 0.5}, r"base must be greater than 1 \(2: bits, numpy.e: nats"),
        ({"kernel": "gaussian", "sigma": 1e-300}, r"sigma must be at least .*Rescale the data"),
    ],
)
def test_dse_settings_that_cannot_give_a_meaningful_number(X, kw, match):
    with pytest.raises(ValueError, match=match):
        fastdse.dse(X, mode="exact", **kw)


def test_landmark_mode_on_two_points(X):
    with pytest.raises(ValueError, match=r"mode='landmark' needs at least 3 points.*n=2.*"
                                         r"mode='exact'"):
        fastdse.dse(X[:2], mode="landmark", knn=1)


def test_masked_arrays_are_not_silently_unmasked(X):
    masked = np.ma.masked_array(X, mask=X > 2)
    with pytest.raises(ValueError, match=r"X is a masked array with \d+ masked value.*filled"):
        fastdse.dse(masked, mode="exact")
    # nothing masked: the data as they are
    plain = np.ma.masked_array(X, mask=np.zeros_like(X, dtype=bool))
    assert fastdse.dse(plain, mode="exact").value == fastdse.dse(X, mode="exact").value


@pytest.mark.parametrize(
    "Y,kw,match",
    [
        (None, {"clusters": np.r_[LABELS[:-1].astype(float), np.nan]},
         r"clusters contains 1 NaN or infinite label"),
        (np.array(["a", "b", "c"] * 99 + ["a", "b", np.nan], dtype=object), {},
         r"Y contains 1 missing label\(s\) \(None or NaN\)"),
        (np.ones((300, 2)), {}, r"Y is constant \(all 300 rows equal\)"),
        (None, {}, r"Y is None: pass the variable .* or its labels as clusters="),
    ],
)
def test_dsmi_labels_that_cannot_define_classes(X, Y, kw, match):
    with pytest.raises(ValueError, match=match):
        fastdse.dsmi(X, Y, mode="exact", **kw)


def test_compat_cache_path_under_a_file(X, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match=r"eigval_save_path=.* is a file, not a folder"):
        compat.diffusion_spectral_entropy(X, eigval_save_path=str(blocker / "x.npz"))


def test_dsmi_with_one_repetition_has_no_standard_error_to_report(X):
    # one random subset per class: its spread cannot be measured, so the standard error is
    # unknown (NaN, with the reason), not the 0 an exact evaluation's probe noise would give
    res = fastdse.dsmi(X, LABELS, t=[1, 5], mode="exact", num_repetitions=1, random_state=0)
    assert np.all(np.isnan(res.stderr)) and np.all(np.isfinite(res.value))
    assert "num_repetitions=1" in res.info["stderr_note"]
    two = fastdse.dsmi(X, LABELS, t=[1, 5], mode="exact", num_repetitions=2, random_state=0)
    assert np.all(two.stderr > 0) and "stderr_note" not in two.info
