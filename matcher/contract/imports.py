"""Contract files in (docs/contract.md §1), rejects out: validate, upsert, report.

Re-importing the same file is idempotent (upsert by the record's key). Within one file a key seen
twice keeps its last row; the earlier one goes to the rejects with the line that superseded it.
The API's writes go through :func:`validate_frame`, :func:`superseded` and :func:`rows_for_store`
too, so a record is refused for the same reasons, in the same words, either way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from matcher import store
from matcher.contract.files import STDIN, read_records, write_rejects
from matcher.contract.outputs import STDOUT, check_writable
from matcher.contract.specs import EMPLOYEES, SPECS, Spec
from matcher.contract.validate import Validator
from matcher.errors import InputFileError
from matcher.reference.communes import Communes
from matcher.store import records

log = logging.getLogger(__name__)

TABLES = {"companies": store.companies, "candidates": store.candidates,
          "outcomes": store.outcomes, "poles": store.poles}
INTERNAL = ("__line__", "__error__", "__raw__")


@dataclass
class ImportReport:
    kind: str
    read: int
    stored: int
    new: int
    rejected: int
    rejects_path: Path | None
    rejects: pd.DataFrame

    def summary(self) -> str:
        text = (f"{self.kind}: read {self.read}, stored {self.stored} "
                f"({self.new} new, {self.stored - self.new} updated), rejected {self.rejected}")
        if self.rejected and self.rejects_path:
            text += " -> standard output" if str(self.rejects_path) == STDOUT else f" -> {self.rejects_path}"
        return text


def validate_frame(kind: str, raw: pd.DataFrame, *, communes: Communes | None = None,
                   engine: Engine | None = None,
                   visible: Callable[[dict[str, Any]], bool] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Validate raw records of a contract kind; returns (clean rows, reason per row).

    With ``engine``, outcomes must name stored records (:func:`outcome_reference_reasons`;
    ``visible`` hides the companies a caller may not see, which are then reported as absent).
    """
    spec = _spec(kind)
    clean, reasons = Validator(spec, communes=communes).run(raw.drop(columns=list(INTERNAL), errors="ignore"))
    if "__error__" in raw:
        err = raw["__error__"].fillna("").astype(str)
        reasons = reasons.where(err == "", err)
    if kind == "outcomes" and engine is not None:
        reasons = outcome_reference_reasons(engine, clean, reasons, visible=visible)
    return clean, _too_long(kind, clean, reasons)


def superseded(keys: Sequence[str | None], reasons: Sequence[str], lines: Sequence[int],
               key_name: str) -> list[str]:
    """``reasons`` with every valid row but the last of each key marked
    ``superseded by line N with the same <key>`` (N: the line of the row that wins)."""
    out = list(reasons)
    last: dict[str, int] = {}
    for i, (key, why) in enumerate(zip(keys, reasons)):
        if not why and key is not None:
            last[key] = i
    for i, (key, why) in enumerate(zip(keys, reasons)):
        if not why and key is not None and last[key] != i:
            out[i] = f"superseded by line {lines[last[key]]} with the same {key_name}"
    return out


def record_keys(kind: str, clean: pd.DataFrame) -> list[str | None]:
    """Each clean row's key as one string (None when a key column is empty)."""
    cols = list(_spec(kind).key)
    if kind == "outcomes":  # the date is part of the key; empty when unknown
        cols = [c for c in cols if c != "date"]
    values = [clean[c].astype(object).where(clean[c].notna(), None).tolist() for c in cols]
    dates = clean["date"].astype(object).where(clean["date"].notna(), "").tolist() if kind == "outcomes" else None
    out = []
    for i, parts in enumerate(zip(*values)):
        if any(p is None or p == "" for p in parts):
            out.append(None)
            continue
        out.append("|".join(map(str, parts)) + (f"|{dates[i]}" if dates is not None else ""))
    return out


