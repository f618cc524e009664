"""``reprise import sirene``: the candidate pool of a territory from INSEE's two stock files.

1. The establishments file streams once (:mod:`matcher.sirene.establishments`): the active
   establishments of the territory, and every establishment of the pole's own candidates that are
   firms with a SIREN (followed wherever they are).
2. The units file streams once for the SIRENs that matter (:mod:`matcher.sirene.units`).
3. A unit is a candidate when it is active and has an active establishment in the territory. Its
   record goes through the contract's validation (``matcher.contract``), so it is stored exactly
   as ``reprise import candidates`` would store the same row (a commune centre when the
   coordinates are missing).
4. Merge (docs/contract.md §1.7): a record SIRENE made (``source`` ``sirene``) is rewritten from
   the register; a record the pole declared (``source`` ``import``) gets only its NAF, headcount,
   place and whether it is in the pool from the register, and keeps its kind and declared fields.
   Only the records that change are written, so importing the same files twice writes nothing.
5. Departures: a SIRENE record of the territory whose unit ceased (``ceased``), has no active
   establishment left there (``closed``) or is no longer in the files (``not_in_register``), and
   a pole's record whose unit ceased or whose establishments are all closed, leave the pool:
   never proposed again, their outcomes kept.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from matcher.contract.identifiers import luhn_valid
from matcher.contract.imports import validate_frame
from matcher.errors import InputFileError
from matcher.reference.communes import Communes
from matcher.reference.territories import Territory
from matcher.sirene import establishments, units
from matcher.sirene.stock import Progress, StockFile
from matcher.store import connection
from matcher.store.pool import pool_frame, write_pool

FIRM_KINDS = ("company", "pole_member", "cooperative")
CHUNK = 100_000  # candidates validated and written at a time
SIRENE_FIELDS = ["kind", "name", "naf", "lat", "lon", "commune", "postal_code", "departement", "headcount",
                 "legal_form", "ess"]
REFRESHED = ["naf", "headcount", "lat", "lon", "commune", "postal_code", "departement"]  # a pole's record
FILLED = ["legal_form", "ess"]  # a pole's record: taken from SIRENE only when the pole left them empty
REJECT_COLUMNS = ["file", "line", "reason", "siren", "siret", "name", "commune", "postal_code"]
NO_UNIT = "has an active establishment in the territory but no row in the units file"


@dataclass
class PoolReport:
    establishments_read: int = 0
    units_read: int = 0
    in_territory: int = 0  # active establishments in the territory
    units_in_territory: int = 0  # active units with one: the territory's candidates
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    left: Counter = field(default_factory=Counter)  # reason -> candidates that left the pool
    rejected: Counter = field(default_factory=Counter)  # reason (without the values) -> rows
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def stored(self) -> int:
        return self.new + self.updated

    def summary(self) -> str:
        def counts(c: Counter) -> str:
            return " (" + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items())) + ")" if c else ""
        return (f"sirene: read {self.establishments_read:,} establishments and {self.units_read:,} units; "
                f"in territory {self.in_territory:,} active establishments of {self.units_in_territory:,} "
                f"active units; stored {self.stored:,} ({self.new:,} new, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged); left the pool {sum(self.left.values()):,}{counts(self.left)}; "
                f"rejected {sum(self.rejected.values()):,}{counts(self.rejected)}")


def import_pool(db: Engine, units_file: StockFile, establishments_file: StockFile, territory: Territory,
                communes: Communes, *, progress: dict[str, Progress] | None = None,
                today: dt.date | None = None) -> PoolReport:
    """Build and store the pool of ``territory``; the report says what was read, stored, left, rejected."""
    progress = progress or {}
    report = PoolReport()
    stored = pool_frame(db).set_index("candidate_id")
    pole_own = stored[(stored["source"] != "sirene") & stored["kind"].isin(FIRM_KINDS)].index
    pole_own = pole_own[_sirens(pole_own)]
    mine = stored[stored["source"] == "sirene"]
    mine = mine[territory.contains(mine["commune"], mine["lat"].to_numpy(dtype=float),
                                   mine["lon"].to_numpy(dtype=float))]
    places = establishments.scan(establishments_file, territory, communes, pole_own,
                                 progress.get("establishments"))
    report.establishments_read, report.in_territory = places.read, places.in_territory
    if not places.in_territory and len(mine):  # a wrong or truncated file must not empty the pool
        raise InputFileError(f"{establishments_file.label} {establishments_file.path} holds no active establishment "
                             f"in the territory ({territory.label}), where {len(mine):,} candidates came from SIRENE; "
                             "nothing was changed. Give INSEE's StockEtablissement file of the whole country (or of "
                             "a part that covers the territory)", field=establishments_file.label,
                             value=str(establishments_file.path))
    wanted = set(places.place.index) | set(pole_own) | set(mine.index)
    raw_units, report.units_read = units.read(units_file, wanted, progress.get("units"))
    prof = units.profile(raw_units)
    del raw_units, wanted

    local = sorted(places.in_territory_units)
    active = prof["active"].reindex(local, fill_value=False).to_numpy(dtype=bool)
    report.units_in_territory = int(active.sum())
    missing = [s for s in local if s not in prof.index]
    # the pole's own records, followed outside the territory too
    followed = [s for s in pole_own if s in places.place.index and s not in places.in_territory_units
                and s in prof.index and prof.at[s, "active"]]
    built = [s for s, ok in zip(local, active) if ok] + followed
    leaving = _leaving(stored, mine, pole_own, set(built) | set(missing), prof, places)
    report.left = Counter(leaving.values())
    rejects = [_missing_units(missing, places.place)]

    def chunks() -> Iterator[pd.DataFrame]:
        """Validated, merged and written a chunk at a time: memory follows the chunk, not the territory."""
        for lo in range(0, len(built), CHUNK):
            clean, refused = _validated(built[lo:lo + CHUNK], prof, places.place, communes)
            rejects.append(refused)
            frames, (new, updated, unchanged) = _merge(clean, stored)
            report.new, report.updated, report.unchanged = (
                report.new + new, report.updated + updated, report.unchanged + unchanged)
            yield from frames

    write_pool(db, chunks(), leaving, at=(today or dt.date.today()).isoformat())
    report.rejects = pd.concat([r for r in rejects if len(r)] or [pd.DataFrame(columns=REJECT_COLUMNS)],
                               ignore_index=True)[REJECT_COLUMNS]
    report.rejected = Counter(_reason_kind(r) for r in report.rejects["reason"])
    return report


def _sirens(ids: pd.Index) -> np.ndarray:
    s = pd.Series(ids.astype(str), dtype=object)
    looks = s.str.fullmatch(r"\d{9}").to_numpy(dtype=bool)
    ok = np.zeros(len(s), dtype=bool)
    if looks.any():
        ok[looks] = luhn_valid(s[looks])
    return ok


def _validated(sirens: list[str], prof: pd.DataFrame, place: pd.DataFrame,
               communes: Communes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The candidates' records through the contract's validation: (clean rows by id, rejects)."""
    if not sirens:  # a territory without a firm
        return (pd.DataFrame(columns=[*SIRENE_FIELDS], index=pd.Index([], name="candidate_id")),
                pd.DataFrame(columns=REJECT_COLUMNS))
    p, at = prof.reindex(sirens), place.reindex(sirens)
    raw = pd.DataFrame({
        "candidate_id": sirens, "kind": p["kind"].to_numpy(), "name": p["name"].to_numpy(),
        "naf": p["naf"].to_numpy(), "lat": at["lat"].round(6).to_numpy(), "lon": at["lon"].round(6).to_numpy(),
        "commune": at["commune"].to_numpy(), "postal_code": at["postal_code"].to_numpy(),
        "headcount": p["headcount"].to_numpy(), "legal_form": p["legal_form"].to_numpy(),
        "ess": p["ess"].map({True: "true", False: "false"}).to_numpy(), "source": "sirene"})
    for col in ("commune", "postal_code"):  # a code the contract would refuse is left out, the rest kept
        values = raw[col].fillna("").astype(str)
        shape = r"\d{5}|2[AB]\d{3}" if col == "commune" else r"\d{5}"
        raw[col] = values.where(values.str.fullmatch(shape), None)
    clean, reasons = validate_frame("candidates", raw, communes=communes)
    bad = (reasons != "").to_numpy()
    rejects = pd.DataFrame({"file": "--unites", "line": p["line"].to_numpy()[bad], "reason": reasons[bad].to_numpy(),
                            "siren": raw["candidate_id"][bad].to_numpy(), "siret": at["siret"].to_numpy()[bad],
                            "name": raw["name"][bad].to_numpy(), "commune": at["commune"].to_numpy()[bad],
                            "postal_code": at["postal_code"].to_numpy()[bad]})
    clean = clean[~bad].set_index("candidate_id")
    return clean, rejects


