"""Stage 1: the in-memory candidate index (candidate generation is in ``generation.py``).

Candidates are held as compact numpy columns (about 200 bytes each with their id and name).
A query first asks the spatial index which candidates could reach the company (each
candidate's own radius), so the work per query grows with the candidates that can matter, not
with all of them. The index stores candidates in spatial order: by radius bucket (15, 30, 60,
100, 160, 250, 400 km, beyond), then by the cell of a latitude/longitude grid sized to the
bucket. The bounding box of a bucket's radius around a company is then a few ranges of
positions (one per grid row, found by binary search), and because every posting list (NAF
division, declared interest, experience, pole, partners) is a sorted array of positions, the
candidates of a posting inside the box come from two vectorised binary searches as well. A cheap
flat-earth distance discards most of the box; the exact great-circle distance then applies each
candidate's own radius.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matcher.contract.specs import DEFAULT_RADIUS_KM, OPTION_KINDS, is_cooperative
from matcher.ranking.postings import naf_ancestors, postings
from matcher.ranking.spatial import box_ranges, within
from matcher.ranking.spatial import expand as _expand
from matcher.ranking.spatial import in_sorted as _in_sorted
from matcher.ranking.spatial import is_sorted as _is_sorted
from matcher.ranking.spatial import spatial_keys as _spatial_keys
from matcher.ranking.spatial import take as _take
from matcher.reference import naf
from matcher.reference.geo import haversine_km

KINDS = OPTION_KINDS  # code of each kind: its position here
KIND_CODE = {k: i for i, k in enumerate(KINDS)}

# Bit flags of each candidate
# IN_DIFFICULTY: a public procedure; HIDDEN_DIFFICULTY: a confidential one, known only to its poles
ESS, ESUS, TRAINS, COOP, IN_DIFFICULTY, HIDDEN_DIFFICULTY = 1, 2, 4, 8, 16, 32

# Reasons, as shown to advisors
OUT_OF_RADIUS = "out_of_radius"
IN_DIFFICULTY_REASON = "in_difficulty"
CONFIDENTIAL = "confidential_outside_pole"
KIND_FILTER = "kind_filter"
SELF = "same_company"
NO_EMPLOYEES = "no_employees"
COOP_SCAN_MAX = 20_000
NOT_SCORED = "not_scored"  # out of reach, or unlinked to the trade and unable to reach the list
# Reasons an exclusion listing can give, by code
REASONS = (SELF, IN_DIFFICULTY_REASON, CONFIDENTIAL, KIND_FILTER, OUT_OF_RADIUS)


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
    # pole -> candidates that are confidential cases followed by that pole (HIDDEN_DIFFICULTY)
    hidden_poles: dict[str, np.ndarray] = field(default_factory=dict)
    # own NAF division and position packed in one sorted int64 (division << 32 | position): the
    # candidates of several divisions inside the box come from one binary search
    by_division: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    division_of: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    coops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # cooperatives not in difficulty
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # spatial sort key, sorted
    _pos_by_id: dict[str, int] | None = field(default=None, repr=False)
    _coop_lat: np.ndarray | None = field(default=None, repr=False)
    _coop_lon: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, difficulty_sirens: set[str] = frozenset(),
                   hidden_difficulty: Mapping[str, list[str]] | None = None,
                   sought_inferred: pd.Series | None = None) -> CandidateIndex:
        """Build from store rows (columns of the ``candidates`` table).

        ``difficulty_sirens``: candidates that are companies in a public procedure;
        ``hidden_difficulty``: those in a confidential one, with the poles that follow the case.
        ``sought_inferred`` holds, per row, NAF sub-classes inferred from ``sought_activity``.
        """
        n = len(df)
        nom = naf.nomenclature()
        radius = pd.to_numeric(df.get("radius_km"), errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
        default = df["kind"].map(DEFAULT_RADIUS_KM).to_numpy(dtype=float) if n else np.zeros(0)
        radius = np.where(np.isnan(radius), default, radius).astype(np.float32)
        keys = _spatial_keys(radius, df["lat"].to_numpy(dtype=float) if n else np.zeros(0),
                             df["lon"].to_numpy(dtype=float) if n else np.zeros(0))
        order = np.argsort(keys, kind="stable")
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
        # numpy's variable-width strings: one buffer instead of a Python object per id and name,
        # so the index keeps ~240 bytes per candidate resident instead of ~1,400 at 1M
        ids = np.array(df["candidate_id"].astype(str).tolist(), dtype=np.dtypes.StringDType())
        if difficulty_sirens:
            flags |= np.where(pd.Series(ids).isin(difficulty_sirens).to_numpy(), IN_DIFFICULTY, 0).astype(np.uint8)
        hidden = dict(hidden_difficulty or {})
        hidden_of = [hidden.get(c) for c in df["candidate_id"].astype(str)] if hidden else [None] * n
        if hidden:
            flags |= np.where([h is not None for h in hidden_of], HIDDEN_DIFFICULTY, 0).astype(np.uint8)
        sought_lists = df["sought_naf"] if "sought_naf" in df else [None] * n
        if sought_inferred is not None:
            sought_lists = [list(a or []) + list(b or []) for a, b in zip(sought_lists, sought_inferred)]
        index = cls(
            ids=ids,
            names=np.array(df["name"].astype(str).tolist(), dtype=np.dtypes.StringDType()),
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

    @property
    def divisions(self) -> np.ndarray:
        """NAF division of each candidate's own activity (0 when unknown)."""
        divs = naf.nomenclature().divisions
        return np.where(self.naf_idx >= 0, divs[np.maximum(self.naf_idx, 0)], 0).astype(np.int16)

    def position(self, candidate_id: str) -> int | None:
        if self._pos_by_id is None:
            self._pos_by_id = {c: i for i, c in enumerate(self.ids)}
        return self._pos_by_id.get(candidate_id)

    def box_ranges(self, lat: float, lon: float, max_km: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Position ranges [lo, hi) holding every candidate whose radius bucket (capped at
        ``max_km``) could reach (lat, lon)."""
        return box_ranges(self.keys, lat, lon, max_km)

    def within_reach(self, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions of candidates whose own radius reaches (lat, lon), and their distances (km),
        in increasing position."""
        cand = _expand(*self.box_ranges(lat, lon))
        return self._in_reach(lat, lon, cand, self.radius_km[cand])[:2]

    def linked_in_reach(self, lat: float, lon: float, *, divisions: list[int],
                        linked: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates in reach whose own activity is in ``divisions`` or who are in a ``linked``
        posting, in increasing position: positions, distances (km), and whether each is in a
        posting."""
        lo, hi = self.box_ranges(lat, lon)
        parts = [self.division_take(divisions, lo, hi)]
        parts += [_take(p, lo, hi) for p in linked if len(p)]
        cand = np.concatenate(parts)  # a linked candidate may appear twice: deduplicated once in reach
        posted = np.arange(len(cand)) >= len(parts[0])
        cand, dist, kept = self._in_reach(lat, lon, cand, self.radius_km[cand])
        posted = posted[kept]
        if len(parts) > 1:
            order = np.lexsort((~posted, cand))  # by position, a posted occurrence first
            cand, dist, posted = cand[order], dist[order], posted[order]
            first = np.ones(len(cand), dtype=bool)
            first[1:] = cand[1:] != cand[:-1]
            return cand[first], dist[first], posted[first]
        order = np.argsort(cand, kind="stable")
        return cand[order], dist[order], posted[order]

    def _in_reach(self, lat: float, lon: float, cand: np.ndarray, limit: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates within their ``limit`` (km) of (lat, lon), their distances, and their
        indices in ``cand``."""
        kept, dist = within(lat, lon, self.lat[cand], self.lon[cand], limit)
        return cand[kept].astype(np.int64), dist, kept

    def division_take(self, divisions: list[int], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Positions in the ranges [lo, hi) of candidates whose own activity is in ``divisions``
        (grouped by division, each group sorted)."""
        base = np.asarray(divisions, dtype=np.int64)[:, None] << 32
        packed = self.by_division
        a = np.searchsorted(packed, (base + lo).ravel())
        b = np.searchsorted(packed, (base + hi).ravel())
        return packed[_expand(a, b)] & 0xFFFFFFFF

    def near_unlinked(self, lat: float, lon: float, near_km: float, *, divisions: list[int],
                      linked: list[np.ndarray], kind_km: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Candidates within ``near_km`` (and their own radius) that are neither in
        ``divisions`` nor in the ``linked`` postings, with their distances (km), in increasing
        position. ``kind_km`` narrows the distance per kind (indexed by kind code)."""
        cand = _expand(*self.box_ranges(lat, lon, max_km=near_km))
        in_divisions = np.zeros(100, dtype=bool)
        in_divisions[np.asarray(divisions, dtype=np.int64)] = True
        keep = ~in_divisions[self.division_of[cand]]
        for post in linked:
            keep &= ~_in_sorted(post, cand, True)
        cand = cand[keep]
        limit = np.minimum(self.radius_km[cand], near_km if kind_km is None else kind_km[self.kind[cand]])
        dist = haversine_km(lat, lon, self.lat[cand], self.lon[cand])
        inside = dist <= limit
        return cand[inside], dist[inside]  # box ranges come in increasing position

    def cooperative_within(self, lat: float, lon: float, km: float) -> bool:
        """Whether a cooperative (SCOP, SCIC) not itself in difficulty lies within ``km``."""
        if len(self.coops) > COOP_SCAN_MAX:  # many: those in the box around the company
            near = _take(self.coops, *box_ranges(self.keys, lat, lon, within_km=km * 1.01 + 1.0))
            clat, clon = self.lat[near], self.lon[near]
        else:  # a few thousand: measuring them all beats building the box
            if self._coop_lat is None:
                self._coop_lat, self._coop_lon = self.lat[self.coops], self.lon[self.coops]
            clat, clon = self._coop_lat, self._coop_lon
        return bool(len(within(lat, lon, clat, clon, np.full(len(clat), km))[0]))

    def linked(self, *, naf_code: str | None, poles: list[str], siren: str) -> list[np.ndarray]:
        """Postings of candidates linked to a company: declared interest or experience in its
        trade, membership of its poles, or partnership with it."""
        parts = [self.sought.get(p) for p in naf_ancestors(naf_code or "")]
        # experience is posted under every ancestor of a code: the division's posting holds the rest
        parts += [self.experience.get(p) for p in naf_ancestors(naf_code or "")[:1]]
        parts += [self.poles.get(p) for p in poles] + [self.partners.get(siren)]
        return [p for p in parts if p is not None and len(p)]

    def membership(self, postings: dict[str, np.ndarray], keys, positions: np.ndarray) -> np.ndarray:
        """For each position, whether it appears in the postings of any of ``keys``."""
        hit = np.zeros(len(positions), dtype=bool)
        ordered = None
        for k in keys:
            post = postings.get(k)
            if post is not None and len(post):
                ordered = _is_sorted(positions) if ordered is None else ordered
                hit |= _in_sorted(post, positions, ordered)
        return hit

    def deepest(self, postings: dict[str, np.ndarray], code: str | None, positions: np.ndarray) -> np.ndarray:
        """Deepest NAF level (2 division .. 5 sub-class) at which positions are posted under code."""
        level = np.zeros(len(positions), dtype=np.int8)
        ordered = None
        for depth, prefix in enumerate(naf_ancestors(code or ""), start=2):
            post = postings.get(prefix)
            if post is not None and len(post):
                ordered = _is_sorted(positions) if ordered is None else ordered
                level[_in_sorted(post, positions, ordered)] = depth  # deeper levels overwrite
        return level


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df or not len(df):
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df or not len(df):
        return np.zeros(len(df), dtype=bool)
    return df[col].map(lambda v: v is True or v == 1).to_numpy(dtype=bool)
