"""For analysts: the ranker in use (its card) and the figures of the last evaluation report."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.routes.model import card
from api.web.access import MODEL_ROLES
from api.web.render import page
from api.web.session import signed_in
from matcher.learning.measures import METRICS
from matcher.learning.registry import Registry

router = APIRouter(include_in_schema=False)


@router.get("/modele")
def model(request: Request) -> Response:
    user = signed_in(request, roles=MODEL_ROLES)
    state = request.app.state
    info = card(state.live.serving)
    registry = Registry(state.settings.registry_dir())
    evaluation = registry.last_evaluation()
    return page(request, "model.html", {
        "title": "Modèle de classement", "nav": "model", "user": user, "info": info, "c": info["card"],
        "metrics": METRICS, "evaluation": evaluation, "history": registry.history()[-5:][::-1],
    })
