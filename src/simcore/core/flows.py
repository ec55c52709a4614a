"""Sessions that flow: next-action transitions that settle to a state's weights.

A profile's ``next`` table gives affinities ``a[A][B] >= 0``: how much likelier B is
right after A. Within a session the next kind is drawn from a Markov chain over
the run's choice kinds (custom ones included) whose stationary distribution is the
state's weights ``w`` (normalised: ``pi``), so a config keeps its mix whatever flow it
adds. The chain is the matrix scaling (Sinkhorn–Knopp) of ``W = 1 + a`` to the flow
``M = diag(r) W diag(c)`` whose row and column sums are both ``pi``: then
``P[A, B] = M[A, B] / pi[A]`` has rows summing to 1 and ``pi P = pi``. ``W`` is
positive on the kinds with weight, so the scaling exists and is unique (Sinkhorn 1964).
Without affinities ``W`` is all ones, ``M = pi pi^T`` and every row of ``P`` is ``pi``:
draws independent of the previous kind, as before flows existed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Sinkhorn iterations at most, and the tolerance on the marginals.
MAX_ITERATIONS = 10_000
TOLERANCE = 1e-13


def affinity_matrix(
    table: dict[str, dict[str, float]], names: tuple[str, ...] | list[str]
) -> NDArray[np.float64]:
    """``W = 1 + a`` over ``names`` from a profile's ``next`` table (unknown names ignored)."""
    index = {name: i for i, name in enumerate(names)}
    w = np.ones((len(names), len(names)), dtype=np.float64)
    for before, row in table.items():
        if before not in index:
            continue
        for after, value in row.items():
            if after in index:
                w[index[before], index[after]] += max(float(value), 0.0)
    return w


def transitions(pi: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """The transition matrix with stationary distribution ``pi`` (sums to 1) closest to the
    affinities ``w`` in the Sinkhorn sense. Rows of kinds outside ``pi``'s support are ``pi``."""
    n = len(pi)
    out = np.tile(pi, (n, 1))
    support = np.flatnonzero(pi > 0)
    if len(support) == 0:
        return out
    p = pi[support]
    ws = w[np.ix_(support, support)]
    c = np.ones(len(support))
    r = p / (ws @ c)
    for _ in range(MAX_ITERATIONS):
        c = p / (ws.T @ r)
        r = p / (ws @ c)
        flow = r[:, None] * ws * c[None, :]
        if np.abs(flow.sum(axis=0) - p).max() < TOLERANCE:
            break
    flow = r[:, None] * ws * c[None, :]
    rows = flow / flow.sum(axis=1, keepdims=True)
    full = np.zeros((len(support), n))
    full[:, support] = rows
    out[support] = full
    return out


def stationary(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """The stationary distribution of a transition matrix (the left eigenvector of 1)."""
    values, vectors = np.linalg.eig(p.T)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    out: NDArray[np.float64] = v / v.sum()
    return out
