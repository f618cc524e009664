"""The FastAPI application: ``create_app()``; the store, index and ranker load in the lifespan.

Run it with ``reprise serve`` (uvicorn), or ``uvicorn --factory api.main:create_app``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from threadpoolctl import threadpool_limits

from api import web
from api.http_methods import HttpHygiene
from api.live_engine import LiveEngine
from api.params import known_query
from api.problems import RequestGuard, install_handlers, problem_openapi
from api.routes import candidates, companies, health, keys, matches, model, outcomes
from api.security import KeyCache
from matcher import store
from matcher.learning.registry import Registry
from matcher.reference.communes import load as load_communes
from matcher.settings import Settings
from matcher.store.audit_log import AuditLog

log = logging.getLogger(__name__)

DESCRIPTION = """Ranked, explained takeover options for companies in difficulty.

Send an API key as `Authorization: Bearer <key>` (an admin creates keys with
`reprise keys create`). Confidential cases are visible to advisors of their pole only; to every
other key they do not exist (404). Errors are RFC 9457 problem details
(`application/problem+json`).
"""
TAGS = [
    {"name": "companies", "description": "companies in difficulty (docs/contract.md §1.1)"},
    {"name": "candidates", "description": "takeover candidates (docs/contract.md §1.2)"},
    {"name": "matches", "description": "ranked options with explanations (docs/contract.md §2)"},
    {"name": "outcomes", "description": "what happened with an option (docs/contract.md §1.3)"},
    {"name": "model", "description": "the ranker in use"},
    {"name": "admin", "description": "API keys and the audit log (admin keys)"},
    {"name": "health", "description": "liveness and readiness, no key needed"},
]


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the store, build the candidate index and load the promoted ranker, once."""
    settings: Settings = app.state.settings
    limiter = threadpool_limits(limits=settings.blas_threads)  # parallelism is across requests
    db = store.connect(settings.database_url)
    communes = load_communes(settings.communes)
    live = LiveEngine(db, registry=Registry(settings.registry_dir()), poll_seconds=settings.index_poll_seconds,
                      cache_size=settings.match_cache_size, index_dir=settings.index_dir())
    live.waiters = anyio.CapacityLimiter(64)
    await anyio.to_thread.run_sync(live.load)
    live.start()
    app.state.db, app.state.live, app.state.communes = db, live, communes
    app.state.audit = AuditLog(db)
    app.state.keys = KeyCache(db, ttl=settings.key_cache_seconds)
    if settings.threads:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
    log.info("serving %d candidates with ranker %s", len(live.engine.index), live.engine.scorer.model_id)
    try:
        yield
    finally:
        live.stop()
        db.dispose()
        limiter.restore_original_limits()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; settings from the environment (``REPRISE_*``) unless given."""
    app = FastAPI(title="Reprise advisor API", version="1", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan)
    app.state.settings = settings or Settings.load()
    app.state.live = None
    install_handlers(app)
    app.add_middleware(RequestGuard, max_body_bytes=app.state.settings.max_body_bytes)
    app.add_middleware(HttpHygiene)
    # the busiest route first: FastAPI tries the routes in order on every request
    for module in (matches, companies, candidates, outcomes, model, keys, health):
        app.include_router(module.router, dependencies=[Depends(known_query)])
    web.mount(app)  # the advisors' pages under /, after the API's routes
    problem_openapi(app)
    return app
