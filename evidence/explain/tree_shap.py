"""Path-dependent Tree SHAP on all cores: the numba kernel over tree_paths' leaves. Django-free."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from .tree_paths import _ensemble_leaves

# For one leaf, path-dependent Tree SHAP plays a game whose players are the distinct features on
# the leaf's path: a coalition S is worth v * prod(o_j for j in S) * prod(z_j for j not in S), where
# o_j says whether the row follows the path's splits on feature j and z_j is the share of training
# cover that follows them. The Shapley values of that game depend on the row only through the
# pattern of o (one bit per feature), so for short paths they are tabulated once per leaf and looked
# up per row; longer paths are computed per row. Either way the cost is a polynomial product and one
# division per feature, as in Lundberg et al.'s algorithm, and rows are split across all cores.

TABLE_MAX_FEATURES = 8  # paths with at most this many distinct features get a table of 2**d patterns
TABLE_BUDGET = 4_000_000  # floats of tables held at once


def _tree_shap(ensemble: Any, column: int, X: np.ndarray) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features) of one output of shap's TreeEnsemble, and its expected value."""
    leaves = _ensemble_leaves(ensemble, column)
    weights = _shapley_weights(int(leaves["length"].max(initial=0)))
    # Feature-major arrays: the inner loop walks rows, so it reads and writes contiguous memory.
    X_t, phi_t = np.ascontiguousarray(X.T), np.zeros((X.shape[1], X.shape[0]))
    blocks = max(1, numba.get_num_threads() * 4)
    arrays = [leaves[name] for name in ("value", "start", "length", "feature", "lo", "hi", "nan_ok", "zero")]
    for first, last, starts, size in _table_groups(leaves["length"]):
        table = np.zeros(size)
        _build_tables(
            first, last, leaves["value"], leaves["start"], leaves["length"], leaves["zero"], starts, weights, table
        )
        _accumulate(X_t, phi_t, first, last, *arrays, starts, weights, table, blocks)
    expected = float(np.sum(leaves["value"] * leaves["cover"]))
    return phi_t.T, expected


def _shapley_weights(max_players: int) -> np.ndarray:
    """weights[d, s]: the Shapley weight s! (d - 1 - s)! / d! of a coalition of s among d players."""
    weights = np.zeros((max_players + 1, max(max_players, 1)))
    for d in range(1, max_players + 1):
        for s in range(d):
            weights[d, s] = 1.0 / (d * math.comb(d - 1, s))
    return weights


def _table_groups(lengths: np.ndarray) -> list[tuple[int, int, np.ndarray, int]]:
    """Runs of consecutive leaves whose tables fit the budget: (first, last, table starts, size)."""
    sizes = np.where((lengths > 0) & (lengths <= TABLE_MAX_FEATURES), lengths * (2 ** np.minimum(lengths, 62)), 0)
    starts = np.full(len(lengths), -1, dtype=np.int64)
    groups, first, used = [], 0, 0
    for leaf, size in enumerate(sizes):
        if used + size > TABLE_BUDGET and leaf > first:
            groups.append((first, leaf, starts.copy(), used))
            first, used = leaf, 0
        if size:
            starts[leaf] = used
            used += int(size)
    groups.append((first, len(lengths), starts, used))
    return groups


@numba.njit(cache=True)
def _pattern_shap(
    zero: np.ndarray,
    start: int,
    d: int,
    agree: np.ndarray,
    w: np.ndarray,
    coef: np.ndarray,
    quot: np.ndarray,
    out: np.ndarray,
) -> None:
    """Shapley values of one leaf's game (unit leaf value) for one pattern of agreement.

    The coalition values are products over the path features: (o_j or z_j). With A the features
    the row agrees with and B the rest, player i's value is (o_i - z_i) * prod(z_B without i) *
    sum_s w(s, d) * e_s, where e_s are the coefficients of prod over A without i of (z_j + t).
    """
    coef[0] = 1.0
    m = 0
    zero_b = 1.0
    for k in range(d):
        z = zero[start + k]
        if agree[k]:
            coef[m + 1] = coef[m]
            for s in range(m, 0, -1):
                coef[s] = coef[s] * z + coef[s - 1]
            coef[0] *= z
            m += 1
        else:
            zero_b *= z
    outside = 0.0
    for s in range(m + 1):
        outside += w[s] * coef[s]
    for k in range(d):
        z = zero[start + k]
        if not agree[k]:
            out[k] = -zero_b * outside  # (0 - z_k) * prod(z_B without k) == -prod(z_B)
            continue
        # Dividing by (z + t) from the top term down only ever multiplies errors by z <= 1.
        quot[m - 1] = coef[m]
        for s in range(m - 1, 0, -1):
            quot[s - 1] = coef[s] - z * quot[s]
        inside = 0.0
        for s in range(m):
            inside += w[s] * quot[s]
        out[k] = (1.0 - z) * zero_b * inside


