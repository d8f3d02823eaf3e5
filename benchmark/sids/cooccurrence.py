"""Item embeddings from co-occurrence in training histories, for catalogs without item text.

KuaiSAR-style logs publish anonymised ids only, so a text encoder has nothing to read. Items are embedded
instead from how they co-occur in the training sequences (``history + [target]`` of each training impression):

    C[i, j]   = number of times i and j occur together in a training sequence (i != j)
    PPMI[i,j] = max(0, log(C[i, j] * C_total / (C[i, :] C[:, j])))          (Levy & Goldberg, 2014)
    E         = U_d sqrt(S_d)   from a seeded randomized truncated SVD of PPMI (Halko et al., 2011)

rows L2-normalised. Only training data is read, so test items leak nothing. Items that never co-occur with
another item carry no signal; they get seeded random unit vectors (and mostly land in distinct SIDs).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)


def training_sequences(train: Any) -> np.ndarray:
    """(R, M) int64 matrix of ``history + [target]`` per training row, right-padded with -1."""
    histories = train["history"].tolist()
    targets = train["target"].to_numpy()
    width = 1 + max((len(h) for h in histories), default=0)
    seqs = np.full((len(histories), width), -1, dtype=np.int64)
    for r, (history, target) in enumerate(zip(histories, targets)):
        seqs[r, : len(history)] = history
        seqs[r, len(history)] = target
    return seqs


def histories_digest(train: Any) -> str:
    """sha256 of the training sequences: the co-occurrence embeddings are a function of these alone."""
    seqs = training_sequences(train)
    return hashlib.sha256(np.ascontiguousarray(seqs).tobytes() + str(seqs.shape).encode()).hexdigest()


def cooccurrence_counts(seqs: np.ndarray, n_items: int) -> sp.csr_matrix:
    """(n_items, n_items) symmetric co-occurrence counts, zero diagonal, from the (R, M) padded sequences."""
    rows, cols = [], []
    for offset in range(1, seqs.shape[1]):
        a, b = seqs[:, :-offset].ravel(), seqs[:, offset:].ravel()
        keep = (a >= 0) & (b >= 0) & (a != b)
        rows += [a[keep], b[keep]]
        cols += [b[keep], a[keep]]
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    data = np.ones(len(row), dtype=np.float64)
    return sp.csr_matrix((data, (row, col)), shape=(n_items, n_items))


def ppmi(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Positive pointwise mutual information of a symmetric count matrix (zero rows stay zero)."""
    counts = counts.tocoo()
    total = counts.sum()
    if total == 0:
        return sp.csr_matrix(counts.shape)
    marginal = np.asarray(counts.sum(axis=1)).ravel()
    pmi = np.log(counts.data * total / (marginal[counts.row] * marginal[counts.col]))
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=counts.shape)


def randomized_svd(
    matrix: sp.csr_matrix, rank: int, rng: np.random.Generator, oversample: int = 10, power_iters: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``rank`` left singular vectors (N, rank) and singular values (rank,), seeded (Halko et al.)."""
    n = matrix.shape[1]
    sketch = min(n, rank + oversample)
    q, _ = np.linalg.qr(matrix @ rng.standard_normal((n, sketch)))
    for _ in range(power_iters):
        q, _ = np.linalg.qr(matrix.T @ q)
        q, _ = np.linalg.qr(matrix @ q)
    u_small, s, _ = np.linalg.svd((matrix.T @ q).T, full_matrices=False)
    u = q @ u_small
    # Sign convention: the largest-magnitude entry of each component is positive, so the result does not
    # depend on the sign choices of the LAPACK build.
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
    signs[signs == 0] = 1.0
    return (u * signs)[:, :rank], s[:rank]


def cooccurrence_embeddings(train: Any, n_items: int, dim: int, seed: int) -> np.ndarray:
    """(n_items, min(dim, n_items)) float32 unit-norm embeddings from training co-occurrence (see above)."""
    rng = np.random.default_rng(seed)
    matrix = ppmi(cooccurrence_counts(training_sequences(train), n_items))
    rank = max(1, min(dim, n_items))
    u, s = randomized_svd(matrix, rank, rng)
    emb = u * np.sqrt(s)[None, :]
    norms = np.linalg.norm(emb, axis=1)
    cold = norms < 1e-12
    if cold.any():
        log.info(
            "%d of %d items never co-occur in training; they get seeded random directions",
            cold.sum(),
            n_items,
        )
        emb[cold] = rng.standard_normal((int(cold.sum()), emb.shape[1]))
        norms = np.linalg.norm(emb, axis=1)
    return (emb / norms[:, None]).astype(np.float32)
