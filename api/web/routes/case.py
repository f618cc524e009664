"""The case page: the company, its ranked and explained options, a map, exclusions on demand,
the outcome form and the case's history. Every view of the options is audited."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from api.web import access, fr, labels, mapsvg, views
from api.web.errors import WebError
from api.web.ranked import ranked
from api.web.render import page
from api.web.session import WebUser, signed_in
from matcher.contract.specs import EMPLOYEES
from matcher.ranking import labels as shared_labels
from matcher.ranking.results import MatchResult
from matcher.reference import naf
from matcher.store import cases
from matcher.store.records import get_company_uniform

router = APIRouter(include_in_schema=False)
TOP = 10
BAR_PX = 160.0
EXCLUSIONS_SHOWN = 25  # per reason
_INFERRED = re.compile(r"sector inferred from the activity text (['\"])(.*)\1 as (\S+) \(confidence ([\d.]+)\)")
_NOT_INFERRED = re.compile(r"no sector could be inferred from the activity text (['\"])(.*)\1")


def parse_siren(text: str) -> str:
    siren = "".join(text.split())
    if not re.fullmatch(r"\d{9}", siren):
        raise WebError(404, "Dossier introuvable", f"« {text} » n'est pas un numéro SIREN (9 chiffres).")
    return siren


def visible_company(request: Request, user: WebUser, siren: str) -> dict[str, Any]:
    """The stored company, or the same 404 page, audited the same way, whether it is absent or
    hidden from the user (a confidential case of other poles does not exist for them)."""
    state = request.app.state
    company = get_company_uniform(state.db, siren)
    if not access.case_visible(user, company, state.live.engine.poles):
        access.audit_read(request, user, siren, found=False)
        raise WebError(404, "Dossier introuvable", f"Aucun dossier que vous pouvez consulter ne porte le SIREN "
                       f"{fr.siren(siren)}.")
    return company


def note_fr(note: str) -> str:
    """The engine's notes on how the company was read, in French."""
    m = _INFERRED.fullmatch(note)
    if m:
        return (f"Métier déduit du texte d'activité « {m.group(2)} » : {naf.label(m.group(3))} ({m.group(3)}, "
                f"confiance {fr.number(float(m.group(4)), 2)}).")
    m = _NOT_INFERRED.fullmatch(note)
    if m:
        return f"Aucun métier n'a pu être déduit du texte d'activité « {m.group(2)} »."
    return note


def options_view(result: MatchResult, siren: str) -> list[dict[str, Any]]:
    rows = []
    for o in result.options:
        # contributions come rounded to 4 decimals: the zeros are the features that played no part
        parts = sorted(((k, float(v)) for k, v in o.explanation.items() if isinstance(v, (int, float)) and v),
                       key=lambda kv: -abs(kv[1]))
        employees = o.kind == EMPLOYEES
        rows.append({"rank": o.rank, "candidate_id": o.candidate_id, "kind": o.kind, "employees": employees,
                     "name": labels.EMPLOYEES_NAME if employees else o.name, "score": o.score,
                     "distance": o.distance_km, "trade_link": o.trade_link, "parts": parts})
    top = max((abs(v) for r in rows for _, v in r["parts"]), default=1.0) or 1.0
    for r in rows:
        r["bars"] = bars(r.pop("parts"), top)
    return rows


def legend_view(result: MatchResult) -> list[tuple[str, str]]:
    """(label, sentence) in French for every feature the options' bars show, in the table's order."""
    named = {k for o in result.options for k, v in o.explanation.items() if isinstance(v, (int, float)) and v}
    return [(w.label, w.text) for w in shared_labels.legend_words(named, "fr")]


def bars(parts: list[tuple[str, float]], top: float) -> Markup:
    """An option's explanation as list items: the feature in words, a bar, the contribution.

    Written here rather than in the template: the page shows ~80 of them, and the template's
    per-item lookups and escapes were a third of the page's cost."""
    items = []
    for name, value in parts:
        width = round(abs(value) / top * BAR_PX, 1)
        items.append(f'<li title="{escape(labels.feature_text(name))}"><span class="bar-label">'
                     f'{escape(labels.feature(name))}</span>'
                     f'<svg class="bar" width="{BAR_PX:.0f}" height="12" aria-hidden="true" focusable="false">'
                     f'<rect class="{"bar-neg" if value < 0 else "bar-pos"}" x="0" y="1" width="{width}" height="10" '
                     f'rx="2"/></svg><span class="bar-value">{fr.signed(value)}</span></li>')
    return Markup("".join(items))


