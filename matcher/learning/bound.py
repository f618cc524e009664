"""A score bound for the learned ranker, so the engine keeps skipping what cannot rank.

The ranker's raw prediction is the booster's baseline plus one leaf value per tree. Given an
interval for each feature, a tree can only end in the leaves whose path conditions the interval
allows (left of a split on f at t needs lo_f <= t, right needs hi_f > t); the largest of those
leaf values, summed over the trees, bounds the raw prediction, and so the score (the raw
prediction clipped to [0, 1]).

A candidate with no link to the company's trade has known feature intervals (sector at most the
section level, 0.1; no declared interest, experience, value-chain tie, pole or partnership; the
employees' columns 0; urgency at most the procedure's; the others within [0, 1], or fixed by the
company where the feature is); its proximity is at most e^(-d/30) at distance d. So its bound is
a step function of distance, changing only at the trees' proximity thresholds: computed once per
kind of company (procedure, confidentiality, ...), for every threshold at once, it tells how
near such a candidate must be to reach a score. The same holds for candidates tied to the trade
by their own activity only: in the company's division (sector from the division level up) or in
a value-chain neighbour's (sector at most the section level, value chain 1). Exact: never
smaller than a score.
"""

from __future__ import annotations

import math

import numpy as np

from matcher.ranking.compare import FEATURES, PROCEDURE_URGENCY, PROXIMITY_SCALE_KM, SECTOR_LEVEL_VALUE, Query
from matcher.reference.value_chain import value_chain_matrix

_F = {name: j for j, name in enumerate(FEATURES)}
MARGIN_KM = 0.5  # float32 proximity and rounding: a candidate this much nearer is scored anyway
SCORE_EPS = 1e-9


class TreeBound:
    """The engine's ``ScoreBound`` for a fitted ``LearnedRanker`` (see the module's docstring)."""

    def __init__(self, ranker) -> None:
        booster = ranker.model_
        tables = [pred.nodes for (pred,) in booster._predictors]
        sizes = np.array([len(t) for t in tables], dtype=np.int64)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        nodes = np.concatenate(tables)
        shift = np.repeat(offsets, sizes)
        self.leaf = nodes["is_leaf"].astype(bool)
        self.value = nodes["value"].astype(np.float64)
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.depth = nodes["depth"].astype(np.int64)
        inner = np.flatnonzero(~self.leaf)
        self.parent = np.full(len(nodes), -1, dtype=np.int64)
        self.is_left = np.zeros(len(nodes), dtype=bool)
        left = nodes["left"][inner].astype(np.int64) + shift[inner]
        right = nodes["right"][inner].astype(np.int64) + shift[inner]
        self.parent[left], self.parent[right] = inner, inner
        self.is_left[left] = True
        self.leaves = np.flatnonzero(self.leaf)
        tree_of = np.repeat(np.arange(len(tables)), sizes)[self.leaves]
        self.tree_starts = np.flatnonzero(np.r_[True, tree_of[1:] != tree_of[:-1]])
        self.baseline = float(np.ravel(booster._baseline_prediction)[0])
        prox = _F["proximity"]
        self.prox_thresholds = np.unique(self.threshold[inner][self.feature[inner] == prox])
        self._steps: dict[tuple, np.ndarray] = {}

    def bounds(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Upper bounds of the score for feature boxes: ``lo`` (F,), ``hi`` (K, F); returns (K,)."""
        hi = np.atleast_2d(hi)
        reach = np.zeros((len(hi), len(self.value)), dtype=bool)
        reach[:, self.depth == 0] = True
        for d in range(1, int(self.depth.max()) + 1):
            at = np.flatnonzero(self.depth == d)
            p = self.parent[at]
            f, t = self.feature[p], self.threshold[p]
            ok = np.where(self.is_left[at], (lo[f] <= t)[None, :], hi[:, f] > t)
            reach[:, at] = reach[:, p] & ok
        vals = np.where(reach[:, self.leaves], self.value[self.leaves], -np.inf)
        raw = self.baseline + np.maximum.reduceat(vals, self.tree_starts, axis=1).sum(axis=1)
        return np.clip(raw, 0.0, 1.0)

    def _box(self, q: Query, trade: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Feature intervals of a candidate with no posting tying it to the company: unrelated to
        the trade (``trade`` None), or in its NAF division (``"own"``: sector from the division
        level up, the division's own value-chain tie), or in a value-chain neighbour's
        (``"neighbour"``: sector at most the section level, value chain 1), or in either
        (``"either"``: both free)."""
        lo, hi = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
        for name in ("proximity", "ess", "apprentices"):
            hi[_F[name]] = 1.0
        hi[_F["sector"]] = 1.0 if trade in ("own", "either") else float(SECTOR_LEVEL_VALUE[1])
        hi[_F["value_chain"]] = 1.0 if trade == "either" else 0.0
        lo[_F["sector"]] = float(SECTOR_LEVEL_VALUE[2]) if trade == "own" else 0.0
        if trade == "own":
            lo[_F["value_chain"]] = hi[_F["value_chain"]] = float(
                q.division >= 0 and value_chain_matrix()[q.division, q.division])
        elif trade == "neighbour":
            lo[_F["value_chain"]] = hi[_F["value_chain"]] = 1.0
        hi[_F["urgency"]] = PROCEDURE_URGENCY.get(q.procedure, 0.1)
        hi[_F["discretion"]] = 1.0 if q.confidential else 0.0
        if q.headcount:
            hi[_F["workforce"]] = 1.0
        else:  # fixed by the company (see compare.Workforce)
            lo[_F["workforce"]] = hi[_F["workforce"]] = 0.5 if q.headcount is None else 1.0
        if q.estimated_price():
            hi[_F["budget"]] = 1.0
        else:
            lo[_F["budget"]] = hi[_F["budget"]] = 0.5
        return lo, hi

    def _step(self, q: Query, trade: str | None) -> np.ndarray:
        """Score bounds with 0, 1, ..., B of the proximity thresholds below the candidate's proximity."""
        lo, hi = self._box(q, trade)
        key = (trade, *lo.tolist(), *hi.tolist())
        steps = self._steps.get(key)
        if steps is None:
            t = self.prox_thresholds
            tops = np.r_[t, max(1.0, float(t[-1]) + 1.0) if len(t) else 1.0]
            his = np.repeat(hi[None, :], len(tops), axis=0)
            his[:, _F["proximity"]] = tops  # the k-th has exactly k thresholds strictly below it
            steps = self._steps[key] = self.bounds(lo, his)
        return steps

    def _reach(self, q: Query, threshold: float, trade: str | None) -> float | None:
        steps = self._step(q, trade)
        below = np.flatnonzero(steps < threshold - SCORE_EPS)  # steps never decrease with proximity
        if not len(below) or below[0] != 0:
            return None  # even far away (proximity 0) such a candidate may reach the threshold
        k = int(below[-1])
        if k == len(steps) - 1:
            return 0.0  # none reaches it, even next door
        t = float(self.prox_thresholds[k])  # proximity at most t keeps it below: e^(-d/30) <= t
        return 0.0 if t >= 1.0 else -PROXIMITY_SCALE_KM * math.log(t) + MARGIN_KM

    def unlinked_reach_km(self, q: Query, threshold: float) -> float | None:
        return self._reach(q, threshold, trade=None)

    def trade_reach_km(self, q: Query, threshold: float, *, own_division: bool | None = None) -> float | None:
        trade = "either" if own_division is None else "own" if own_division else "neighbour"
        return self._reach(q, threshold, trade=trade)