def rows_for_store(kind: str, clean: pd.DataFrame) -> list[dict]:
    """Clean rows as dicts with the store's column names (NaN -> None), stamped now."""
    table = TABLES[kind]
    cols = [c for c in clean.columns if c in table.c]
    frame = clean[cols].astype(object).where(clean[cols].notna(), None)
    if kind == "outcomes":
        frame["date"] = frame["date"].map(lambda d: d or "")
    if kind == "candidates":
        frame = _in_the_pool(frame)
    rows = frame.to_dict("records")
    stamp = store.now()
    stamp_col = "recorded_at" if kind == "outcomes" else "updated_at"
    if stamp_col in table.c:
        for r in rows:
            r[stamp_col] = stamp
    return rows


def store_frame(engine: Engine, kind: str, clean: pd.DataFrame, conn=None) -> int:
    """Upsert validated rows (from :func:`validate_frame`) into the kind's table."""
    table = TABLES[kind]
    frame = clean[[c for c in clean.columns if c in table.c]].copy()
    if kind == "outcomes":
        frame["date"] = frame["date"].astype(object).where(frame["date"].notna(), "")
    if kind == "candidates":
        frame = _in_the_pool(frame)
    stamp_col = "recorded_at" if kind == "outcomes" else "updated_at"
    if stamp_col in table.c:
        frame[stamp_col] = store.now()
    return store.upsert_frame(engine, table, frame, conn=conn)


def _in_the_pool(frame: pd.DataFrame) -> pd.DataFrame:
    """A candidate written by a file or the API is the pole's (``source`` ``import`` unless the row
    says ``sirene``) and is in the pool, even if it had left it (docs/contract.md §1.7)."""
    frame = frame.copy()
    source = frame["source"] if "source" in frame else pd.Series(None, index=frame.index, dtype=object)
    frame["source"] = source.astype(object).where(source.notna(), "import")
    frame["left_pool"] = None
    frame["left_at"] = None
    return frame


def import_file(engine: Engine, kind: str, path: str | Path, *, rejects_path: str | Path | None = None,
                communes: Communes | None = None) -> ImportReport:
    """Import one contract file into the store; bad rows go to the rejects file."""
    raw, rejects_path = read_import(kind, path, rejects_path=rejects_path)
    return import_frame(engine, kind, raw, rejects_path=rejects_path, communes=communes)


def read_import(kind: str, path: str | Path, *, rejects_path: str | Path | None = None) -> tuple[pd.DataFrame, Path]:
    """A contract file's records, the file checked as a whole (readable, UTF-8, the kind's
    columns), and its rejects path checked writable: what can refuse the file, before any store
    is opened (a refused file leaves no store behind)."""
    rejects_path = Path(rejects_path or _default_rejects(Path(path)))
    if str(rejects_path) != STDOUT:
        rejects_path = check_writable(rejects_path, option="--rejects")
    raw = read_records(path)
    check_columns(kind, raw, name=str(path))
    return raw, rejects_path


def check_columns(kind: str, raw: pd.DataFrame, *, name: str) -> None:
    """A file whose header lacks a required column (or every column of a one-of group) is
    refused as a whole, listing the columns it has, rather than rejecting every row."""
    if not len(raw):
        return
    spec = _spec(kind)
    found = [c for c in raw.columns if c not in INTERNAL]
    missing = [c for c in spec.required if c not in raw.columns]
    missing += ["/".join(g) for g in spec.one_of if not any(c in raw.columns for c in g)]
    if spec.location and not any(c in raw.columns for c in ("lat", "commune", "postal_code")):
        missing.append("lat+lon/commune/postal_code")
    if missing:
        raise InputFileError(f"{name} is not a {spec.name} file: it has no column {', '.join(missing)} "
                             f"(it has {', '.join(map(str, found[:15])) or 'no column'}"
                             f"{', …' if len(found) > 15 else ''}); see docs/contract.md §1",
                             field="file", value=name)


