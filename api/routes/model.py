"""The ranker in use, and picking up a newly promoted one without a restart."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from api.deps import AdminDep, AuditDep, LiveDep, PrincipalDep
from api.live_engine import Serving
from api.problems import API_ERRORS, Problem, error_responses
from api.schemas_admin import ModelCard
from matcher.ranking.score import TransparentScorer
from matcher.store import audit_log

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/model", tags=["model"], responses=API_ERRORS)


def card(serving: Serving, previous: str | None = None) -> dict:
    scorer = serving.engine.scorer
    kind = "transparent" if scorer.model_id == TransparentScorer.model_id else "learned"
    return {"model_id": str(scorer.model_id), "kind": kind, "card": dict(scorer.card),
            "candidates": len(serving.engine.index),
            "index_built_at": serving.built_at, "previous_model_id": previous}


@router.get("", response_model=ModelCard, response_model_exclude_none=True)
def get_model(principal: PrincipalDep, live: LiveDep) -> dict:
    """The ranker in use and its card (the transparent scorer's weights when no model is promoted)."""
    return card(live.serving)


@router.post("/reload", response_model=ModelCard, responses=error_responses(409))
async def reload_model(principal: AdminDep, live: LiveDep, audit: AuditDep) -> dict:
    """Load the currently promoted model (admin). On failure the previous ranker keeps serving."""
    # it waits for a rebuild in progress and writes an audit row: outside the request pool
    return await live.waited(_reload, principal, live, audit)


def _reload(principal, live, audit) -> dict:
    try:
        previous, serving = live.reload_model()
    except Exception as exc:  # whatever the registry raises, keep serving the current ranker
        log.exception("model reload failed")
        raise Problem(409, f"the promoted model could not be loaded ({type(exc).__name__}: {exc}); "
                           f"still serving {live.engine.scorer.model_id}") from exc
    log.info("ranker reloaded: %s -> %s (key %s)", previous, serving.engine.scorer.model_id, principal.key_id)
    audit.record(principal.key_id, None, audit_log.RELOAD_MODEL, str(serving.engine.scorer.model_id))
    return card(serving, previous)