@numba.njit(cache=True, parallel=True)
def _build_tables(
    first: int,
    last: int,
    value: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    zero: np.ndarray,
    table_start: np.ndarray,
    weights: np.ndarray,
    table: np.ndarray,
) -> None:
    """Per tabulated leaf, for each path feature k and pattern p: table[start + k * 2**d + p] is the
    leaf's value times feature k's Shapley value when the row agrees with the path as p says."""
    players = weights.shape[0]
    for leaf in numba.prange(first, last):
        offset, d = table_start[leaf], length[leaf]
        if offset < 0:
            continue
        agree, coef, quot, out = np.empty(d, np.bool_), np.empty(players + 1), np.empty(players + 1), np.empty(d)
        for pattern in range(1 << d):
            for k in range(d):
                agree[k] = (pattern >> k) & 1 == 1
            _pattern_shap(zero, start[leaf], d, agree, weights[d], coef, quot, out)
            for k in range(d):
                table[offset + (k << d) + pattern] = value[leaf] * out[k]


@numba.njit(cache=True)
def _agrees(x: float, lo: float, hi: float, nan_ok: bool) -> bool:
    return nan_ok if np.isnan(x) else (lo < x and x <= hi)


@numba.njit(cache=True)
def _add_tabulated(X_t, phi_t, begin, end, s0, d, offset, feature, lo, hi, nan_ok, table, pattern):  # noqa: ANN001
    """One leaf's values for a block of rows: the agreement pattern of every row first (a loop the
    compiler vectorises), then one table column per feature."""
    pattern[: end - begin] = 0
    for k in range(d):
        f, low, high, missing = feature[s0 + k], lo[s0 + k], hi[s0 + k], nan_ok[s0 + k]
        for r in range(begin, end):
            if _agrees(X_t[f, r], low, high, missing):
                pattern[r - begin] |= 1 << k
    for k in range(d):
        f, column = feature[s0 + k], offset + (k << d)
        for r in range(begin, end):
            phi_t[f, r] += table[column + pattern[r - begin]]


@numba.njit(cache=True)
def _add_computed(X_t, phi_t, begin, end, s0, d, v, feature, lo, hi, nan_ok, zero, w, scratch):  # noqa: ANN001
    """One leaf with too long a path to tabulate: its game solved row by row."""
    agree, coef, quot, out = scratch
    for r in range(begin, end):
        for k in range(d):
            agree[k] = _agrees(X_t[feature[s0 + k], r], lo[s0 + k], hi[s0 + k], nan_ok[s0 + k])
        _pattern_shap(zero, s0, d, agree, w, coef, quot, out)
        for k in range(d):
            phi_t[feature[s0 + k], r] += v * out[k]


@numba.njit(cache=True, parallel=True)
def _accumulate(
    X_t: np.ndarray,
    phi_t: np.ndarray,
    first: int,
    last: int,
    value: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    feature: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    nan_ok: np.ndarray,
    zero: np.ndarray,
    table_start: np.ndarray,
    weights: np.ndarray,
    table: np.ndarray,
    blocks: int,
) -> None:
    """Adds every leaf's Shapley values to every row's; rows are split in blocks across threads and
    each block walks the leaves in the same order, so a row's sums never depend on its block."""
    n = X_t.shape[1]
    players = weights.shape[0]
    for block in numba.prange(blocks):
        begin, end = block * n // blocks, (block + 1) * n // blocks
        pattern = np.empty(end - begin, np.int64)
        scratch = (np.empty(players, np.bool_), np.empty(players + 1), np.empty(players + 1), np.empty(players))
        for leaf in range(first, last):
            d, s0, offset = length[leaf], start[leaf], table_start[leaf]
            if d == 0 or value[leaf] == 0.0:
                continue
            if offset >= 0:
                _add_tabulated(X_t, phi_t, begin, end, s0, d, offset, feature, lo, hi, nan_ok, table, pattern)
            else:
                w = weights[d]
                _add_computed(X_t, phi_t, begin, end, s0, d, value[leaf], feature, lo, hi, nan_ok, zero, w, scratch)
