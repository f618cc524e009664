"""Which leaf each row reaches in every tree, for all trees at once (bit masks, no tree walk).

Walking 150 trees one call each costs ~0.25 µs per row and tree here: 15 ms for a query's 400
options. Instead, as in QuickScorer (Lucchese et al., SIGIR 2015): number each tree's leaves
left to right; a split that sends a row right rules out the leaves of its left subtree, a bit
mask; the row's leaf is the leftmost leaf no split of the tree ruled out. A split on feature f at
t sends x right when x > t, so for each feature the splits sorted by threshold, with the running
AND of their masks per tree, give the masks for any value by one binary search. A row's leaves
are then one AND over the features of those masks and a lowest-bit lookup. The leaves are
exactly the booster's (same comparisons), so scores and contributions are unchanged.

Two shortcuts keep the work per row small. A feature's masks depend only on which of its distinct
thresholds a value passes (its bin), and most features take a few values in a query's rows (NAF
levels, flags, a kind's readiness): rows are grouped by their bins of those features, the masks
ANDed once per group, and each row then ANDs only the features with many thresholds (proximity,
workforce, budget). With at most 16 leaves, the leftmost leaf left comes from a table of the
lowest set bit of every 16-bit mask.
"""

from __future__ import annotations

import numpy as np

MAX_LEAVES = 64  # one uint64 mask per tree at most
CHUNK = 2048
GROUP_BINS = 16  # a feature with at most this many bins is one digit of the rows' group


