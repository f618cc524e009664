"""Writing records through the API with the file import's validation, and erasing them.

Records go through ``matcher.contract.imports`` (``validate_frame``, ``superseded``,
``rows_for_store``), so a record is refused for exactly the reasons (and with the words) a file
import would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine as DbEngine

from api.access import can_see, may_write, outside_poles
from api.problems import Problem, field_error
from api.security import Principal
from matcher import store
from matcher.contract.imports import INTERNAL, TABLES, record_keys, rows_for_store, superseded, validate_frame
from matcher.contract.specs import SPECS
from matcher.reference.communes import Communes
from matcher.reference.territories import Poles
from matcher.store import records as stored_records

KEY = {"companies": "siren", "candidates": "candidate_id", "outcomes": "siren"}


@dataclass
class Written:
    """What a write did: stored rows (store column names), how many were new, and refusals."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)  # index, key, reason, forbidden

    def forbidden_keys(self) -> list[str]:
        """Keys of the records refused for the key's limits (audited as refused writes)."""
        return [r["key"] for r in self.rejects if r.get("forbidden") and r["key"]]


def validate(kind: str, records: list[dict[str, Any]], *, communes: Communes | None, db: DbEngine | None = None,
             visible: Any = None) -> tuple[pd.DataFrame, pd.Series]:
    """Clean rows and the reason per record ("" when valid), as a file import would."""
    raw = pd.DataFrame.from_records([{k: v for k, v in r.items() if k not in INTERNAL} for r in records])
    raw.index = range(len(raw))
    clean, reasons = validate_frame(kind, raw, communes=communes, engine=db, visible=visible)
    return clean, reasons.fillna("")


def write_records(db: DbEngine, kind: str, records: list[dict[str, Any]], *, principal: Principal,
                  poles: Poles, communes: Communes | None) -> Written:
    """Validate, check the key may write each record, then upsert the good ones in one transaction."""
    key = KEY[kind]
    if not records:
        return Written()
    clean, reasons = validate(kind, records, communes=communes)
    # worded as a JSON file import of the same array would (line = position from 1)
    reasons = superseded(record_keys(kind, clean), reasons.tolist(), range(1, len(records) + 1),
                         "/".join(SPECS[kind].key))
    table = TABLES[kind]
    ok = [i for i, r in enumerate(reasons) if not r]
    rows = rows_for_store(kind, clean.iloc[ok]) if ok else []
    stored = stored_records.rows_by_key(db, table, key, [r[key] for r in rows])
    forbidden: set[int] = set()
    if kind == "companies":
        for i, row in zip(ok, rows):
            row["source"] = "api"
            if not may_write(principal, stored.get(row[key]), row, poles):
                reasons[i] = outside_poles(row[key])
                forbidden.add(i)
    good = [row for i, row in zip(ok, rows) if not reasons[i]]
    store.upsert(db, table, good)
    return Written(rows=good, new=sum(1 for r in good if r[key] not in stored),
                   rejects=[{"index": i, "key": _received(records[i], key), "reason": r,
                             "forbidden": i in forbidden} for i, r in enumerate(reasons) if r])


def refusal_problem(record: dict[str, Any], reject: dict[str, Any]) -> Problem:
    """The answer to a refused single-record write: 403 for a key's limits, else 422 per field."""
    if reject.get("forbidden"):
        return Problem(403, reject["reason"])
    errors = []
    for part in reject["reason"].split("; "):
        word = part.split(" ", 1)[0]
        name = word if word.split("/")[0] in record else "body"
        errors.append(field_error(name, record.get(name.split("/")[0]) if name != "body" else None, part))
    return Problem(422, reject["reason"], errors=errors)


def validate_outcome(db: DbEngine, record: dict[str, Any], *, principal: Principal,
                     poles: Poles) -> tuple[dict[str, Any] | None, str]:
    """An outcome's store row, or the reason it is refused, worded as ``reprise import outcomes``.

    A company this key may not see is answered exactly as an absent one.
    """
    clean, reasons = validate("outcomes", [record], communes=None, db=db,
                              visible=lambda company: can_see(principal, company, poles))
    if reasons.iat[0]:
        return None, reasons.iat[0]
    return rows_for_store("outcomes", clean)[0], ""


def _received(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)
