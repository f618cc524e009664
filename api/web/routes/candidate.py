"""A candidate's page: who it is, and the outcomes recorded with it on cases the user may see."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.web import access, labels, views
from api.web.errors import WebError
from api.web.render import page
from api.web.session import signed_in
from matcher.contract.specs import EMPLOYEES
from matcher.reference import naf
from matcher.store import cases
from matcher.store.records import get_candidate

router = APIRouter(include_in_schema=False)


@router.get("/candidats/{candidate_id}")
def candidate(request: Request, candidate_id: str) -> Response:
    user = signed_in(request)
    state = request.app.state
    if candidate_id.startswith(f"{EMPLOYEES}:"):  # the company's own employees: the case itself
        return RedirectResponse(f"/cas/{candidate_id.split(':', 1)[1]}", status_code=303)
    row = get_candidate(state.db, candidate_id.strip())
    if row is None:
        raise WebError(404, "Candidat introuvable", f"« {candidate_id} » n'est pas un candidat enregistré.")
    poles = state.live.engine.poles
    history = [(o, c) for o, c in cases.candidate_history(state.db, row["candidate_id"])
               if access.can_see(user, c, poles)]
    return page(request, "candidate.html", {
        "title": row["name"], "nav": "candidate", "user": user, "c": row, "trade": views.trade(row),
        "place": views.place(row, state.communes), "headcount": views.headcount(row),
        "kind": labels.KINDS.get(row["kind"], row["kind"]),
        "sought": [(code, naf.label(code)) for code in row.get("sought_naf") or []],
        "experience": [(code, naf.label(code)) for code in row.get("experience_naf") or []],
        "pole_names": [(poles.rows.get(p) or {}).get("name") or p for p in row.get("pole") or []],
        "history": history,
    })