def _missing_units(missing: list[str], place: pd.DataFrame) -> pd.DataFrame:
    at = place.reindex(missing)
    return pd.DataFrame({"file": "--etablissements", "line": None,
                         "reason": [f"siren {s} {NO_UNIT}" for s in missing], "siren": missing,
                         "siret": at["siret"].to_numpy(), "name": None, "commune": at["commune"].to_numpy(),
                         "postal_code": at["postal_code"].to_numpy()})


def _reason_kind(reason: str) -> str:
    """A rejection's reason without its values, to count them: 'commune … is not in …' -> 'no place'."""
    if NO_UNIT in reason:
        return "not in the units file"
    if "is not in" in reason or "no location" in reason:
        return "no place"
    return reason.split(";", maxsplit=1)[0].split(" ", maxsplit=1)[0] + " refused"


def _merge(clean: pd.DataFrame, stored: pd.DataFrame) -> tuple[list[pd.DataFrame], tuple[int, int, int]]:
    """The rows to write: a new record whole (as ``import candidates`` would store it), SIRENE's
    records on SIRENE's fields, the pole's records refreshed; only those that change."""
    now = connection.now()
    known = clean.index.isin(stored.index)
    source = stored["source"].reindex(clean.index)
    pole = (known & (source != "sirene")).to_numpy()
    new = clean[~known].drop(columns=["extra"], errors="ignore").assign(source="sirene", left_pool=None)
    ours = clean[known & ~pole][SIRENE_FIELDS].assign(source="sirene", left_pool=None)
    theirs = clean[pole][REFRESHED].copy()
    before = stored.reindex(theirs.index)
    for col in ("naf", "headcount"):  # unknown in SIRENE (NAF rév. 1, no band): the pole's value stays
        theirs[col] = theirs[col].where(theirs[col].notna(), before[col])
    for col in FILLED:
        theirs[col] = before[col].where(before[col].notna(), clean[pole][col])
    for col in ("kind", "name", "source"):  # kept; written back because an upsert's row must be complete
        theirs[col] = before[col]
    theirs["left_pool"] = None
    frames, written = [], 0
    for frame in (new, ours, theirs):
        changed = _changed(frame, stored)
        written += int(changed.sum())
        out = frame[changed].reset_index(names="candidate_id")
        out["left_at"] = None
        out["updated_at"] = now
        frames.append(out)
    fresh = len(new)
    return frames, (fresh, written - fresh, len(clean) - written)


