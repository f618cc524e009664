"""A stored learned ranker serving the engine: the estimator with its registry id and card."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from matcher.learning.bound import TreeBound
from matcher.learning.ranker import LearnedRanker
from matcher.ranking.compare import FEATURES
from matcher.ranking.score import Scorer


class LearnedScorer(Scorer):
    """The engine's :class:`~matcher.ranking.score.Scorer` over a fitted :class:`LearnedRanker`.

    Its contributions end with the model's baseline; its score bound (:class:`TreeBound`) lets
    the engine skip candidates that provably cannot enter a list.
    """

    has_baseline = True

    def __init__(self, ranker: LearnedRanker, *, model_id: str, card: dict[str, Any] | None = None) -> None:
        self.ranker = ranker
        self.model_id = model_id
        self._card = dict(card or {})
        self.contribution_names = tuple(str(n) for n in ranker.get_feature_names_out())
        self._bound: TreeBound | None = None

    @property
    def bound(self) -> TreeBound | None:
        if self._bound is None and self.ranker.n_features_in_ == len(FEATURES):
            self._bound = TreeBound(self.ranker)
        return self._bound

    @property
    def card(self) -> dict[str, Any]:
        return self._card

    def score_bounds(self, X: np.ndarray) -> np.ndarray:
        """Upper bounds of the rows' scores, for a fraction of the cost of scoring them."""
        return self.ranker.score_bounds(X)

    @property
    def finer_bounds(self) -> tuple:
        """Tighter upper bounds than ``score_bounds``, each for more work per row, loosest first."""
        return tuple(partial(self.ranker.score_bounds, level=k) for k in range(1, self.ranker.bound_levels))

    def plain_scores(self, X: np.ndarray) -> np.ndarray:
        """The rows' scores without their contributions (equal to ``score_options``' up to the
        order of the sums), for a fraction of their cost."""
        return self.ranker.plain_scores(X)

    def score_options(self, X: np.ndarray, is_employees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the employees' rows are told apart by their own features
        return self.ranker.predict_contributions(X)
