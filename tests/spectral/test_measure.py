"""SpectralMeasure: the split into deterministic and per-probe sums, and what it refuses."""

import numpy as np
import pytest

from fastdse.spectral.measure import SpectralMeasure


@pytest.fixture
def stochastic():
    """One deterministic node and two of each of probes 0 and 1; probe 2 has none."""
    return SpectralMeasure(
        nodes=np.array([1.0, 0.5, -0.5, 0.25, -1.0]),
        weights=np.array([1.0, 0.5, 0.25, 2.0, 4.0]),
        probe=np.array([-1, 0, 1, 0, 1]),
        n=40,
        n_probes=3,
        method="slq+deflation",
    )


def test_per_probe_sums_by_hand(stochastic):
    values = np.array([2.0, 3.0, 5.0, 7.0, 11.0])
    fixed, probes = stochastic.per_probe_sums(values)
    # weights * values = 2, 1.5, 1.25, 14, 44; each probe's sum times n_probes = 3
    assert fixed == 2.0
    np.testing.assert_array_equal(probes, [3 * (1.5 + 14.0), 3 * (1.25 + 44.0), 0.0])
    # the split adds up: fixed + mean over probes == sum(weights * values)
    assert fixed + probes.mean() == pytest.approx(62.75, abs=1e-12)


def test_per_probe_sums_of_several_functions(stochastic):
    values = np.column_stack([[2.0, 3.0, 5.0, 7.0, 11.0], np.ones(5)])
    fixed, probes = stochastic.per_probe_sums(values)
    np.testing.assert_array_equal(fixed, [2.0, 1.0])
    np.testing.assert_array_equal(
        probes, [[46.5, 3 * (0.5 + 2.0)], [135.75, 3 * (0.25 + 4.0)], [0.0, 0.0]]
    )


def test_exact_measure_has_no_probe_sums():
    mu = SpectralMeasure(nodes=np.array([-0.5, 0.5, 1.0]), weights=np.ones(3),
                         probe=np.full(3, -1), n=3)
    fixed, probes = mu.per_probe_sums(mu.nodes**2)
    assert fixed == 1.5 and probes.shape == (0,)
    fixed, probes = mu.per_probe_sums(np.column_stack([mu.nodes, mu.nodes**2]))
    np.testing.assert_array_equal(fixed, [1.0, 1.5])
    assert probes.shape == (0, 2)


def test_is_exact_and_deterministic(stochastic):
    assert not stochastic.is_exact
    np.testing.assert_array_equal(stochastic.deterministic, [True, False, False, False, False])
    exact = SpectralMeasure(nodes=np.array([0.2, 1.0]), weights=np.ones(2),
                            probe=np.array([-1, -1]), n=2)
    assert exact.is_exact and exact.method == "exact"
    np.testing.assert_array_equal(exact.eigenvalues(), [0.2, 1.0])


def test_eigenvalues_refuses_a_stochastic_measure(stochastic):
    with pytest.raises(ValueError, match=r"only available from an exact spectral measure; "
                                         r"this one was estimated by 'slq\+deflation'"):
        stochastic.eigenvalues()


def test_eigenvalues_refuses_a_deterministic_measure_that_is_not_the_spectrum():
    # no probes, but fewer nodes than n (a landmark-like summary of the top eigenvalues)
    coarse = SpectralMeasure(nodes=np.array([0.5, 1.0]), weights=np.ones(2),
                             probe=np.full(2, -1), n=10, method="landmark")
    with pytest.raises(ValueError, match="was estimated by 'landmark'"):
        coarse.eigenvalues()
    # n nodes, but weights other than 1
    weighted = SpectralMeasure(nodes=np.array([0.5, 1.0]), weights=np.array([1.0, 2.0]),
                               probe=np.full(2, -1), n=2)
    with pytest.raises(ValueError, match="only available from an exact spectral measure"):
        weighted.eigenvalues()


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"same shape; got \(3,\), \(2,\), \(3,\)"):
        SpectralMeasure(nodes=np.zeros(3), weights=np.zeros(2), probe=np.zeros(3, int), n=3)
    with pytest.raises(ValueError, match=r"nodes must be 1-D; got shape \(2, 2\)"):
        SpectralMeasure(nodes=np.zeros((2, 2)), weights=np.zeros((2, 2)),
                        probe=np.zeros((2, 2), int), n=4)