def _changed(frame: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` that are new or differ from the stored record in one of its columns."""
    before = stored.reindex(frame.index)
    out = ~frame.index.isin(stored.index)
    for col in frame.columns.intersection(stored.columns):
        a, b = frame[col].astype(object), before[col].astype(object)
        same = (a.isna() & b.isna()) | (a == b)
        if col in ("lat", "lon", "headcount"):
            num_a, num_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
            same = same | ((num_a - num_b).abs() < 1e-9)
        out |= ~same.to_numpy(dtype=bool)
    return out


def _leaving(stored: pd.DataFrame, mine: pd.DataFrame, pole_own: pd.Index, present: set[str],
             prof: pd.DataFrame, places: establishments.Places) -> dict[str, str]:
    """Candidate id -> why it leaves the pool now (those already out are not counted again)."""
    out: dict[str, str] = {}
    in_pool = stored["left_pool"].isna()
    for cid in mine.index:
        if cid in present or not in_pool.get(cid, False):
            continue
        if cid in prof.index:
            out[cid] = "closed" if prof.at[cid, "active"] else "ceased"
        else:
            out[cid] = "not_in_register"
    for cid in pole_own:
        if cid in present or not in_pool.get(cid, False):
            continue
        if cid in prof.index and not prof.at[cid, "active"]:
            out[cid] = "ceased"
        elif cid in places.all_closed:
            out[cid] = "closed"
    return out
