"""Liveness and readiness; no key needed."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request

from api.problems import Problem, error_responses
from api.schemas_admin import Health, Ready
from matcher.store.revision import ping

router = APIRouter(tags=["health"], responses=error_responses(400, 413))


@router.get("/health", response_model=Health)
async def health() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=Ready, responses=error_responses(503))
def ready(request: Request) -> dict:
    """The store answers and the candidate index is loaded."""
    live = getattr(request.app.state, "live", None)
    serving = live.serving if live is not None else None
    if serving is None:
        raise Problem(503, "the candidate index is not loaded yet")
    try:
        ping(request.app.state.db)
    except sa.exc.SQLAlchemyError as exc:
        raise Problem(503, f"the store is not reachable: {type(exc).__name__}") from exc
    return {"status": "ready", "candidates": len(serving.engine.index),
            "model_id": str(serving.engine.scorer.model_id), "index_built_at": serving.built_at,
            "model_refused": live.refused_reason}
