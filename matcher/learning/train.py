"""Training a ranker on recorded outcomes: the split, the fit, the held-out comparison, the card
written beside the model, and the promotion policy (promote only a model that beats the one
serving on held-out NDCG@10, unless forced)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine as DbEngine

from matcher.errors import NothingToLearn
from matcher.learning.pairs import (
    UNLABELLED_RATIO,
    UNLABELLED_WEIGHT,
    Pairs,
    best_grades,
    evaluate_scorer,
    ranking_pairs,
    split_companies,
    training_pairs,
)
from matcher.learning.ranker import LearnedRanker
from matcher.learning.scorer import LearnedScorer
from matcher.ranking.compare import FEATURES
from matcher.ranking.engine import Engine
from matcher.ranking.score import Scorer, TransparentScorer
from matcher.store.records import company_rows

log = logging.getLogger(__name__)
PROMOTION_METRIC = "ndcg@10"


@dataclass
class TrainResult:
    """A fitted ranker and how it compares with the other scorers on held-out companies."""

    ranker: LearnedRanker
    metrics: dict[str, dict[str, float]]  # "new", "transparent" and, when one is promoted, "current"
    train: Pairs
    heldout: Pairs
    test_sirens: list[str]
    options: dict[str, Any]
    current_id: str | None = None

    def card(self) -> dict[str, Any]:
        """The model card's training fields (the registry adds id, date, versions and checksum);
        the fields are described in ``models/card.schema.json``."""
        card = {
            "model": "LearnedRanker: HistGradientBoostingRegressor on graded relevance, tree-path attributions",
            "features": list(FEATURES), "parameters": self.ranker.get_params(),
            "training": {**self.options, "training_data_sha256": self.train.sha256(), **self.train.stats,
                         "pairs": len(self.train), "heldout_companies": len(self.test_sirens),
                         "heldout_pairs": len(self.heldout), "heldout_sirens": self.test_sirens,
                         "labelled_not_considered": self.heldout.stats.get("labelled_not_considered", 0)},
            "metrics": self.metrics["new"], "baseline": "transparent", "baseline_metrics": self.metrics["transparent"],
        }
        if self.current_id is not None and "current" in self.metrics:
            card["current_model"] = {"id": self.current_id, "metrics": self.metrics["current"]}
        return card


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def promotion(result: TrainResult, *, force: bool = False) -> Decision:
    """Promote the new model when it beats the serving one (the promoted model, else the
    transparent scorer) on held-out NDCG@10; ``force`` promotes it anyway, saying so."""
    rival = "current" if "current" in result.metrics else "transparent"
    rival_name = f"current ({result.current_id})" if rival == "current" else "transparent"
    new, old = result.metrics["new"][PROMOTION_METRIC], result.metrics[rival][PROMOTION_METRIC]
    if new > old:
        return Decision(True, f"held-out NDCG@10 {new:.4f} vs {old:.4f} ({rival_name})")
    if force:
        return Decision(True, f"held-out NDCG@10 {new:.4f} vs {old:.4f} ({rival_name}) [forced]")
    return Decision(False, f"held-out NDCG@10 {new:.4f} does not beat {old:.4f} of {rival_name}")


def train(engine: Engine, db: DbEngine, *, current: Scorer | None = None, seed: int = 0, test_size: float = 0.25,
          unlabelled_ratio: float = UNLABELLED_RATIO, unlabelled_weight: float = UNLABELLED_WEIGHT,
          params: dict[str, Any] | None = None) -> TrainResult:
    """Split the companies with outcomes, fit a ranker on the training ones, score every scorer
    on the held-out ones. ``current`` is the promoted learned scorer, if any."""
    grades = best_grades(db)
    if grades.empty:
        raise NothingToLearn("no outcomes in the store; import them with `reprise import outcomes FILE`")
    train_sirens, test_sirens = split_companies(grades, test_size=test_size, seed=seed)
    rows = {r["siren"]: r for r in company_rows(db, sorted(set(grades["siren"])))}
    missing = len(set(grades["siren"]) - set(rows))
    if missing:
        log.warning("%d companies named in outcomes are not stored; their outcomes are ignored", missing)

    def pick(sirens: list[str]) -> list[dict[str, Any]]:
        return [rows[s] for s in sirens if s in rows]

    train_pairs = training_pairs(engine, pick(train_sirens), grades, unlabelled_ratio=unlabelled_ratio,
                                 unlabelled_weight=unlabelled_weight, seed=seed)
    if not train_pairs.labelled.any():
        raise NothingToLearn("no outcome of the training companies names a stored candidate; nothing to learn from")
    ranker = LearnedRanker(**{"random_state": seed, **(params or {})})
    ranker.fit(train_pairs.X, train_pairs.grade, sample_weight=train_pairs.weight)
    heldout = ranking_pairs(engine, pick(test_sirens), grades)
    new = LearnedScorer(ranker, model_id="new")
    metrics = {"new": evaluate_scorer(new, heldout), "transparent": evaluate_scorer(TransparentScorer(), heldout)}
    current_id = None
    if current is not None and current.model_id != TransparentScorer.model_id:
        metrics["current"] = evaluate_scorer(current, heldout)
        current_id = current.model_id
    options = {"seed": seed, "test_size": test_size, "unlabelled_ratio": unlabelled_ratio,
               "unlabelled_weight": unlabelled_weight, "companies_missing": missing}
    return TrainResult(ranker, metrics, train_pairs, heldout, test_sirens, options, current_id)
