"""Writing records through the API with the file import's validation, and erasing them.

Records go through ``matcher.contract.imports.validate_frame`` and ``rows_for_store``, so a record is
refused for exactly the reasons (and with the words) a file import would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine as DbEngine

from matcher import store
from matcher.contract.imports import TABLES, rows_for_store, validate_frame
from matcher.reference.communes import Communes
from matcher.reference.territories import Poles

from .access import can_see, write_refusal
from .problems import Problem, field_error
from .security import Principal

KEY = {"companies": "siren", "candidates": "candidate_id", "outcomes": "siren"}
INTERNAL = ("__line__", "__error__", "__raw__")


@dataclass
class Written:
    """What a write did: stored rows (store column names), how many were new, and refusals."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)  # index, key, reason


def validate(kind: str, records: list[dict[str, Any]], *, communes: Communes | None,
             db: DbEngine | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Clean rows and the reason per record ("" when valid), as a file import would."""
    raw = pd.DataFrame.from_records([{k: v for k, v in r.items() if k not in INTERNAL} for r in records])
    raw.index = range(len(raw))
    clean, reasons = validate_frame(kind, raw, communes=communes, engine=db)
    return clean, reasons.fillna("")


def write_records(db: DbEngine, kind: str, records: list[dict[str, Any]], *, principal: Principal,
                  poles: Poles, communes: Communes | None) -> Written:
    """Validate, check the key may write each record, then upsert the good ones in one transaction."""
    key = KEY[kind]
    if not records:
        return Written()
    clean, reasons = validate(kind, records, communes=communes)
    reasons = reasons.tolist()
    keys = [None if pd.isna(k) else str(k) for k in clean[key]]
    last: dict[str, int] = {}
    for i, k in enumerate(keys):
        if not reasons[i] and k is not None:
            last[k] = i
    for i, k in enumerate(keys):
        if not reasons[i] and k is not None and last[k] != i:
            # worded as a JSON file import of the same array would (line = position from 1)
            reasons[i] = f"superseded by line {last[k] + 1} with the same {key}"
    table = TABLES[kind]
    ok = [i for i, r in enumerate(reasons) if not r]
    rows = rows_for_store(kind, clean.iloc[ok]) if ok else []
    stored = _existing(db, table, key, [r[key] for r in rows])
    forbidden: set[int] = set()
    if kind == "companies":
        for i, row in zip(ok, rows):
            row["source"] = "api"
            reasons[i] = write_refusal(principal, stored.get(row[key]), row, poles)
            if reasons[i]:
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
    clean, reasons = validate("outcomes", [record], communes=None)
    msgs = [reasons.iat[0]] if reasons.iat[0] else []
    siren, cid = (_text(clean[c].iat[0]) for c in ("siren", "candidate_id"))
    if siren:
        company = get_company(db, siren)
        if company is None or not can_see(principal, company, poles):
            msgs.append(f"siren {siren} is not a stored company in difficulty; import it first")
    if cid and cid.startswith("employees:"):
        if siren and cid != f"employees:{siren}":
            msgs.append(f"candidate_id {cid} names the employees of another company than siren {siren}")
    elif cid and get_candidate(db, cid) is None:
        msgs.append(f"candidate_id {cid} is not a stored candidate; import it first")
    if msgs:
        return None, "; ".join(msgs)
    return rows_for_store("outcomes", clean)[0], ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _received(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)


def _existing(db: DbEngine, table: sa.Table, key: str, values: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    col = table.c[key]
    with db.connect() as c:
        for i in range(0, len(values), 900):
            for r in c.execute(sa.select(table).where(col.in_(values[i:i + 900]))).mappings():
                out[r[key]] = dict(r)
    return out


# built once: constructing a statement costs more than running it (these run on every read)
_COMPANY = sa.select(store.companies).where(store.companies.c.siren == sa.bindparam("key"))
_CANDIDATE = sa.select(store.candidates).where(store.candidates.c.candidate_id == sa.bindparam("key"))


def get_company(db: DbEngine, siren: str) -> dict[str, Any] | None:
    with db.connect() as c:
        row = c.execute(_COMPANY, {"key": siren}).first()
    return row._asdict() if row else None


def get_candidate(db: DbEngine, candidate_id: str) -> dict[str, Any] | None:
    with db.connect() as c:
        row = c.execute(_CANDIDATE, {"key": candidate_id}).first()
    return row._asdict() if row else None


def erase_company(db: DbEngine, siren: str) -> bool:
    """Delete a company with its outcomes (incl. its employees' option), stored matches and the
    signals read from court announcements about it (they carry a person's name)."""
    with db.begin() as c:
        c.execute(sa.delete(store.outcomes).where(store.outcomes.c.siren == siren))
        c.execute(sa.delete(store.signals).where(store.signals.c.siren == siren))
        c.execute(sa.delete(store.matches).where(store.matches.c.siren == siren))
        return c.execute(sa.delete(store.companies).where(store.companies.c.siren == siren)).rowcount > 0


def erase_candidate(db: DbEngine, candidate_id: str) -> bool:
    """Delete a candidate with the outcomes and stored matches that name it."""
    with db.begin() as c:
        c.execute(sa.delete(store.outcomes).where(store.outcomes.c.candidate_id == candidate_id))
        c.execute(sa.delete(store.matches).where(store.matches.c.candidate_id == candidate_id))
        t = store.candidates
        return c.execute(sa.delete(t).where(t.c.candidate_id == candidate_id)).rowcount > 0
