"""The leaves of shap's TreeEnsemble, their paths as per-feature intervals (numba). Django-free."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


def _ensemble_leaves(ensemble: Any, column: int) -> dict[str, np.ndarray]:
    """Every leaf of every tree, with its path's features as intervals, concatenated."""
    parts = []
    for t in range(ensemble.values.shape[0]):
        value = np.ascontiguousarray(ensemble.values[t, :, column], dtype=np.float64)
        if not value.any():  # a tree of another class, in a stacked multiclass model
            continue
        arrays = (
            ensemble.children_left[t],
            ensemble.children_right[t],
            ensemble.children_default[t],
            ensemble.features[t],
        )
        left, right, default, feature = (np.ascontiguousarray(a, dtype=np.int64) for a in arrays)
        threshold = np.ascontiguousarray(ensemble.thresholds[t], dtype=np.float64)
        weight = np.ascontiguousarray(ensemble.node_sample_weight[t], dtype=np.float64)
        depth = _tree_depth(left, right)
        parts.append(_tree_leaves(left, right, default, feature, threshold, weight, value, depth))
    names = ("value", "cover", "length", "feature", "lo", "hi", "nan_ok", "zero")
    leaves = {
        name: np.concatenate([part[i] for part in parts]) if parts else np.zeros(0) for i, name in enumerate(names)
    }
    leaves["length"] = leaves["length"].astype(np.int64)
    leaves["feature"] = leaves["feature"].astype(np.int64)
    leaves["nan_ok"] = leaves["nan_ok"].astype(np.bool_)
    leaves["start"] = np.concatenate([[0], np.cumsum(leaves["length"])[:-1]]).astype(np.int64)
    return leaves


@numba.njit(cache=True)
def _tree_depth(left: np.ndarray, right: np.ndarray) -> int:
    stack_node, stack_depth = np.empty(left.shape[0] + 1, np.int64), np.empty(left.shape[0] + 1, np.int64)
    stack_node[0], stack_depth[0], top, deepest = 0, 0, 1, 0
    while top > 0:
        top -= 1
        node, depth = stack_node[top], stack_depth[top]
        if left[node] >= 0:
            deepest = max(deepest, depth + 1)
            stack_node[top], stack_depth[top] = left[node], depth + 1
            stack_node[top + 1], stack_depth[top + 1] = right[node], depth + 1
            top += 2
    return deepest


@numba.njit(cache=True)
def _tree_leaves(
    left: np.ndarray,
    right: np.ndarray,
    default: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    depth: int,
) -> tuple[np.ndarray, ...]:
    """One tree's leaves: value, cover share, and per distinct path feature its interval
    (lo < x <= hi), whether a missing value follows the path, and its cover fraction."""
    n, width = left.shape[0], max(depth, 1)
    # The path's state at each depth: per distinct feature, its index in path_int and
    # (lo, hi, 1.0 if a missing value follows the path, cover fraction) in path.
    path_int = np.empty((depth + 1, width), np.int64)
    path = np.empty((depth + 1, width, 4))
    counts = np.zeros(depth + 1, np.int64)
    leaf_value, leaf_cover, leaf_length = np.empty(n), np.empty(n), np.empty(n, np.int64)
    entry_feature, entry = np.empty(n * width, np.int64), np.empty((n * width, 4))
    stack, parent_of = np.empty((n + 1, 3), np.int64), np.full(n, -1, np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, 0, 0
    top, leaves, entries = 1, 0, 0
    while top > 0:
        top -= 1
        node, d, went_left = stack[top, 0], stack[top, 1], stack[top, 2] == 1
        if d > 0:
            parent = parent_of[node]
            counts[d] = _follow(path_int, path, counts, d, parent, node, went_left, feature, threshold, default, weight)
        if left[node] >= 0:
            parent_of[left[node]], parent_of[right[node]] = node, node
            stack[top, 0], stack[top, 1], stack[top, 2] = right[node], d + 1, 0
            stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2] = left[node], d + 1, 1
            top += 2
            continue
        count = counts[d]
        leaf_value[leaves], leaf_length[leaves] = value[node], count
        entry_feature[entries : entries + count] = path_int[d, :count]
        entry[entries : entries + count] = path[d, :count]
        leaf_cover[leaves] = np.prod(path[d, :count, 3])
        leaves += 1
        entries += count
    return (
        leaf_value[:leaves],
        leaf_cover[:leaves],
        leaf_length[:leaves],
        entry_feature[:entries],
        entry[:entries, 0].copy(),
        entry[:entries, 1].copy(),
        entry[:entries, 2] == 1.0,
        entry[:entries, 3].copy(),
    )


@numba.njit(cache=True)
def _follow(
    path_int: np.ndarray,
    path: np.ndarray,
    counts: np.ndarray,
    d: int,
    parent: int,
    node: int,
    went_left: bool,
    feature: np.ndarray,
    threshold: np.ndarray,
    default: np.ndarray,
    weight: np.ndarray,
) -> int:
    """The path's state at depth d: its parent's, narrowed by the split from parent to node.
    A feature split on again keeps one row: the intersection of intervals, the product of covers."""
    count = counts[d - 1]
    path_int[d, :count] = path_int[d - 1, :count]
    path[d, :count] = path[d - 1, :count]
    slot = count
    for j in range(count):
        if path_int[d, j] == feature[parent]:
            slot = j
    if slot == count:
        path_int[d, slot] = feature[parent]
        path[d, slot, 0], path[d, slot, 1], path[d, slot, 2], path[d, slot, 3] = -np.inf, np.inf, 1.0, 1.0
        count += 1
    if went_left:
        path[d, slot, 1] = min(path[d, slot, 1], threshold[parent])
    else:
        path[d, slot, 0] = max(path[d, slot, 0], threshold[parent])
    if default[parent] != node:
        path[d, slot, 2] = 0.0
    path[d, slot, 3] *= weight[node] / weight[parent] if weight[parent] > 0 else 0.0
    return count
