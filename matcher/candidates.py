"""Stage 1: the in-memory candidate index and candidate generation with exclusion reasons.

Candidates are held as compact numpy columns (about 200 bytes each with their id and name).
A query first asks a spatial index which candidates could reach the company (each candidate's
own radius), so the work per query grows with the candidates that can matter, not with all of
them. Candidates are grouped by radius into a few buckets; within a bucket they are sorted by
the cell of a latitude/longitude grid sized to the bucket's largest radius, so the candidates
in the bounding box of that radius are a handful of contiguous slices (one per grid row, found
by binary search). The exact great-circle distance then applies each candidate's own radius.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import naf
from .geo import DEFAULT_RADIUS_KM, haversine_km
from .schema import CANDIDATE_KINDS, SCOP_LEGAL_FORMS

KINDS = CANDIDATE_KINDS + ("employees",)
KIND_CODE = {k: i for i, k in enumerate(KINDS)}
RADIUS_BUCKETS_KM = (15.0, 30.0, 60.0, 100.0, 160.0, 250.0, 400.0, 20000.0)

# Bit flags of each candidate
ESS, ESUS, TRAINS, COOP, IN_DIFFICULTY = 1, 2, 4, 8, 16

# Reasons, as shown to advisors
OUT_OF_RADIUS = "out_of_radius"
IN_DIFFICULTY_REASON = "in_difficulty"
CONFIDENTIAL = "confidential_outside_pole"
KIND_FILTER = "kind_filter"
SELF = "same_company"
NO_EMPLOYEES = "no_employees"


def _postings(lists, keys_of=None) -> dict[str, np.ndarray]:
    """key -> sorted int32 candidate positions, from each candidate's list of values.

    ``keys_of`` maps a value to the keys it is posted under (e.g. a NAF code's ancestors).
    """
    s = pd.Series(list(lists), dtype=object)
    s = s[s.map(lambda v: isinstance(v, (list, tuple)) and len(v) > 0)]
    if s.empty:
        return {}
    flat = s.explode()
    flat = flat[flat.notna()].astype(str)
    pos = flat.index.to_numpy(dtype=np.int64)
    vals = flat.to_numpy(dtype=object)
    if keys_of is not None:
        uniq = pd.unique(vals)
        expanded = {u: keys_of(u) for u in uniq}
        counts = np.array([len(expanded[v]) for v in vals])
        pos = np.repeat(pos, counts)
        vals = np.array([k for v in vals for k in expanded[v]], dtype=object)
    order = np.lexsort((pos, vals.astype(str)))
    vals, pos = vals[order], pos[order]
    keys, starts = np.unique(vals.astype(str), return_index=True)
    bounds = np.append(starts, len(vals))
    return {k: np.unique(pos[bounds[i]:bounds[i + 1]]).astype(np.int32) for i, k in enumerate(keys)}


def naf_ancestors(code: str) -> list[str]:
    """``43.32A`` -> [``43``, ``43.3``, ``43.32``, ``43.32A``]; a prefix gives itself."""
    if not code:
        return []
    out = [code[:2]]
    for n in (4, 5, 6):
        if len(code) >= n:
            out.append(code[:n])
    return out


@dataclass
class CandidateIndex:
    """Columns of all candidates, postings, and a spatial index."""

    ids: np.ndarray
    names: np.ndarray
    kind: np.ndarray  # int8 code into KINDS
    lat: np.ndarray
    lon: np.ndarray
    radius_km: np.ndarray  # float32
    naf_idx: np.ndarray  # int16, -1 unknown
    headcount: np.ndarray  # float32, nan unknown
    capacity: np.ndarray  # float32 workforce it can absorb, nan unknown
    budget: np.ndarray  # float32, nan unknown
    flags: np.ndarray  # uint8 bit flags
    sought: dict[str, np.ndarray]  # NAF prefix (division/group/class/sub-class) -> positions
    experience: dict[str, np.ndarray]
    poles: dict[str, np.ndarray]
    partners: dict[str, np.ndarray]
    _trees: list = field(default_factory=list, repr=False)
    _pos_by_id: dict[str, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, difficulty_sirens: set[str] = frozenset(),
                   sought_inferred: pd.Series | None = None) -> "CandidateIndex":
        """Build from store rows (columns of the ``candidates`` table).

        ``sought_inferred`` holds, per row, NAF sub-classes inferred from ``sought_activity``.
        """
        n = len(df)
        nom = naf.nomenclature()
        kind = df["kind"].map(KIND_CODE).to_numpy(dtype=np.int8) if n else np.zeros(0, np.int8)
        radius = pd.to_numeric(df.get("radius_km"), errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
        default = df["kind"].map(DEFAULT_RADIUS_KM).to_numpy(dtype=float) if n else np.zeros(0)
        radius = np.where(np.isnan(radius), default, radius).astype(np.float32)
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
        name_up = df["name"].astype(str).str.upper() if n else pd.Series([], dtype=str)
        coop = legal.isin(SCOP_LEGAL_FORMS).to_numpy() | name_up.str.contains(r"\bSCOP\b|\bSCIC\b", regex=True).to_numpy()
        coop |= kind == KIND_CODE["cooperative"]
        flags |= np.where(coop, COOP, 0).astype(np.uint8)
        ids = df["candidate_id"].to_numpy(dtype=object)
        if difficulty_sirens:
            flags |= np.where(pd.Series(ids).isin(difficulty_sirens).to_numpy(), IN_DIFFICULTY, 0).astype(np.uint8)
        sought_lists = df["sought_naf"] if "sought_naf" in df else [None] * n
        if sought_inferred is not None:
            sought_lists = [list(a or []) + list(b or []) for a, b in zip(sought_lists, sought_inferred)]
        index = cls(
            ids=ids,
            names=df["name"].to_numpy(dtype=object),
            kind=kind,
            lat=df["lat"].to_numpy(dtype=float),
            lon=df["lon"].to_numpy(dtype=float),
            radius_km=radius,
            naf_idx=naf_idx.to_numpy(dtype=np.int16) if n else np.zeros(0, np.int16),
            headcount=head.astype(np.float32),
            capacity=cap,
            budget=_num(df, "budget_eur").astype(np.float32),
            flags=flags,
            sought=_postings(sought_lists),
            experience=_postings(df["experience_naf"] if "experience_naf" in df else [None] * n, naf_ancestors),
            poles=_postings(df["pole"] if "pole" in df else [None] * n),
            partners=_postings(df["partners"] if "partners" in df else [None] * n),
        )
        index._build_trees()
        return index

    def _build_trees(self) -> None:
        self._trees = []
        lower = 0.0
        for upper in RADIUS_BUCKETS_KM:
            pos = np.flatnonzero((self.radius_km > lower) & (self.radius_km <= upper)).astype(np.int32)
            lower = upper
            if len(pos):
                self._trees.append(_Grid.build(pos, self.lat[pos], self.lon[pos], upper))

    def position(self, candidate_id: str) -> int | None:
        if self._pos_by_id is None:
            self._pos_by_id = {c: i for i, c in enumerate(self.ids)}
        return self._pos_by_id.get(candidate_id)

    def within_reach(self, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions of candidates whose own radius reaches (lat, lon), and their distances (km)."""
        found = [grid.around(lat, lon) for grid in self._trees]
        found = [f for f in found if len(f)]
        if not found:
            return np.zeros(0, np.int32), np.zeros(0)
        cand = np.concatenate(found)
        # cheap flat-earth distance first (within 1% + 1 km of the truth at these ranges),
        # then the exact great-circle distance on the few that may be in reach
        dy = self.lat[cand] - lat
        dx = (self.lon[cand] - lon) * np.cos(np.radians(lat))
        rough = 111.195 * np.sqrt(dx * dx + dy * dy)
        cand = np.sort(cand[rough <= self.radius_km[cand] * 1.02 + 2.0])
        dist = haversine_km(lat, lon, self.lat[cand], self.lon[cand])
        keep = dist <= self.radius_km[cand]
        return cand[keep], dist[keep]

    def membership(self, postings: dict[str, np.ndarray], keys, positions: np.ndarray) -> np.ndarray:
        """For each position, whether it appears in the postings of any of ``keys``."""
        lists = [postings[k] for k in keys if k in postings and len(postings[k])]
        if not lists:
            return np.zeros(len(positions), dtype=bool)
        mark = np.zeros(len(self), dtype=bool)  # O(posting + positions), no sort per query
        for post in lists:
            mark[post] = True
        return mark[positions]

    def deepest(self, postings: dict[str, np.ndarray], code: str | None, positions: np.ndarray) -> np.ndarray:
        """Deepest NAF level (2 division .. 5 sub-class) at which positions are posted under code."""
        mark = None
        for depth, prefix in enumerate(naf_ancestors(code or ""), start=2):
            post = postings.get(prefix)
            if post is not None and len(post):
                if mark is None:
                    mark = np.zeros(len(self), dtype=np.int8)
                mark[post] = depth  # ancestors come first, deeper levels overwrite
        if mark is None:
            return np.zeros(len(positions), dtype=np.int8)
        return mark[positions]


@dataclass
class _Grid:
    """Candidates of one radius bucket sorted by grid cell (row-major over lat, lon)."""

    radius_km: float
    cell_deg: float
    positions: np.ndarray  # candidate positions in cell order
    cells: np.ndarray  # int64 cell id of each, sorted

    NCOLS = 100_000

    @classmethod
    def build(cls, pos: np.ndarray, lat: np.ndarray, lon: np.ndarray, radius_km: float) -> "_Grid":
        cell_deg = min(max(radius_km, 10.0), 2000.0) / 111.0 / 2
        cells = cls._cell(lat, lon, cell_deg)
        order = np.argsort(cells, kind="stable")
        return cls(radius_km, cell_deg, pos[order], cells[order])

    @classmethod
    def _cell(cls, lat, lon, cell_deg):
        row = np.floor((np.asarray(lat) + 90.0) / cell_deg).astype(np.int64)
        col = np.floor((np.asarray(lon) + 180.0) / cell_deg).astype(np.int64)
        return row * cls.NCOLS + col

    def around(self, lat: float, lon: float) -> np.ndarray:
        """Candidates in the bounding box of this bucket's radius around (lat, lon)."""
        if self.radius_km >= 5000:
            return self.positions
        dlat = self.radius_km / 110.574
        top = min(89.0, abs(lat) + dlat)
        dlon = self.radius_km / (111.320 * np.cos(np.radians(top)))
        r0 = int(np.floor((lat - dlat + 90.0) / self.cell_deg))
        r1 = int(np.floor((lat + dlat + 90.0) / self.cell_deg))
        c0 = int(np.floor((lon - dlon + 180.0) / self.cell_deg))
        c1 = int(np.floor((lon + dlon + 180.0) / self.cell_deg))
        rows = np.arange(r0, r1 + 1, dtype=np.int64) * self.NCOLS
        lo = np.searchsorted(self.cells, rows + c0, side="left")
        hi = np.searchsorted(self.cells, rows + c1, side="right")
        spans = [self.positions[a:b] for a, b in zip(lo, hi) if b > a]
        return np.concatenate(spans) if spans else self.positions[:0]


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df or not len(df):
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df or not len(df):
        return np.zeros(len(df), dtype=bool)
    return df[col].map(lambda v: v is True or v == 1).to_numpy(dtype=bool)


@dataclass
class Considered:
    """The outcome of candidate generation for one query."""

    positions: np.ndarray  # candidates kept, positions into the index
    distance_km: np.ndarray
    excluded: list[tuple[int, str, float]]  # (position, reason, distance) for reported exclusions
    excluded_counts: dict[str, int]


def generate(index: CandidateIndex, *, lat: float, lon: float, siren: str, confidential: bool,
             company_poles: list[str], kinds: set[str] | None, explain: bool = False) -> Considered:
    """Who is considered for a company, and why each other candidate is excluded.

    Without ``explain`` only the counts of exclusions are returned (out-of-radius counted as
    every candidate the spatial index did not return).
    """
    pos, dist = index.within_reach(lat, lon)
    keep = np.ones(len(pos), dtype=bool)
    reasons = np.full(len(pos), "", dtype=object)

    def drop(mask: np.ndarray, reason: str) -> None:
        new = mask & keep
        reasons[new] = reason
        keep[new] = False

    me = index.position(siren)
    if me is not None:
        drop(pos == me, SELF)
    drop((index.flags[pos] & IN_DIFFICULTY) > 0, IN_DIFFICULTY_REASON)
    if confidential:
        in_pole = index.membership(index.poles, company_poles, pos)
        drop(~in_pole, CONFIDENTIAL)
    if kinds:
        codes = [KIND_CODE[k] for k in kinds if k in KIND_CODE]
        drop(~np.isin(index.kind[pos], codes), KIND_FILTER)
    counts: dict[str, int] = defaultdict(int)
    for r in reasons[~keep]:
        counts[r] += 1
    counts[OUT_OF_RADIUS] = len(index) - len(pos)
    excluded: list[tuple[int, str, float]] = []
    if explain:
        excluded = [(int(p), r, float(d)) for p, r, d in zip(pos[~keep], reasons[~keep], dist[~keep])]
        inside = np.zeros(len(index), dtype=bool)
        inside[pos] = True
        out = np.flatnonzero(~inside)
        if len(out):
            d_out = haversine_km(lat, lon, index.lat[out], index.lon[out])
            excluded += [(int(p), OUT_OF_RADIUS, float(d)) for p, d in zip(out, d_out)]
    return Considered(positions=pos[keep], distance_km=dist[keep], excluded=excluded,
                      excluded_counts={k: v for k, v in counts.items() if v})
