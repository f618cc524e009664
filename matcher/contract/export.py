"""``reprise export candidates|companies``: the stored records as a contract file (docs/contract.md §5).

The columns are the contract's (§1.1, §1.2) in its order, then the keys of the records' ``extra``
payload (fields outside the contract, kept as they were received), so that importing the export
gives back the same records: lists are ``;``-separated, booleans ``true``/``false``, whole numbers
without a decimal point, other numbers as Python writes a float (exact to the bit), empty for
unknown. Candidates that left the pool are not exported (they are no longer candidates).
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

import pandas as pd
from sqlalchemy.engine import Engine

from matcher import store
from matcher.contract.specs import SPECS

KINDS = ("candidates", "companies")


def export_frame(db: Engine, kind: str) -> pd.DataFrame:
    """The stored records of ``kind`` as text cells in the contract's columns, sorted by key."""
    spec = SPECS[kind]
    table = store.candidates if kind == "candidates" else store.companies
    where = [table.c.left_pool.is_(None)] if kind == "candidates" else []
    rows = store.read_frame(db, table, where)
    key = spec.key[0]
    rows = rows.sort_values(key, kind="stable").reset_index(drop=True)
    out = pd.DataFrame({col: rows[col].map(_cell) if col in rows else "" for col in spec.columns}, index=rows.index)
    if kind == "companies" and len(out):  # the contract takes one of headcount and headcount_band
        out["headcount_band"] = out["headcount_band"].where(out["headcount"] == "", "")
    extras = rows["extra"].tolist() if "extra" in rows else []
    names: list[str] = []
    for payload in extras:
        for name in payload or {}:
            if name not in spec.columns and name not in names:
                names.append(name)
    for name in names:
        out[name] = [_cell((payload or {}).get(name)) for payload in extras]
    return out


def write_export(db: Engine, kind: str, out: TextIO) -> int:
    """Write the export of ``kind`` to ``out`` as CSV; returns the number of records."""
    frame = export_frame(db, kind)
    frame.to_csv(out, index=False, lineterminator="\n")
    return len(frame)


def _cell(value: Any) -> str:
    if hasattr(value, "item") and not isinstance(value, (list, dict)):  # numpy scalars
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)
