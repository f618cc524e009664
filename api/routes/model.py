"""The ranker in use, and picking up a newly promoted one without a restart."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from ..deps import AdminDep, LiveDep, PrincipalDep
from ..live_engine import Serving
from ..problems import API_ERRORS, Problem, error_responses
from ..ranker import model_card
from ..schemas_admin import ModelCard

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/model", tags=["model"], responses=API_ERRORS)


def card(serving: Serving, previous: str | None = None) -> dict:
    return {**model_card(serving.engine.scorer), "candidates": len(serving.engine.index),
            "index_built_at": serving.built_at, "previous_model_id": previous}


@router.get("", response_model=ModelCard, response_model_exclude_none=True)
def get_model(principal: PrincipalDep, live: LiveDep) -> dict:
    """The ranker in use and its card (the transparent scorer's weights when no model is promoted)."""
    return card(live.serving)


@router.post("/reload", response_model=ModelCard, responses=error_responses(409))
def reload_model(principal: AdminDep, live: LiveDep) -> dict:
    """Load the currently promoted model (admin). On failure the previous ranker keeps serving."""
    try:
        previous, serving = live.reload_model()
    except Exception as exc:  # whatever the registry raises, keep serving the current ranker
        log.exception("model reload failed")
        raise Problem(409, f"the promoted model could not be loaded ({type(exc).__name__}: {exc}); "
                           f"still serving {live.engine.scorer.model_id}") from exc
    log.info("ranker reloaded: %s -> %s (key %s)", previous, serving.engine.scorer.model_id, principal.key_id)
    return card(serving, previous)