def exclusions_view(result: MatchResult) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in result.exclusions:
        groups.setdefault(e["reason"], []).append(e)
    counts = result.excluded_counts
    return [{"reason": reason, "count": counts.get(reason, len(rows)), "rows": rows[:EXCLUSIONS_SHOWN]}
            for reason, rows in sorted(groups.items(), key=lambda kv: -counts.get(kv[0], len(kv[1])))]


def derived(communes, index, company: dict[str, Any], result: MatchResult) -> tuple:
    """The options in words, the map, how many options it shows, and the company's place."""
    options = options_view(result, company["siren"])
    points = []
    for o in options:
        pos = None if o["employees"] else index.position(o["candidate_id"])
        if pos is not None:
            points.append(mapsvg.Point(float(index.lat[pos]), float(index.lon[pos]), str(o["rank"]), o["name"]))
    here = mapsvg.Point(float(company["lat"]), float(company["lon"]), "", company["name"])
    place = views.place(company, communes)
    map_svg = mapsvg.draw(communes, company.get("departement"), here, points,
                          caption=f"Carte : {company['name']}, à {place or 'lieu non précisé'}, et ses options "
                                  "numérotées par rang")
    return options, map_svg, len(points), place


def case_page(request: Request, user: WebUser, company: dict[str, Any], *, exclusions: bool = False,
              form: dict[str, Any] | None = None, status: int = 200) -> Response:
    """The whole page (also answered, with the form's errors, to a refused outcome)."""
    state = request.app.state
    state.live.catch_up()  # another process's writes are in the index before this ranking
    serving, settings = state.live.serving, state.settings
    entry = ranked(serving, company, top=TOP, explain=exclusions, limit=settings.max_exclusions,
                   size=settings.match_cache_size, viewer=access.viewer(user))
    access.audit_read(request, user, company["siren"])
    result = entry.result
    if "page" not in entry.views:  # a repeated read reuses the options in words and the map
        entry.views["page"] = derived(state.communes, serving.engine.index, company, result)
    options, map_svg, mapped, place = entry.views["page"]
    choices = [(o["candidate_id"], f"{o['rank']}. {o['name']} — {labels.KINDS.get(o['kind'], o['kind'])}")
               for o in options]
    employees_id = f"{EMPLOYEES}:{company['siren']}"
    if employees_id not in {c for c, _ in choices}:
        choices.append((employees_id, f"{labels.EMPLOYEES_NAME} (hors classement)"))
    history = cases.case_history(state.db, company["siren"])
    for h in history:
        h["candidate_label"] = labels.EMPLOYEES_NAME if h["candidate_id"].startswith(f"{EMPLOYEES}:") \
            else h["candidate_name"] or h["candidate_id"]
    wanted = request.query_params.get("candidat") or ""
    today = dt.date.today()
    form = form or {"candidate_id": wanted, "outcome": "", "date": today.isoformat(), "note": "", "errors": {}}
    counts = sorted(result.excluded_counts.items(), key=lambda kv: -kv[1])
    return page(request, "case.html", {
        "title": company["name"], "nav": "case", "user": user, "company": company, "place": place,
        "pole_name": (serving.engine.poles.rows.get(company.get("pole") or "") or {}).get("name")
        or company.get("pole"),
        "trade": views.trade(company), "headcount": views.headcount(company),
        "notes": [note_fr(n) for n in result.notes],
        "options": options, "legend": legend_view(result), "map": map_svg, "mapped": mapped,
        "model_id": result.model_id,
        "excluded_counts": counts, "excluded_total": sum(n for _, n in counts),
        "exclusions": exclusions_view(result) if exclusions else None,
        "exclusions_total": result.exclusions_total, "shown": EXCLUSIONS_SHOWN, "history": history, "choices": choices,
        "can_record": user.role in access.OUTCOME_ROLES, "form": form, "outcomes": labels.OUTCOME_ORDER,
        "saved": "enregistre" in request.query_params, "today": today,
        "days_words": fr.days_left(company.get("offer_deadline"), today)[1],
    }, status=status)


@router.get("/cas/{siren}")
async def case(request: Request, siren: str) -> Response:
    # the ranking waits for the index to take in other processes' writes, and the read's audit row
    # for the store's writer (an import): outside the request pool, which the API's reads need
    return await request.app.state.live.waited(_case, request, siren)


def _case(request: Request, siren: str) -> Response:
    user = signed_in(request)
    company = visible_company(request, user, parse_siren(siren))
    return case_page(request, user, company, exclusions=request.query_params.get("ecartes") == "1")