def import_frame(engine: Engine, kind: str, raw: pd.DataFrame, *, rejects_path: str | Path | None = None,
                 communes: Communes | None = None) -> ImportReport:
    if "__line__" not in raw:
        raw = raw.copy()
        raw.insert(0, "__line__", range(1, len(raw) + 1))
    clean, reasons = validate_frame(kind, raw, communes=communes, engine=engine)
    spec = _spec(kind)
    lines = raw["__line__"].astype(int).tolist()
    marked = superseded(record_keys(kind, clean), reasons.tolist(), lines, "/".join(spec.key))
    reasons = pd.Series(marked, index=reasons.index, dtype=object)
    ok = (reasons == "").to_numpy()
    rejects = _rejects_frame(raw, reasons, ~ok)
    if rejects_path is not None:  # written first: a rejects file that cannot be written stores nothing
        write_rejects(rejects_path, rejects)
    table = TABLES[kind]
    before = records.count(engine, table)
    stored = store_frame(engine, kind, clean[ok])
    new = records.count(engine, table) - before
    return ImportReport(kind=kind, read=len(raw), stored=stored, new=new, rejected=int((~ok).sum()),
                        rejects_path=Path(rejects_path) if rejects_path else None, rejects=rejects)


def _spec(kind: str) -> Spec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(SPECS)}") from None


def _default_rejects(path: Path) -> Path:
    if str(path) == STDIN:
        return Path("stdin.rejects.csv")
    return path.with_name(path.name + ".rejects.csv")


def _rejects_frame(raw: pd.DataFrame, reasons: pd.Series, bad: np.ndarray) -> pd.DataFrame:
    sub = raw[bad].copy()
    original = [c for c in sub.columns if c not in ("__line__", "__error__")]
    out = pd.DataFrame({"line": sub["__line__"].to_numpy(), "reason": reasons[bad].to_numpy()}, dtype=object)
    for c in original:
        name = "raw_line" if c == "__raw__" else c
        out[name] = sub[c].map(_cell).to_numpy()
    return out


def _cell(value: Any) -> Any:
    """A rejected cell as written back: lists and objects as JSON, text that is not valid UTF-8
    (a lone surrogate from a JSON file) with the bad character escaped."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=True)[:10_000]
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return value


def _too_long(kind: str, clean: pd.DataFrame, reasons: pd.Series) -> pd.Series:
    """Values longer than their store column: PostgreSQL would refuse the whole batch."""
    for col in TABLES[kind].c:
        limit = getattr(col.type, "length", None)
        if not limit or col.name not in clean:
            continue
        values = clean[col.name]
        long = np.array([isinstance(v, str) and len(v) > limit for v in values], dtype=bool)
        if long.any():
            msgs = [f"{col.name} {v[:40]}… is longer than {limit} characters" for v in values[long]]
            reasons = reasons.copy()
            reasons[long] = [f"{r}; {m}" if r else m for r, m in zip(reasons[long], msgs)]
    return reasons


def outcome_reference_reasons(engine: Engine, clean: pd.DataFrame, reasons: pd.Series, *,
                              visible: Callable[[dict[str, Any]], bool] | None = None) -> pd.Series:
    """An outcome must name a stored company and a stored candidate (or that company's own
    employees). With ``visible``, a company the caller may not see is reported as absent."""
    sirens = {s for s in clean["siren"].dropna() if isinstance(s, str)}
    cands = {c for c in clean["candidate_id"].dropna() if isinstance(c, str) and not c.startswith(f"{EMPLOYEES}:")}
    if visible is None:
        known_s = records.existing(engine, store.companies.c.siren, sirens)
    else:
        rows = records.rows_by_key(engine, store.companies, "siren", sirens)
        known_s = {s for s, row in rows.items() if visible(row)}
    known_c = records.existing(engine, store.candidates.c.candidate_id, cands)
    out = reasons.copy()
    for i, (siren, cid) in enumerate(zip(clean["siren"], clean["candidate_id"])):
        s = siren if isinstance(siren, str) else None  # missing cells: already reported as required
        c = cid if isinstance(cid, str) else None
        msgs = [out.iat[i]] if out.iat[i] else []
        if s and s not in known_s:
            msgs.append(f"siren {s} is not a stored company in difficulty; import it first")
        if c and c.startswith(f"{EMPLOYEES}:"):
            if s and c != f"{EMPLOYEES}:{s}":
                msgs.append(f"candidate_id {c} names the employees of another company than siren {s}")
        elif c and c not in known_c:
            msgs.append(f"candidate_id {c} is not a stored candidate; import it first")
        out.iat[i] = "; ".join(msgs)
    return out
