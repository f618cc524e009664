"""Explanations: each feature's contribution to an option's score, and the short "why" text.

An explanation is a dict feature -> contribution (4 decimals) that adds up to the score, plus
``notes`` on how the company was read (for instance a sector inferred from its activity text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from matcher.ranking.compare import CANDIDATE_FEATURES, EMPLOYEE_FEATURES
from matcher.ranking.labels import label


def explanation(contrib_row: np.ndarray, is_employees: bool, notes: list[str] | None = None, *,
                names: Sequence[str] | None = None) -> dict:
    """Feature -> contribution (4 decimals) for the option's own features, plus notes.

    With ``names`` (a learned scorer's ``contribution_names``: its columns, the last one the
    baseline), every non-zero contribution and the baseline; the baseline absorbs the rounding
    so the explanation still adds up to the rounded score.
    """
    if names is not None:
        row = np.asarray(contrib_row, dtype=np.float64)
        out = {n: round(float(v), 4) for n, v in zip(names[:-1], row[:-1]) if round(float(v), 4) != 0}
        out[names[-1]] = round(round(float(row.sum()), 4) - sum(out.values()), 4)
        if notes:
            out["notes"] = notes
        return out
    return explained(contrib_row, is_employees, notes)[0]


def explained(contrib_row: np.ndarray, is_employees: bool, notes: list[str] | None = None, *,
              names: Sequence[str] | None = None) -> tuple[dict, float]:
    """:func:`explanation` and the score it adds up to (:func:`explained_score`), in one go."""
    if names is not None:
        expl = explanation(contrib_row, is_employees, notes, names=names)
        return expl, explained_score(expl)
    feats = EMPLOYEE_FEATURES if is_employees else CANDIDATE_FEATURES
    offset = len(CANDIDATE_FEATURES) if is_employees else 0
    values = [round(v, 4) for v in np.asarray(contrib_row[offset:offset + len(feats)], dtype=np.float64).tolist()]
    expl: dict = dict(zip(feats, values))
    if notes:
        expl["notes"] = notes
    return expl, round(sum(values), 4)


TRADE_LINK_LEGEND = ("trade link \"no\": the option shares no NAF division with the company, is neither "
                     "its supplier nor its customer, and declared no interest or experience in its trade; "
                     "such options come after every linked one")


def trade_link_word(link: bool | None) -> str:
    """``yes`` / ``no`` (``?`` for a stored row from before trade links were recorded)."""
    return "?" if link is None else ("yes" if link else "no")


def explained_score(expl: dict) -> float:
    """The score an explanation adds up to."""
    return round(sum(v for v in expl.values() if isinstance(v, (int, float))), 4)


def top_contributions(explanation: Mapping[str, Any], n: int) -> list[tuple[str, float]]:
    """The ``n`` largest contributions (by size), non-zero, largest first."""
    items = [(k, float(v)) for k, v in explanation.items() if isinstance(v, (int, float)) and v]
    return sorted(items, key=lambda kv: -abs(kv[1]))[:n]


def why_text(explanation: Mapping[str, Any], *, n: int = 3, digits: int = 2, with_note: bool = False,
             lang: str = "en") -> str:
    """``same trade +0.200, nearby +0.115``: the features' short labels (``matcher.ranking.labels``),
    and the first note when asked."""
    text = ", ".join(f"{label(k, lang)} {v:+.{digits}f}" for k, v in top_contributions(explanation, n))
    notes = [str(x) for x in explanation.get("notes", []) or []] if with_note else []
    return text + (f" — {notes[0]}" if notes else "")
