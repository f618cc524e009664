"""Recording what happened with an option, from the case page (the API's validation, the
signed-in user as the advisor)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.web import access, fr, labels
from api.web.errors import WebError
from api.web.routes.case import case_page, parse_siren, visible_company
from api.web.session import check_csrf, signed_in
from api.writes import validate_outcome
from matcher.store.records import record_outcome as record_outcome_row

router = APIRouter(include_in_schema=False)
MAX_NOTE = 2000


def _date(text: str) -> dt.date | None:
    """An ISO date (the date field), or a French one typed by hand (21/01/2026)."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


@router.post("/cas/{siren}/suites")
async def record_outcome(request: Request, siren: str, csrf: str = Form(""), candidate_id: str = Form(""),
                         outcome: str = Form(""), date: str = Form(""), note: str = Form("")) -> Response:
    # a write, an audit row and the case page: each may wait (the store's writer, the index), so
    # outside the request pool
    return await request.app.state.live.waited(_record, request, siren, csrf, candidate_id, outcome, date, note)


def _record(request: Request, siren: str, csrf: str, candidate_id: str, outcome: str, date: str,
            note: str) -> Response:
    user = signed_in(request)
    check_csrf(user, csrf)
    if user.role not in access.OUTCOME_ROLES:
        access.audit_refused(request, user, siren, candidate_id)
        raise WebError(403, "Action réservée", "Seuls les chargés de mission et les analystes enregistrent les suites "
                       "données aux options.")
    company = visible_company(request, user, parse_siren(siren))
    errors: dict[str, str] = {}
    if not candidate_id:
        errors["candidate_id"] = "Choisissez l'option concernée."
    if outcome not in labels.OUTCOMES:
        errors["outcome"] = f"Choisissez une suite parmi : {', '.join(labels.OUTCOME_ORDER)}."
    when = _date(date) if date.strip() else dt.date.today()
    if when is None:
        errors["date"] = f"« {date} » n'est pas une date (par exemple 21/01/2026)."
    elif when > dt.date.today():
        errors["date"] = "La date ne peut pas être dans le futur."
    if len(note) > MAX_NOTE:
        errors["note"] = f"La note fait {len(note)} caractères ; {MAX_NOTE} au plus."
    row = None
    if not errors:
        record = {"siren": company["siren"], "candidate_id": candidate_id, "outcome": labels.OUTCOMES[outcome],
                  "date": when.isoformat(), "advisor": user.email, "note": note.strip() or None}
        row, reason = validate_outcome(request.app.state.db, record, principal=access.principal(user),
                                       poles=request.app.state.live.engine.poles)
        if reason:
            errors["form"] = f"L'enregistrement a été refusé : {reason}."
    if errors or row is None:
        form = {"candidate_id": candidate_id, "outcome": outcome, "date": date, "note": note, "errors": errors}
        return case_page(request, user, company, form=form, status=422)
    _, other = record_outcome_row(request.app.state.db, row)
    if other is not None:  # recorded by someone else: never replaced, and audited, as in the API
        access.audit_refused(request, user, row["siren"], row["candidate_id"])
        form = {"candidate_id": candidate_id, "outcome": outcome, "date": date, "note": note,
                "errors": {"form": f"Cette suite ({outcome}, le {fr.date(row['date'])}) a déjà été enregistrée par "
                                   f"{other} ; enregistrez la vôtre avec sa propre date, ou demandez-lui de la "
                                   "modifier."}}
        return case_page(request, user, company, form=form, status=409)
    access.audit_outcome(request, user, row["siren"], row["candidate_id"])
    return RedirectResponse(f"/cas/{company['siren']}?enregistre=1#historique", status_code=303)
