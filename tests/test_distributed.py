"""DSMI on a Dask cluster through joblib's Dask backend gives the serial numbers.

A ``dask.distributed.LocalCluster`` of two single-threaded worker processes on
the loopback interface stands in for a real cluster.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

import fastdse  # noqa: E402

# no warning filter: with dask/distributed 2026.8 the cluster starts and closes without a
# warning under the project's filterwarnings = error
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    labels = np.repeat([0, 1, 2], [150, 130, 120])
    Z = rng.normal(size=(400, 6)) + 4.0 * rng.normal(size=(3, 6))[labels]
    return Z, labels


# agreement between process layouts: rounding only (the subsets are the same to the bit)
RTOL, ATOL = 1e-12, 1e-12

KW = dict(t=[1, 3], mode="exact", num_repetitions=3, random_state=42, progress=False)


def test_dask_backend_matches_serial(client, data):
    Z, labels = data
    serial = fastdse.dsmi(Z, labels, **KW)
    assert serial.info["n_jobs"] == 1
    # Z is float64 and C-contiguous, so dsmi passes this very object to its tasks and the
    # backend uses the future scattered here (other arrays are scattered once per call)
    with distributed.get_task_stream(client=client) as stream:
        with joblib.parallel_backend("dask", scatter=[Z]):
            on_dask = fastdse.dsmi(Z, labels, **KW)
    assert on_dask.info["n_jobs"] == 2  # both workers' threads
    # same seeds, same subsets, same random choices; the floats agree to rounding only: a
    # worker's BLAS runs one thread, the serial run's several, and some CPUs' kernels round
    # the two differently (3e-16 seen on Intel Xeon)
    np.testing.assert_allclose(on_dask.value, serial.value, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(on_dask.stderr, serial.stderr, rtol=1e-9, atol=ATOL)
    for a, b in zip(on_dask.per_class, serial.per_class):
        assert a.label == b.label and a.size == b.size
        np.testing.assert_allclose(a.conditional, b.conditional, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(a.unconditional_reps, b.unconditional_reps, rtol=RTOL,
                                   atol=ATOL)
    # the DSE evaluations ran on the cluster (joblib sends them in batches)
    assert len(stream.data) >= 2
    assert {d["worker"] for d in stream.data} <= set(client.scheduler_info()["workers"])


def test_dask_backend_multid_y(client, data):
    Z, labels = data
    Y = np.eye(3)[labels] * 10 + np.random.default_rng(0).normal(size=(400, 3))
    kw = dict(KW, n_clusters=3)
    serial = fastdse.dsmi(Z, Y, **kw)
    with joblib.parallel_config(backend="dask"):
        on_dask = fastdse.dsmi(Z, Y, **kw)
    np.testing.assert_array_equal(on_dask.clusters, serial.clusters)
    np.testing.assert_allclose(on_dask.value, serial.value, rtol=RTOL, atol=ATOL)
