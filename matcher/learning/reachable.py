"""The largest leaf each tree can reach when only some features of a row are known.

A row's leaf in a tree is the one whose path conditions its features meet. Knowing only some
features, the leaves left possible are those none of whose path conditions a known feature
breaks: a split on f at t rules out its left subtree when x_f > t and its right subtree when
x_f <= t. Number each tree's leaves by decreasing value: per feature, the distinct thresholds
cut its values into bins, and the leaves a bin rules out in every tree are one bit mask per
tree (the AND of the masks of the splits below the bin, for their left subtrees, and of those
from it up, for their right ones). The largest leaf still possible is then the lowest bit of
the AND over the known features, and the sum over the trees of those leaves bounds the row's
raw prediction. Never below it: the row's own leaf is among those left.

:class:`ReachableMax` bounds rows from the features with few bins (NAF levels, flags, a kind's
readiness, the employees' columns) taken at their bin, and from the slice of the bins the value of
a feature with many (the distance's proximity) lies in, the other features left free (or some
taken at their bin too, for a tighter bound): rows sharing those bins and slices share a bound,
so a pass of tens of thousands of rows costs one AND per group of rows and feature, not one per
row. A feature whose bin is the same in every row (a constant column) is applied once. Rows of
float32 are compared with the thresholds rounded down to float32, which a float32 value exceeds
exactly when it exceeds the threshold itself (the same bins, without converting the rows).
"""

from __future__ import annotations

import numpy as np

SLICES = 16  # slices of the bins of a feature with many thresholds


