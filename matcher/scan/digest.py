"""The morning digest: one Markdown file per pole with its new cases and their top options.

A case belongs to its ``pole`` when set, else to every pole whose territory contains it
(docs/contract.md §1.4), else to ``unassigned``. Every stored pole gets a file, saying so when it has
no new case, so a scheduler can tell "nothing today" from "the job did not run".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.contract.outputs import write_text
from matcher.ranking.explain import TRADE_LINK_LEGEND, top_contributions, trade_link_word, why_text
from matcher.ranking.labels import legend
from matcher.reference.naf import label as naf_label

UNASSIGNED = "unassigned"
TOP_IN_DIGEST = 5
WHY_SHOWN = 3  # contributions named per option
PROCEDURE_LABEL = {"sauvegarde": "sauvegarde", "redressement": "redressement judiciaire",
                   "liquidation": "liquidation judiciaire", "none": "no procedure"}


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "/").replace("\n", " ")


def _short(text: Any, n: int = 140) -> str:
    text = _cell(text)
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def _sector(c: dict[str, Any]) -> str:
    if c.get("naf"):
        return f"{c['naf']} {naf_label(c['naf'])}"
    activity = f"“{_short(c.get('activity'), 100)}”" if c.get("activity") else "no activity text"
    if c.get("signal_naf"):
        return f"{activity}, read as {c['signal_naf']} {naf_label(c['signal_naf'])}"
    return activity


def _notes(options: pd.DataFrame) -> list[str]:
    """The case's notes (how the company was read), carried once by its first row."""
    if options.empty:
        return []
    first = options.iloc[0]["explanation"]
    return [str(n) for n in first.get("notes", []) or []] if isinstance(first, dict) else []


def _case(c: dict[str, Any], options: pd.DataFrame, top: int, named: set[str]) -> list[str]:
    lines = [f"## {_cell(c['name'])} (SIREN {c['siren']})", "",
             (f"- procedure: {PROCEDURE_LABEL.get(c.get('procedure'), c.get('procedure'))}"
              f" (judgment {c.get('judgment_date') or c.get('procedure_date') or 'date unknown'})"),
             f"- offer deadline: {c.get('offer_deadline') or 'not published'}",
             f"- sector: {_sector(c)}", *[f"- note: {_short(n, 300)}" for n in _notes(options)],
             f"- place: {c.get('postal_code') or ''} {c.get('city') or c.get('commune') or ''}".rstrip(), ""]
    if options.empty:
        return [*lines, "No option ranks for this case.", ""]
    lines += ["| rank | option | kind | trade link | score | km | why |", "|---:|---|---|---|---:|---:|---|"]
    shown = options.head(top).to_dict("records")
    for o in shown:
        named.update(k for k, _ in top_contributions(o["explanation"], WHY_SHOWN))
        link = o.get("trade_link")
        link = None if link is None or pd.isna(link) else bool(link)
        lines.append(f"| {o['rank']} | {_cell(o['name'])} [{o['candidate_id']}] | {o['kind']} | "
                     f"{trade_link_word(link)} | {o['score']:.3f} | {o['distance_km']:.1f} | "
                     f"{_short(why_text(o['explanation'], n=WHY_SHOWN), 200)} |")
    if any(o.get("trade_link") is False or o.get("trade_link") == 0 for o in shown):
        lines += ["", f"_{TRADE_LINK_LEGEND}._"]
    return [*lines, ""]


def write_digests(out_dir: str | Path, cases: Iterable[dict[str, Any]], matches: pd.DataFrame, *,
                  pole_names: dict[str, str], day: str, top: int = TOP_IN_DIGEST) -> list[Path]:
    """Write ``<pole_id>.md`` for every pole (and ``unassigned.md`` when needed); returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_pole: dict[str, list[dict[str, Any]]] = {p: [] for p in pole_names}
    for c in cases:
        for pole in c.get("poles") or [UNASSIGNED]:
            by_pole.setdefault(pole, []).append(c)
    groups = dict(tuple(matches.groupby("siren", sort=False))) if len(matches) else {}
    paths = []
    for pole, cases_of_pole in sorted(by_pole.items()):
        title = pole_names.get(pole, "cases outside every pole's territory" if pole == UNASSIGNED else pole)
        lines = [f"# {title} — new cases on {day}", "",
                 f"{len(cases_of_pole)} new case(s) in collective procedure, newest judgment first.", ""]
        newest_first = sorted(cases_of_pole, key=lambda c: (c.get("judgment_date") or c.get("procedure_date") or ""),
                              reverse=True)
        named: set[str] = set()
        for c in newest_first:
            lines += _case(c, groups.get(c["siren"], pd.DataFrame()), top, named)
        if named:
            lines += ["## What the words in “why” mean", "", *[f"- {line}" for line in legend(named)], ""]
        path = out_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', pole)}.md"
        write_text(path, "\n".join(lines), option="--digest-dir")
        paths.append(path)
    return paths
