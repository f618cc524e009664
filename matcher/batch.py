"""Ranking many companies: rows in the contract's §2 layout."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .engine import Engine, MatchResult

MATCH_COLUMNS = ["siren", "rank", "candidate_id", "kind", "name", "score", "distance_km", "explanation"]


def result_rows(result: MatchResult) -> list[dict[str, Any]]:
    return [o.as_dict() for o in result.options]


def match_all(engine: Engine, companies: Iterable[dict[str, Any]], *, top: int = 10,
              kinds: list[str] | None = None, progress=None) -> pd.DataFrame:
    """Rank every company; one row per option, in company then rank order."""
    rows: list[dict[str, Any]] = []
    for company in companies:
        rows.extend(result_rows(engine.match(company, top=top, kinds=kinds)))
        if progress is not None:
            progress()
    return to_frame(rows)


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=MATCH_COLUMNS)
    return df


def to_csv(df: pd.DataFrame, path_or_buf) -> None:
    """CSV with the explanation as a JSON object per cell."""
    out = df.copy()
    out["explanation"] = out["explanation"].map(lambda e: json.dumps(e, ensure_ascii=False, sort_keys=False))
    out.to_csv(path_or_buf, index=False)
