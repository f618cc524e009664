"""The advisors' web application: server-rendered French pages under ``/``, beside the JSON API.

``mount(app)`` adds the pages, their static files (``/static``, served by the app itself: no CDN)
and HTML error pages for web paths. Sign-in is by personal account (``reprise users``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import errors
from api.web.render import HERE


def mount(app: FastAPI) -> None:
    from api.web.routes import candidate, case, dashboard, model, outcomes, signin

    for module in (case, dashboard, outcomes, candidate, signin, model):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    errors.install(app)