class LeafFinder:
    """Leaf numbers (global, tree by tree, as ``LearnedRanker.leaf_paths_`` counts them)."""

    def __init__(self, predictors: list, n_features: int) -> None:
        tables = [pred.nodes for (pred,) in predictors]
        self.n_trees, self.n_features = len(tables), n_features
        leaves_in = [int(t["is_leaf"].sum()) for t in tables]
        if max(leaves_in) > MAX_LEAVES:
            raise ValueError(f"trees with more than {MAX_LEAVES} leaves are not supported")
        self.first_leaf = np.r_[0, np.cumsum(leaves_in)[:-1]].astype(np.int64)
        width = max(leaves_in)
        # the narrowest mask that holds a tree's leaves: 15 leaves (the default) fit 16 bits, so
        # the masks of a few thousand rows stay in the CPU's cache
        self.dtype = next(t for t in (np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= width)
        splits: list[list[tuple[float, int, int]]] = [[] for _ in range(n_features)]
        self.in_order = []  # per tree: global leaf number of its k-th leaf from the left
        for tree, nodes in enumerate(tables):
            order, masks = _left_to_right(nodes)
            rank = {node: k for k, node in enumerate(order)}
            leaf_number = np.cumsum(nodes["is_leaf"].astype(np.int64)) - 1  # the booster's own numbering
            self.in_order.append(self.first_leaf[tree] + leaf_number[order])
            for node, mask in masks.items():
                keep = ((1 << 64) - 1) ^ _bits([rank[x] for x in mask])
                splits[int(nodes["feature_idx"][node])].append((float(nodes["num_threshold"][node]), tree, keep))
        self.features, self.thresholds, self.cum = [], [], []
        self.full = np.iinfo(self.dtype).max
        bits = np.iinfo(self.dtype).bits
        for f in range(n_features):
            if not splits[f]:
                continue
            splits[f].sort(key=lambda s: s[0])
            cum = np.full((len(splits[f]) + 1, self.n_trees), self.full, dtype=self.dtype)
            for k, (_, tree, keep) in enumerate(splits[f], start=1):
                cum[k] = cum[k - 1]
                cum[k, tree] &= self.dtype(keep & ((1 << bits) - 1))
            self.features.append(f)
            self.thresholds.append(np.array([s[0] for s in splits[f]]))
            self.cum.append(cum)
        self.leaf_table = np.zeros((self.n_trees, width), dtype=np.int64)
        for tree, numbers in enumerate(self.in_order):
            self.leaf_table[tree, :len(numbers)] = numbers
        values = np.concatenate([t["value"][t["is_leaf"].astype(bool)] for t in tables]).astype(np.float64)
        self.value_table = values[self.leaf_table]  # each tree's k-th leaf from the left: its value
        self.leaf_values = values  # by global leaf number
        self._by_bins()

    def _by_bins(self) -> None:
        """Per feature its distinct thresholds and its masks by bin (the masks of a value are
        those of the number of distinct thresholds below it); which features group the rows."""
        self.bins, self.bin_masks = [], []
        for thr, cum in zip(self.thresholds, self.cum):
            distinct = np.unique(thr)
            self.bins.append(distinct)
            self.bin_masks.append(cum[np.r_[0, np.searchsorted(thr, distinct, side="right")]])
        self.grouped, self.single, room = [], [], 1
        for i, distinct in enumerate(self.bins):
            radix = len(distinct) + 1
            if radix <= GROUP_BINS and room * radix < 2**62:
                self.grouped.append(i)
                room *= radix
            else:
                self.single.append(i)
        self.lowest = None
        if self.dtype == np.uint16:  # the position of the lowest set bit of every 16-bit mask
            masks = np.arange(1, 2**16, dtype=np.int64)
            self.lowest = np.zeros(2**16, dtype=np.uint8)
            self.lowest[1:] = np.log2(masks & -masks).astype(np.uint8)

    def _leftmost(self, part: np.ndarray) -> np.ndarray:
        """(len(part), n_trees) position of each row's leaf among its tree's leaves, from the left."""
        bins = [np.searchsorted(self.bins[i], part[:, self.features[i]], side="left") for i in range(len(self.bins))]
        if self.grouped:
            key = np.zeros(len(part), dtype=np.int64)
            for i in self.grouped:
                key = key * (len(self.bins[i]) + 1) + bins[i]
            _, first, group = np.unique(key, return_index=True, return_inverse=True)
            masks = np.full((len(first), self.n_trees), self.full, dtype=self.dtype)
            for i in self.grouped:
                masks &= self.bin_masks[i][bins[i][first]]
            mask = masks[group.ravel()]
        else:
            mask = np.full((len(part), self.n_trees), self.full, dtype=self.dtype)
        for i in self.single:
            mask &= self.bin_masks[i][bins[i]]
        if self.lowest is not None:
            return self.lowest[mask]
        lowest = mask & (~mask + self.dtype(1))  # the leftmost leaf left: lowest set bit
        return np.log2(lowest.astype(np.float64)).astype(np.int64)  # exact for powers of two

    def leaves(self, X: np.ndarray, *, values: bool = False) -> np.ndarray:
        """(n, n_trees) global leaf numbers (with ``values``, the leaves' values); rows must hold
        no NaN. Rows go in chunks so the masks stay in the cache."""
        out = np.empty((len(X), self.n_trees), dtype=np.float64 if values else np.int64)
        table = self.value_table if values else self.leaf_table
        trees = np.arange(self.n_trees)[None, :]
        for lo in range(0, len(X), CHUNK):
            out[lo:lo + CHUNK] = table[trees, self._leftmost(X[lo:lo + CHUNK])]
        return out


def _bits(positions: list[int]) -> int:
    out = 0
    for p in positions:
        out |= 1 << p
    return out


def _left_to_right(nodes) -> tuple[list[int], dict[int, list[int]]]:
    """The tree's leaves from left to right, and for each split the leaves of its left subtree."""
    order: list[int] = []
    masks: dict[int, list[int]] = {}

    def walk(node: int) -> list[int]:
        if nodes["is_leaf"][node]:
            order.append(node)
            return [node]
        left = walk(int(nodes["left"][node]))
        masks[node] = left
        return left + walk(int(nodes["right"][node]))

    walk(0)
    return order, masks
