"""DSE from a spectral measure: the definition, the log domain, the probe standard error."""

import numpy as np
import pytest

from fastdse.entropy import dse_from_eigenvalues, dse_from_measure
from fastdse.spectral.measure import SpectralMeasure
from reference import entropy_bits


def test_exact_eigenvalues_follow_the_definition(rng):
    lam = np.concatenate([[1.0], rng.uniform(-1, 1, size=200), np.zeros(5)])
    ts = np.array([0.5, 1.0, 2.0, 7.5, 30.0])
    np.testing.assert_allclose(dse_from_eigenvalues(lam, ts),
                               [entropy_bits(lam, t) for t in ts], rtol=1e-12)


def test_units_differ_by_the_log_of_the_base(rng):
    lam = rng.uniform(-1, 1, size=50)
    ts = np.array([1.0, 3.0])
    bits = dse_from_eigenvalues(lam, ts)
    np.testing.assert_allclose(dse_from_eigenvalues(lam, ts, base=np.e), bits * np.log(2))
    np.testing.assert_allclose(dse_from_eigenvalues(lam, ts, base=10), bits * np.log10(2))


@pytest.mark.parametrize("t", [100.0, 1000.0, 1e5])
def test_two_eigenvalues_at_large_t_stay_finite_and_exact(t):
    # lambda = (1, a): p = a^t / (1 + a^t); a^t underflows a naive power long before
    a = 0.9
    log_q = t * np.log(a)  # log of a^t
    p = np.exp(log_q - np.logaddexp(0.0, log_q))
    expected = -(p * np.log2(p) + (1 - p) * np.log2(1 - p)) if p > 0 else 0.0
    value = dse_from_eigenvalues(np.array([1.0, a, 0.0]), np.array([t]))[0]
    assert np.isfinite(value)
    np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-300)


def test_bounds_zero_to_log2_n(rng):
    n = 64
    assert dse_from_eigenvalues(np.ones(n), np.array([1.0]))[0] == pytest.approx(np.log2(n))
    assert dse_from_eigenvalues(np.r_[1.0, np.zeros(n - 1)], np.array([1.0]))[0] == 0.0
    lam = rng.uniform(-1, 1, size=n)
    v = dse_from_eigenvalues(lam, np.array([1.0, 2.0, 10.0]))
    assert np.all(v >= 0) and np.all(v <= np.log2(n) + 1e-12)


def test_all_zero_spectrum_is_refused():
    with pytest.raises(ValueError, match="no non-zero node"):
        dse_from_eigenvalues(np.zeros(4), np.array([1.0]))


def _two_probe_measure():
    # a fixed atom (weight 1 at 1.0) plus two probes' quadrature rules, n = 4; a probe's
    # weights are its rule divided by the number of probes (SpectralMeasure's convention)
    return SpectralMeasure(
        nodes=np.array([1.0, 0.5, -0.25, 0.8, 0.1]),
        weights=np.array([1.0, 2.0, 1.0, 1.5, 1.5]),
        probe=np.array([-1, 0, 0, 1, 1]),
        n=4,
        n_probes=2,
        method="slq",
    )


def test_stochastic_measure_is_the_ratio_of_probe_means():
    mu = _two_probe_measure()
    t = 2.0

    def sums(nodes, weights):
        a = np.abs(nodes) ** t
        return (weights * a).sum(), (weights * a * np.log(a)).sum()

    z0, h0 = sums(np.array([1.0]), np.array([1.0]))
    za, ha = sums(np.array([0.5, -0.25]), np.array([2.0, 1.0]))
    zb, hb = sums(np.array([0.8, 0.1]), np.array([1.5, 1.5]))
    # each probe estimates tr f(A) as 2 x its (halved) weights; the estimate is their mean
    Z, H = z0 + (2 * za + 2 * zb) / 2, h0 + (2 * ha + 2 * hb) / 2
    value, stderr = dse_from_measure(mu, np.array([t]))
    np.testing.assert_allclose(value[0], (np.log(Z) - H / Z) / np.log(2), rtol=1e-12)
    assert stderr[0] > 0


def test_stderr_is_zero_when_the_probes_agree():
    mu = SpectralMeasure(
        nodes=np.array([0.9, 0.3, 0.9, 0.3]), weights=np.array([1.0, 2.0, 1.0, 2.0]),
        probe=np.array([0, 0, 1, 1]), n=3, n_probes=2, method="slq",
    )
    _, stderr = dse_from_measure(mu, np.array([1.0, 4.0]))
    np.testing.assert_allclose(stderr, 0.0, atol=1e-15)
