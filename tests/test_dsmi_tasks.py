"""DSMI's evaluations (dsmi_tasks): sub-affinities, and the messages when a point has no degree."""

import numpy as np
import pytest
import scipy.sparse as sp

import fastdse
from fastdse.dsmi_tasks import check_class_subgraphs, plan, subgraph


def ring(n):
    """A cycle graph without self-affinities: every point's two neighbours, nothing else."""
    i = np.arange(n)
    A = sp.csr_matrix((np.ones(2 * n), (np.r_[i, i], np.r_[(i + 1) % n, (i - 1) % n])),
                      shape=(n, n))
    return A


def test_subgraph_is_the_induced_sub_matrix(rng):
    A = ring(10)
    rows = np.array([1, 2, 3, 7])
    for Z in (A, A.toarray()):
        sub = subgraph(Z, rows)
        dense = sub.toarray() if sp.issparse(sub) else sub
        np.testing.assert_array_equal(dense, A.toarray()[np.ix_(rows, rows)])


def test_a_class_whose_points_have_all_their_neighbours_elsewhere_is_named():
    # alternate labels on a ring: every neighbour of a point is in the other class
    n = 40
    y = np.where(np.arange(n) % 2 == 0, "even", "odd")
    for Z in (ring(n), ring(n).toarray()):
        with pytest.raises(ValueError, match=r"Z has points with zero total affinity inside "
                                             r"their class.*class 'even' of Y: 20 of its 20 "
                                             r"points \(rows 0, 2, 4, 6, 8 \.\.\. of Z\); class "
                                             r"'odd' of Y: 20 of its 20 points.*All their "
                                             r"neighbours in Z are in other classes.*Add a "
                                             r"self-affinity \(Z \+ I.*neighbors_key"):
            fastdse.dsmi(Z, y, kernel="precomputed", random_state=0)
    # with clusters= the labels are named after it
    labels = np.arange(n) % 2
    with pytest.raises(ValueError, match=r"class 0 of clusters: 20 of its 20 points"):
        fastdse.dsmi(ring(n), None, kernel="precomputed", clusters=labels, random_state=0)


def test_only_the_lonely_points_are_counted():
    n = 30
    y = np.repeat([0, 1], 15)
    A = ring(n).tolil()
    A[3, 20] = A[20, 3] = 1.0  # point 3 keeps its ring neighbours in class 0
    A[20, 19] = A[19, 20] = A[20, 21] = A[21, 20] = 0.0  # 20 is left with point 3 only
    with pytest.raises(ValueError, match=r"class 1 of Y: 1 of its 15 points \(rows 20 of Z\)"
                                         r"\. All their"):  # class 0 is not named
        check_class_subgraphs(A.tocsr(), y, np.array([0, 1]), "Y")


def test_a_random_subset_with_a_lonely_point_is_named():
    # two classes of 20 on a 40-cycle: each class is a path (every point has a neighbour in
    # its class), but half-size random subsets of the ring leave points alone
    n = 40
    y = np.repeat(["a", "b"], 20)
    with pytest.raises(ValueError, match=r"random subset \d+ of DSMI's unconditional term for "
                                         r"class '[ab]' \(20 points of Z drawn at random\) has "
                                         r"\d+ point\(s\) with zero total affinity inside it "
                                         r"\(rows .* of Z\): all their neighbours in Z are "
                                         r"outside the subset.*Z \+ I"):
        fastdse.dsmi(ring(n), y, kernel="precomputed", random_state=0)


def test_a_self_affinity_gives_every_subgraph_its_degrees():
    n = 40
    y = np.where(np.arange(n) % 2 == 0, "even", "odd")
    A = ring(n) + sp.identity(n)
    check_class_subgraphs(A, np.arange(n) % 2, np.array(["even", "odd"]), "Y")  # no error
    res = fastdse.dsmi(A, y, [1, 5], kernel="precomputed", mode="exact", random_state=0)
    # every class is 20 isolated points: 20 eigenvalues 1
    for term in res.per_class:
        np.testing.assert_allclose(term.conditional, np.log2(20), rtol=1e-12)


def test_the_plan_gives_each_task_its_class_label_and_seed(rng):
    classes = np.array(["a", "b", "c"])
    tasks = plan(classes, np.array([5, 9, 7]), 2, rng)
    assert len(tasks) == 9 and [t.size for t in tasks] == sorted([5, 9, 7] * 3, reverse=True)
    assert {(t.label, t.size) for t in tasks} == {("a", 5), ("b", 9), ("c", 7)}
    assert all(type(t.label) is str for t in tasks)
    assert len({t.seed.entropy for t in tasks}) == 1  # one root, spawned per class and task