class ReachableMax:
    """Per row, an upper bound of the raw prediction (less the booster's baseline). The features
    of ``exact`` (indices into the rows) are taken at their bin; those of ``sliced``, at the slice
    of ``slices`` runs of their bins the row's value lies in; every other one is left free."""

    def __init__(self, tables: list, exact: list[int], sliced: list[int], slices: int = SLICES) -> None:
        self.n_trees = len(tables)
        width = max(int(t["is_leaf"].sum()) for t in tables)
        self.dtype = next(t for t in (np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= width)
        bits = np.iinfo(self.dtype).bits
        self.values = np.full((self.n_trees, bits), -np.inf)  # per tree, its leaves by decreasing value
        self.valid = np.zeros(self.n_trees, dtype=self.dtype)  # bits of each tree's leaves
        splits: dict[int, list[tuple[float, int, int, int]]] = {}
        for tree, nodes in enumerate(tables):
            leaves = np.flatnonzero(nodes["is_leaf"])
            by_value = leaves[np.argsort(-nodes["value"][leaves], kind="stable")]
            bit = {int(node): k for k, node in enumerate(by_value)}
            self.values[tree, :len(leaves)] = nodes["value"][by_value]
            self.valid[tree] = self.dtype((1 << len(leaves)) - 1)
            for node, (left, right) in _subtrees(nodes).items():
                splits.setdefault(int(nodes["feature_idx"][node]), []).append(
                    (float(nodes["num_threshold"][node]), tree, _mask(left, bit), _mask(right, bit)))
        self.flat_values = self.values.ravel()
        self.tree_offset = (np.arange(self.n_trees) * bits).astype(np.intp)
        full = int(np.iinfo(self.dtype).max)
        self.slices = slices
        self.exact, self.sliced = [], []  # (feature, distinct thresholds, masks by bin or by slice)
        for f in sorted(splits):
            distinct = np.unique([s[0] for s in splits[f]])
            # below[b]: the leaves a value in bin b or above rules out (left subtrees of the splits
            # under it); above[b]: those a value in bin b or below rules out (right subtrees)
            below = np.full((len(distinct) + 1, self.n_trees), full, dtype=self.dtype)
            above = below.copy()
            for t, tree, left, right in splits[f]:
                b = int(np.searchsorted(distinct, t))  # bins after b hold the values > t
                below[b + 1:, tree] &= self.dtype(full ^ left)
                above[:b + 1, tree] &= self.dtype(full ^ right)
            if f in exact:
                self.exact.append((f, _cuts(distinct), below & above))
            elif f in sliced:  # a value in slice c: the bins from its first to its last
                n = min(slices, len(below))
                first = -(-np.arange(n) * len(below) // n)
                last = np.maximum(first, -(-np.arange(1, n + 1) * len(below) // n) - 1)
                # a value's slice is the number of slices after the first whose first bin it
                # reaches (bin b needs b thresholds below the value; an empty slice repeats a cut)
                cuts = np.append(distinct, np.inf)[first[1:] - 1]
                self.sliced.append((f, _cuts(cuts), below[first] & above[last]))
        self.lowest = None
        if self.dtype == np.uint16:
            masks = np.arange(1, 2**16, dtype=np.int64)
            self.lowest = np.zeros(2**16, dtype=np.uint8)
            self.lowest[1:] = np.log2(masks & -masks).astype(np.uint8)

    def bounds(self, X: np.ndarray) -> np.ndarray:
        """(n,) for rows ``X`` (no NaN): each tree's largest leaf left possible, summed. A feature
        whose bin (or slice) is the same in every row is applied once."""
        X = np.asarray(X)
        if not len(X):
            return np.zeros(0)
        single = X.dtype == np.float32
        columns = np.ascontiguousarray(X.T)
        constant = columns.min(axis=1) == columns.max(axis=1)
        start = self.valid.copy()
        parts = []  # (bin or slice of each row, its masks), for the features that vary
        for f, both, table in (*self.exact, *self.sliced):
            column, cuts = columns[f], both[1 if single else 0]
            if constant[f]:
                start &= table[int(_bin(cuts, column[:1])[0])]
            else:
                parts.append((_bin(cuts, column), table))
        if not parts:
            return np.full(len(X), self._sum(start[None, :])[0])
        key, span = np.zeros(len(X), dtype=np.int32), 1
        room = 4 * len(X) + 64  # keys below this are grouped by counting
        for b, table in parts:
            if span * len(table) > room:  # number the groups so far
                key, span = _renumber(key, span)
            key = key * len(table) + b if span > 1 else b.astype(np.int32)
            span *= len(table)
        key, span = _renumber(key, span)
        first = np.empty(span, dtype=np.intp)
        first[key] = np.arange(len(key))  # any row of the group will do: the last one
        mask = np.broadcast_to(start, (span, self.n_trees)).copy()
        for b, table in parts:
            mask &= table[b[first]]
        return self._sum(mask)[key]

    def _sum(self, mask: np.ndarray) -> np.ndarray:
        """Per row of masks (one per tree), the sum of each tree's largest leaf left."""
        if self.lowest is not None:
            k = self.lowest[mask]
        else:
            k = np.log2((mask & (~mask + self.dtype(1))).astype(np.float64)).astype(np.int64)
        return self.flat_values[k + self.tree_offset].sum(axis=1)


def _bin(distinct: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per value, how many of the sorted ``distinct`` thresholds lie below it."""
    if len(distinct) <= 8:  # a few comparisons beat a binary search per value
        out = np.zeros(len(values), dtype=np.uint8)
        for t in distinct:
            out += values > t
        return out
    return np.searchsorted(distinct, values, side="left")


def _cuts(thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds for float64 values, and for float32 ones: each rounded down to a float32,
    below which a float32 value lies exactly when it lies below the threshold."""
    low = thresholds.astype(np.float32)
    above = low.astype(np.float64) > thresholds
    low[above] = np.nextafter(low[above], np.float32(-np.inf))
    return thresholds, low


def _renumber(key: np.ndarray, span: int) -> tuple[np.ndarray, int]:
    """Keys below ``span`` numbered 0, 1, ... in increasing order of the keys present."""
    present = np.bincount(key, minlength=span) > 0
    number = np.cumsum(present, dtype=np.int32) - 1
    return number[key], int(number[-1]) + 1


def _mask(leaves: list[int], bit: dict[int, int]) -> int:
    out = 0
    for leaf in leaves:
        out |= 1 << bit[leaf]
    return out


def _subtrees(nodes) -> dict[int, tuple[list[int], list[int]]]:
    """For each split, the leaves of its left subtree and of its right subtree."""
    out: dict[int, tuple[list[int], list[int]]] = {}

    def walk(node: int) -> list[int]:
        if nodes["is_leaf"][node]:
            return [node]
        left, right = walk(int(nodes["left"][node])), walk(int(nodes["right"][node]))
        out[node] = (left, right)
        return left + right

    walk(0)
    return out
