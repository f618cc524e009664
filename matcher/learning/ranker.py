"""The learned ranker: gradient-boosted trees on graded relevance, explained by tree paths.

``LearnedRanker`` follows the scikit-learn estimator contract (parameters stored verbatim,
learned state ending in ``_``, ``fit`` returns ``self``): ``predict(X)`` gives scores in [0, 1]
and ``predict_contributions(X)`` the per-feature contributions that add up to them exactly. A
stored model serves through :class:`matcher.learning.scorer.LearnedScorer`, which holds its id
and card and implements the engine's ``Scorer``.

Contributions are path attributions (Saabas): every node of every tree holds the mean output
of the training pairs that reached it; walking a pair from the root to its leaf, each split
moves the output by (child mean - node mean), credited to the split's feature. The sum over
the path telescopes to leaf - root, so baseline (the boosting intercept plus every root mean)
+ contributions = the model's raw prediction. When that prediction falls outside [0, 1], the
feature contributions are scaled down together so the score is clipped and still adds up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor

# Private but stable since 0.21; the registry refuses models made with another scikit-learn version
# and the tests check that the attributions add up to the booster's own predictions.
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from matcher.learning.leaves import LeafFinder
from matcher.learning.reachable import ReachableMax
from matcher.ranking.compare import FEATURES

BASELINE = "baseline"
# Row bounds from cheap to tight: (slices; what becomes of the features with many thresholds, most
# first: "sliced", "exact" (at their bin); those not named are left free). The first is cheap for
# tens of thousands of rows; the next, for the few thousand left, costs a quarter of their scores.
BOUND_LEVELS = ((8, ("sliced",)), (16, ("sliced", "exact")))
SMALL_FIT = 100_000  # below this many pairs, fit on one thread unless n_threads says otherwise


class LearnedRanker(BaseEstimator):
    """HistGradientBoostingRegressor on relevance grade / ``max_grade``, with path attributions.

    Parameters are those of the booster (``max_iter``, ``learning_rate``, ``max_leaf_nodes``,
    ``min_samples_leaf``, ``l2_regularization``, ``random_state``), ``max_grade``, the grade
    that maps to a score of 1 (4 = takeover), and ``n_threads`` for fitting (None = one thread
    below ``SMALL_FIT`` pairs, all cores above; 1 is faster on a busy machine). Scoring always
    walks the trees on one thread: the engine parallelises across queries.
    """

    def __init__(self, *, max_iter: int = 150, learning_rate: float = 0.1, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 0.0, max_grade: float = 4.0,
                 random_state: int | None = 0, n_threads: int | None = None) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_grade = max_grade
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X, y, sample_weight=None) -> LearnedRanker:
        """Fit on features ``X`` (n, F) and relevance grades ``y`` (0 .. max_grade)."""
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        X = _as_matrix(X)
        y = np.asarray(y, dtype=np.float64)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} grades for {len(X)} rows of X")
        if self.max_grade <= 0:
            raise ValueError(f"max_grade={self.max_grade!r} must be > 0")
        if len(y) and (y.min() < 0 or y.max() > self.max_grade):
            raise ValueError(f"grades must lie in [0, {self.max_grade}]; got {y.min()} .. {y.max()}")
        booster = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            early_stopping=False, random_state=self.random_state)
        # small fits gain nothing from threads and lose a lot when the cores are busy
        threads = self.n_threads if self.n_threads is not None else (1 if len(X) < SMALL_FIT else None)
        with threadpool_limits(threads, user_api="openmp"):
            booster.fit(X, y / self.max_grade, sample_weight=sample_weight)
        self.model_ = booster
        self.n_features_in_ = X.shape[1]
        self.baseline_, self.leaf_paths_, self.leaf_predictors_ = _attribution_tables(booster, X.shape[1])
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the contribution columns of ``predict_contributions``: the input features, then ``baseline``."""
        check_is_fitted(self)
        if input_features is not None:
            names = list(input_features)
        elif hasattr(self, "feature_names_in_"):
            names = list(self.feature_names_in_)
        elif self.n_features_in_ == len(FEATURES):
            names = list(FEATURES)
        else:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        if len(names) != self.n_features_in_:
            raise ValueError(f"input_features has {len(names)} names; the ranker was fitted on "
                             f"{self.n_features_in_} features")
        return np.asarray([*names, BASELINE], dtype=object)

    def raw_contributions(self, X) -> np.ndarray:
        """(n, F) path attributions of the unclipped prediction (baseline not included)."""
        return self._paths(self._leaves(X)[0])

    def _leaves(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(n, trees) global leaf numbers of the rows and (n,) the sums of their values."""
        check_is_fitted(self)
        X = np.ascontiguousarray(_as_matrix(X))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; the ranker was fitted on {self.n_features_in_}")
        finder = self._leaf_finder()
        if not np.isnan(X).any():  # every tree at once (see matcher.learning.leaves)
            leaves = finder.leaves(X)
        else:  # a missing value follows each split's own default: the booster's walk
            leaves = np.empty((len(X), len(self.leaf_predictors_)), dtype=np.int64)
            no_cats, f_map = np.zeros((0, 8), dtype=np.uint32), np.zeros(X.shape[1], dtype=np.uint32)
            for j, tree in enumerate(self.leaf_predictors_):  # compiled walk; returns leaf numbers
                leaves[:, j] = tree.predict(X, no_cats, f_map, 1)
        return leaves, finder.leaf_values[leaves].sum(axis=1)

    def _paths(self, leaves: np.ndarray) -> np.ndarray:
        """(n, F) path attributions of rows reaching ``leaves`` (global numbers, one per tree)."""
        n, trees = leaves.shape
        hits = sparse.csr_matrix((np.ones(n * trees), leaves.ravel(), np.arange(0, n * trees + 1, trees)),
                                 shape=(n, len(self.leaf_paths_)))
        return np.asarray(hits @ self.leaf_paths_)

    @property
    def bound_levels(self) -> int:
        return len(BOUND_LEVELS)

    def score_bounds(self, X, level: int = 0) -> np.ndarray:
        """Per row, an upper bound of its score: each tree's largest leaf given the row's features
        with few distinct thresholds and a slice of the values of the one with the most
        (``reachable.ReachableMax``); from ``level`` 1 on, tighter (more features taken at their
        value, finer slices) for more work. Rows sharing those share their bound, so a pass
        costs a fraction of its scoring."""
        X = _rows(X)
        if np.isnan(X).any():
            return np.ones(len(X))
        levels = self.__dict__.get("_reachable")
        if levels is None:
            finder = self._leaf_finder()
            exact = [finder.features[i] for i in finder.grouped]
            many = [finder.features[i] for i in sorted(finder.single, key=lambda i: -len(finder.bins[i]))]
            tables = [pred.nodes for (pred,) in self.model_._predictors]
            levels = self.__dict__["_reachable"] = [
                ReachableMax(tables, exact + [f for f, r in zip(many, roles) if r == "exact"],
                             [f for f, r in zip(many, roles) if r == "sliced"], slices)
                for slices, roles in BOUND_LEVELS]
        base = float(np.ravel(self.model_._baseline_prediction)[0])  # the booster's, before any tree
        return np.clip(base + levels[level].bounds(X), 0.0, 1.0)

    def plain_scores(self, X) -> np.ndarray:
        """Scores in [0, 1] from the leaves' values alone: the booster's baseline plus each
        tree's leaf value, clipped (``predict`` up to the order of the sums, without the paths
        the contributions need)."""
        X = np.ascontiguousarray(_as_matrix(X))
        if np.isnan(X).any():
            sums = self._leaves(X)[1]
        else:
            sums = self._leaf_finder().leaves(X, values=True).sum(axis=1)
        base = float(np.ravel(self.model_._baseline_prediction)[0])
        return np.clip(base + sums, 0.0, 1.0)

    def _leaf_finder(self) -> LeafFinder:
        finder = self.__dict__.get("_finder")  # derived from the trees, built once per process
        if finder is None:
            finder = self.__dict__["_finder"] = LeafFinder(self.model_._predictors, self.n_features_in_)
        return finder

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        return {k: v for k, v in state.items() if k not in ("_finder", "_reachable")}

    def predict_contributions(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Scores (n,) in [0, 1] and contributions (n, F + 1) adding up to them, the last column
        the baseline (columns named by ``get_feature_names_out``)."""
        return self._options(self.raw_contributions(X))

    def _options(self, contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = float(np.clip(self.baseline_, 0.0, 1.0))
        moved = contrib.sum(axis=1)
        raw = self.baseline_ + moved
        wanted = np.clip(raw, 0.0, 1.0) - base
        factor = np.divide(wanted, moved, out=np.ones_like(moved), where=moved != 0)
        contrib *= factor[:, None]
        out = np.empty((len(contrib), contrib.shape[1] + 1), dtype=np.float64)
        out[:, :-1] = contrib
        out[:, -1] = base
        return out.sum(axis=1), out

    def predict(self, X) -> np.ndarray:
        """Scores in [0, 1] (higher = better option)."""
        return self.predict_contributions(X)[0]


def _rows(X) -> np.ndarray:
    """Feature rows as they come (float32 rows are not copied: the bounds compare them exactly)."""
    X = np.asarray(X)
    return X if X.dtype in (np.float32, np.float64) and X.ndim == 2 else _as_matrix(X)


def _as_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D feature matrix; got shape {X.shape}")
    return X


def _attribution_tables(booster: HistGradientBoostingRegressor, n_features: int):
    """Intercept + root means, each leaf's path contributions (n_leaves, F), and per-tree copies
    of the booster's predictors whose leaves output their leaf number instead of a value."""
    tables = [pred.nodes for (pred,) in booster._predictors]
    sizes = np.array([len(nodes) for nodes in tables], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    nodes = np.concatenate(tables)
    if np.any(nodes["is_categorical"] & ~nodes["is_leaf"].astype(bool)):
        raise ValueError("categorical splits are not supported by the path attributions")
    shift = np.repeat(offsets, sizes)
    leaf = nodes["is_leaf"].astype(bool)
    inner = np.flatnonzero(~leaf)
    left = nodes["left"][inner].astype(np.int64) + shift[inner]
    right = nodes["right"][inner].astype(np.int64) + shift[inner]
    parent = np.full(len(nodes), -1, dtype=np.int64)
    parent[left], parent[right] = inner, inner
    count, depth = nodes["count"].astype(np.float64), nodes["depth"].astype(np.int64)
    mean = nodes["value"].astype(np.float64).copy()
    for d in range(int(depth.max()) - 1, -1, -1):  # a node's mean: its children's, weighted by count
        at = depth[inner] == d
        i, cl, cr = inner[at], count[left[at]], count[right[at]]
        mean[i] = (cl * mean[left[at]] + cr * mean[right[at]]) / np.maximum(cl + cr, 1.0)
    feature = nodes["feature_idx"].astype(np.int64)
    path = np.zeros((len(nodes), n_features))
    for d in range(1, int(depth.max()) + 1):  # a node's path: its parent's, plus the split's move
        i = np.flatnonzero(depth == d)
        p = parent[i]
        path[i] = path[p]
        path[i, feature[p]] += mean[i] - mean[p]
    leaf_number = np.cumsum(leaf) - 1
    predictors = []
    for (pred,), off, size in zip(booster._predictors, offsets, sizes):
        numbered = pred.nodes.copy()
        numbered["value"] = np.where(numbered["is_leaf"], leaf_number[off:off + size], 0)
        predictors.append(TreePredictor(numbered, pred.binned_left_cat_bitsets, pred.raw_left_cat_bitsets))
    intercept = float(booster._baseline_prediction.ravel()[0] + mean[offsets].sum())
    return intercept, path[leaf], predictors
