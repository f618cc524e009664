"""Pages rendered from the Jinja2 templates, with French filters and protective headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from api.web import fr, labels

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True,
    undefined=jinja2.StrictUndefined))
TEMPLATES.env.filters.update(date=fr.date, moment=fr.moment, number=fr.number, km=fr.km, signed=fr.signed,
                             euros=fr.euros, siren=fr.siren, feature=labels.feature, reason=labels.reason,
                             band=labels.band)
TEMPLATES.env.globals.update(KINDS=labels.KINDS, PROCEDURES=labels.PROCEDURES, OUTCOME_WORDS=labels.OUTCOME_WORDS,
                             ROLES=labels.ROLES)

# Everything the pages use is served by the app itself: nothing else may load or run, inline
# scripts and styles included; the pages are never framed, cached or sent as referrers.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def page(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """The template ``name`` rendered with ``context`` (the signed-in ``user`` when there is one)."""
    context.setdefault("user", None)
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(HEADERS)
    return response
