"""Building the candidate index: from store rows (one frame) or from the whole store.

Every value of a candidate's row in the index depends on that row alone (and on whether the
candidate is a company in difficulty), so an index built from a few rows (a delta segment) holds
exactly what a full build holds for them. Rows are put in the canonical order: spatial key, then
candidate id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine as DbEngine

from matcher.contract.specs import DEFAULT_RADIUS_KM, is_cooperative
from matcher.ranking.columns import StringColumn
from matcher.ranking.index import COOP, ESS, ESUS, HIDDEN_DIFFICULTY, IN_DIFFICULTY, KIND_CODE, TRAINS
from matcher.ranking.postings import naf_ancestors, postings
from matcher.ranking.spatial import spatial_keys as _spatial_keys
from matcher.reference import naf

INDEX_COLUMNS = ["candidate_id", "kind", "name", "naf", "sought_naf", "sought_activity", "experience_naf",
                 "lat", "lon", "radius_km", "headcount", "budget_eur", "max_target_headcount", "legal_form",
                 "ess", "esus", "pole", "partners", "trains_apprentices"]


def read_index(cls: type, db: DbEngine, inferer: Any) -> Any:
    """The index of every candidate in the pool (``inferer`` reads ``sought_activity``); a
    candidate that left the pool (``left_pool`` set) is never proposed."""
    from matcher import store
    from matcher.reference.territories import Poles
    from matcher.store import records
    public, hidden = difficulty_of(records.difficulty_cases(db), Poles(records.pole_rows(db)))
    frame = store.read_frame(db, store.candidates, [store.candidates.c.left_pool.is_(None)])[INDEX_COLUMNS]
    return index_from_frame(cls, frame, difficulty_sirens=public, hidden_difficulty=hidden,
                            sought_inferred=infer_sought(frame, inferer))


def difficulty_of(cases: list[dict], poles: Any) -> tuple[set[str], dict[str, list[str]]]:
    """The SIRENs in a public procedure, and those in a confidential one with the poles that
    follow each (``matcher.contract.confidentiality``), from the companies in difficulty."""
    public = {c["siren"] for c in cases if not c["confidential"]}
    hidden = {c["siren"]: poles.of_company(c) for c in cases if c["confidential"]}
    return public, hidden


def infer_sought(frame: pd.DataFrame, inferer: Any, cache: dict[str, list[str]] | None = None) -> list | None:
    """NAF sub-classes inferred once per distinct ``sought_activity`` text (``cache`` keeps them
    across calls)."""
    if "sought_activity" not in frame or frame["sought_activity"].isna().all():
        return None
    texts = frame["sought_activity"].fillna("").astype(str).tolist()
    cache = {} if cache is None else cache
    unique = sorted({t for t in texts if t and t not in cache})
    if unique:
        if inferer is None:
            from matcher.reference.sectors import default_inferer
            inferer = default_inferer()
        cache.update({t: [code for code, _ in found] for t, found in zip(unique, inferer.infer(unique, top=2))})
    return [cache.get(t, []) if t else [] for t in texts]


def index_from_frame(cls: type, df: pd.DataFrame, *, difficulty_sirens: set[str] = frozenset(),
                     hidden_difficulty: Mapping[str, list[str]] | None = None,
                     sought_inferred: list | None = None) -> Any:
    """``cls.from_frame``: see :meth:`matcher.ranking.index.CandidateIndex.from_frame`."""
    n = len(df)
    nom = naf.nomenclature()
    radius = pd.to_numeric(df.get("radius_km"), errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
    default = df["kind"].map(DEFAULT_RADIUS_KM).to_numpy(dtype=float) if n else np.zeros(0)
    radius = np.where(np.isnan(radius), default, radius).astype(np.float32)
    keys = _spatial_keys(radius, df["lat"].to_numpy(dtype=float) if n else np.zeros(0),
                         df["lon"].to_numpy(dtype=float) if n else np.zeros(0))
    # canonical order: spatial key, then candidate id (whatever order the store returned rows in)
    raw_ids = df["candidate_id"].astype(str).to_numpy(dtype=object) if n else np.zeros(0, dtype=object)
    by_id = np.argsort(raw_ids.astype(np.dtypes.StringDType()), kind="stable")
    order = by_id[np.argsort(keys[by_id], kind="stable")]
    df = df.iloc[order].reset_index(drop=True)
    radius, keys = radius[order], keys[order]
    if sought_inferred is not None:
        sought_inferred = [sought_inferred[i] for i in order]
    kind = df["kind"].map(KIND_CODE).to_numpy(dtype=np.int8) if n else np.zeros(0, np.int8)
    naf_idx = df["naf"].map(lambda c: nom.index.get(c, -1) if isinstance(c, str) else -1)
    head = _num(df, "headcount")
    cap = _num(df, "max_target_headcount")
    # a firm with no declared ceiling can absorb about half its own size more, at least a few
    est = np.where(np.isnan(head), np.nan, np.maximum(3.0, 0.5 * head))
    firms = np.isin(kind, [KIND_CODE["company"], KIND_CODE["pole_member"], KIND_CODE["cooperative"]])
    cap = np.where(np.isnan(cap) & firms, est, cap).astype(np.float32)
    flags = np.zeros(n, dtype=np.uint8)
    flags |= np.where(_bool(df, "ess"), ESS, 0).astype(np.uint8)
    flags |= np.where(_bool(df, "esus"), ESUS, 0).astype(np.uint8)
    flags |= np.where(_bool(df, "trains_apprentices"), TRAINS, 0).astype(np.uint8)
    legal = df["legal_form"].astype(object) if "legal_form" in df else pd.Series([None] * n)
    coop = is_cooperative(legal, df["name"]).to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
    coop = coop | (kind == KIND_CODE["cooperative"])
    flags |= np.where(coop, COOP, 0).astype(np.uint8)
    # one UTF-8 buffer instead of a Python object per id and name (~1,400 bytes per candidate
    # resident at 1M otherwise), and a layout that can be memory-mapped from a snapshot
    id_list = raw_ids[order].tolist()
    ids = StringColumn.from_values(id_list)
    if difficulty_sirens:
        in_diff = pd.Series(id_list, dtype=object).isin(difficulty_sirens).to_numpy()
        flags |= np.where(in_diff, IN_DIFFICULTY, 0).astype(np.uint8)
    hidden = dict(hidden_difficulty or {})
    hidden_of = [hidden.get(c) for c in id_list] if hidden else [None] * n
    if hidden:
        flags |= np.where([h is not None for h in hidden_of], HIDDEN_DIFFICULTY, 0).astype(np.uint8)
    sought_lists = df["sought_naf"] if "sought_naf" in df else [None] * n
    if sought_inferred is not None:
        sought_lists = [list(a or []) + list(b or []) for a, b in zip(sought_lists, sought_inferred)]
    index = cls(
        ids=ids,
        names=StringColumn.from_values(df["name"].astype(str).tolist()),
        kind=kind,
        lat=df["lat"].to_numpy(dtype=float),
        lon=df["lon"].to_numpy(dtype=float),
        radius_km=radius,
        naf_idx=naf_idx.to_numpy(dtype=np.int16) if n else np.zeros(0, np.int16),
        headcount=head.astype(np.float32),
        capacity=cap,
        budget=_num(df, "budget_eur").astype(np.float32),
        flags=flags,
        sought=postings(sought_lists),
        experience=postings(df["experience_naf"] if "experience_naf" in df else [None] * n, naf_ancestors),
        poles=postings(df["pole"] if "pole" in df else [None] * n),
        partners=postings(df["partners"] if "partners" in df else [None] * n),
        hidden_poles=postings(hidden_of),
        keys=keys,
    )
    index.division_of = index.divisions
    index.by_division = np.sort((index.division_of.astype(np.int64) << 32) | np.arange(n, dtype=np.int64))
    index.coops = np.flatnonzero(((flags & COOP) > 0) & ((flags & IN_DIFFICULTY) == 0)).astype(np.int32)
    return index


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df or not len(df):
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df or not len(df):
        return np.zeros(len(df), dtype=bool)
    return df[col].map(lambda v: v is True or v == 1).to_numpy(dtype=bool)
