"""The pole's dashboard: open cases, most urgent first, with filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web import access, fr, labels, views
from api.web.errors import WebError
from api.web.render import page
from api.web.session import WebUser, signed_in
from matcher.contract.specs import PROCEDURES
from matcher.reference import naf
from matcher.store import accounts, cases

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def urgency(row: dict[str, Any], today: dt.date) -> tuple:
    """Sort key of a stored company: offer deadlines still ahead (soonest first), then cases
    without one (the most urgent procedure, the latest judgment first), then deadlines already
    past (the most recent first)."""
    # the store's dates are ISO text: compared as text, parsed only for the past deadlines
    deadline, judged = row["offer_deadline"] or "", row["procedure_date"] or ""
    if not deadline:
        first: tuple = (1, 0)
    elif deadline >= today.isoformat():
        first = (0, deadline)
    else:
        first = (2, -_ordinal(deadline))
    return (*first, labels.PROCEDURE_URGENCY.get(row["procedure"], 9), -_ordinal(judged), row["siren"])


def _ordinal(iso: str) -> int:
    """Day number of an ISO date (stored dates are validated on import); 0 when there is none."""
    return dt.date.fromisoformat(iso[:10]).toordinal() if iso else 0


def poles_of(user: WebUser, request: Request) -> dict[str, str]:
    """Pole id -> name, for the pole choice: an advisor's own poles, every pole for the others."""
    rows = request.app.state.live.engine.poles.rows
    ids = sorted(user.poles) if user.role == "advisor" else sorted(rows)
    return {p: (rows.get(p) or {}).get("name") or p for p in ids}


@router.get("/")
def dashboard(request: Request) -> Response:
    user = signed_in(request)
    state = request.app.state
    q = request.query_params
    choices = poles_of(user, request)
    pole = q.get("pole") or ""
    if pole and pole not in choices:
        raise WebError(404, "Pôle inconnu", f"Le pôle {pole} n'existe pas ou ne vous est pas accessible.")
    procedure, departement, metier = q.get("procedure") or "", q.get("departement") or "", q.get("metier") or ""
    if procedure and procedure not in PROCEDURES:
        raise WebError(400, "Filtre invalide", f"La procédure « {procedure} » n'existe pas.")
    try:
        number = max(1, int(q.get("page") or 1))
    except ValueError:
        number = 1
    poles = state.live.engine.poles
    wanted = {pole} if pole else set(choices) if user.role == "advisor" else None
    rows = cases.open_cases(state.db, confidential_poles=access.confidential_poles(user), poles=wanted)
    rows = [r for r in rows if access.can_see(user, r, poles)
            and (wanted is None or wanted & access.company_poles(r, poles))]
    departements = sorted({r["departement"] for r in rows if r["departement"]})
    divisions = sorted({views.division(r["naf"]) for r in rows if r["naf"]})
    # the choices list what the pole's cases hold; the filters then apply together
    if procedure:
        rows = [r for r in rows if r["procedure"] == procedure]
    if departement:
        rows = [r for r in rows if r["departement"] == departement]
    if metier:
        rows = [r for r in rows if views.division(r["naf"]) == metier]
    today = dt.date.today()
    rows.sort(key=lambda r: urgency(r, today))
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    number = min(number, pages)
    # only the rows shown are put in words
    items = [_item(r, state.communes, user, today) for r in rows[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]]
    accounts.mark_seen(state.db, user.user_id)
    return page(request, "dashboard.html", {
        "title": "Tableau de bord", "nav": "dashboard", "user": user, "items": items,
        "total": len(rows), "new": sum(1 for r in rows if _new(r, user)), "page": number, "pages": pages,
        "poles": choices, "pole": pole, "procedure": procedure, "departement": departement, "metier": metier,
        "departements": departements, "divisions": [(d, naf.label(d)) for d in divisions],
        "procedures": [p for p in PROCEDURES if p != "none"], "since": user.since,
        "query": {k: v for k, v in (("pole", pole), ("procedure", procedure), ("departement", departement),
                                    ("metier", metier)) if v},
    })


def _item(row: dict[str, Any], communes, user: WebUser, today: dt.date) -> dict[str, Any]:
    deadline = fr.as_date(row["offer_deadline"])
    days, words = fr.days_left(deadline, today)
    return {"siren": row["siren"], "name": row["name"], "procedure": row["procedure"], "deadline": deadline,
            "days": days, "days_words": words, "judged": fr.as_date(row["procedure_date"]),
            "trade": views.trade(row), "place": views.place(row, communes), "headcount": views.headcount(row),
            "confidential": bool(row["confidential"]), "new": _new(row, user)}


def _new(row: dict[str, Any], user: WebUser) -> bool:
    """Imported or updated since the user's previous visit."""
    return user.since is not None and row["updated_at"] is not None and row["updated_at"] > user.since
