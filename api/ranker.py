"""The ranker in use: the promoted model from the registry, else the transparent scorer."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
from typing import Any

from matcher.compare import CANDIDATE_FEATURES, EMPLOYEE_FEATURES
from matcher.rank import CANDIDATE_WEIGHTS, EMPLOYEE_WEIGHTS, Scorer, TransparentScorer

log = logging.getLogger(__name__)


def load_scorer(models_dir: Path) -> Scorer:
    """The promoted model (``matcher.registry.current_scorer``), or the transparent scorer.

    Works whether or not ``matcher.registry`` exists; errors of the registry itself (e.g. a
    checksum that does not match) propagate, so a tampered model is never used silently.
    """
    if importlib.util.find_spec("matcher.registry") is None:
        return TransparentScorer()
    registry = importlib.import_module("matcher.registry")
    scorer = registry.current_scorer(Path(models_dir))
    return scorer if scorer is not None else TransparentScorer()


def promoted_model_id(models_dir: Path) -> str:
    """The id of the model that should be serving ("transparent" when none is promoted)."""
    if importlib.util.find_spec("matcher.registry") is None:
        return TransparentScorer.model_id
    registry = importlib.import_module("matcher.registry")
    return registry.promoted_id(Path(models_dir)) or TransparentScorer.model_id


def model_card(scorer: Scorer) -> dict[str, Any]:
    """``model_id``, ``kind`` and ``card`` of a scorer."""
    card = getattr(scorer, "card", None)
    if card is not None and not isinstance(scorer, TransparentScorer):
        return {"model_id": str(scorer.model_id), "kind": "learned", "card": dict(card)}
    return {"model_id": str(scorer.model_id), "kind": "transparent", "card": {
        "description": "weighted sum of features with documented weights; each option's score is "
                       "the sum of its features' contributions",
        "candidate_features": list(CANDIDATE_FEATURES),
        "candidate_weights": dict(CANDIDATE_WEIGHTS),
        "employee_features": list(EMPLOYEE_FEATURES),
        "employee_weights": dict(EMPLOYEE_WEIGHTS),
    }}
