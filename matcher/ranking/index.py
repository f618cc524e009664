"""Stage 1: the in-memory candidate index (its spatial reads are in ``reach.py``, candidate
generation in ``candidates.py``).

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

from matcher.contract.specs import OPTION_KINDS
from matcher.ranking.columns import IdLookup, StringColumn
from matcher.ranking.postings import naf_ancestors
from matcher.ranking.reach import Reach
from matcher.ranking.spatial import box_ranges, union_sorted
from matcher.ranking.spatial import expand as _expand
from matcher.ranking.spatial import in_sorted as _in_sorted
from matcher.ranking.spatial import is_sorted as _is_sorted
from matcher.reference import naf

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
NOT_SCORED = "not_scored"  # out of reach, or unlinked to the trade and unable to reach the list
# Reasons an exclusion listing can give, by code
REASONS = (SELF, IN_DIFFICULTY_REASON, CONFIDENTIAL, KIND_FILTER, OUT_OF_RADIUS)


@dataclass
class CandidateIndex(Reach):
    """Columns of all candidates, postings, and a spatial index (its reads: :class:`Reach`)."""

    ids: StringColumn
    names: StringColumn
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
    source: str | None = None  # the snapshot generation it was opened from, if any
    _lookup: IdLookup | None = field(default=None, repr=False)
    _division_kinds: np.ndarray | None = field(default=None, repr=False)  # (division, kind) -> any
    _coop_cells: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # see Reach

    ordered = True  # positions are the canonical order (see ``order_of``)

    def __reduce__(self):
        """Opened from a snapshot, it travels as the snapshot's path (a Dask worker or another
        process opens it from a disk it shares, mapping instead of copying); else by value."""
        if self.source is not None:
            from matcher.ranking.snapshot import open_generation
            return (open_generation, (self.source,))
        return super().__reduce__()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def span(self) -> int:
        """Size of the position space (positions run from 0 to ``span`` - 1)."""
        return len(self.ids)

    def order_of(self, positions: np.ndarray) -> np.ndarray:
        """Canonical order of candidates (spatial key, then id): ties in a list are broken by it,
        so an answer does not depend on how the index was assembled. Here it is the position."""
        return np.asarray(positions, dtype=np.int64)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, difficulty_sirens: set[str] = frozenset(),
                   hidden_difficulty: Mapping[str, list[str]] | None = None,
                   sought_inferred: pd.Series | None = None) -> CandidateIndex:
        """Build from store rows (columns of the ``candidates`` table).

        ``difficulty_sirens``: candidates that are companies in a public procedure;
        ``hidden_difficulty``: those in a confidential one, with the poles that follow the case.
        ``sought_inferred`` holds, per row, NAF sub-classes inferred from ``sought_activity``.
        """
        from matcher.ranking.building import index_from_frame
        return index_from_frame(cls, df, difficulty_sirens=difficulty_sirens, hidden_difficulty=hidden_difficulty,
                                sought_inferred=sought_inferred)

    @property
    def divisions(self) -> np.ndarray:
        """NAF division of each candidate's own activity (0 when unknown)."""
        divs = naf.nomenclature().divisions
        return np.where(self.naf_idx >= 0, divs[np.maximum(self.naf_idx, 0)], 0).astype(np.int16)

    @property
    def lookup(self) -> IdLookup:
        if self._lookup is None:
            self._lookup = IdLookup.build(self.ids)
        return self._lookup

    def position(self, candidate_id: str) -> int | None:
        return self.lookup.find(self.ids, candidate_id)

    def positions_of(self, candidate_ids: list[str]) -> np.ndarray:
        """Positions of ids (-1 where absent)."""
        return self.lookup.find_many(self.ids, candidate_ids)

    def all_positions(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64)

    def positions_in_box(self, lat: float, lon: float, within_km: float) -> np.ndarray:
        """Positions of the candidates in a box holding every point within ``within_km`` of (lat, lon)."""
        return _expand(*box_ranges(self.keys, lat, lon, within_km=within_km))

    def postings_of(self, family: str, keys) -> list[np.ndarray]:
        """The non-empty postings of ``keys`` in a family (sought, experience, poles, partners)."""
        table = getattr(self, family)
        return [p for p in (table.get(k) for k in keys) if p is not None and len(p)]

    def count_distinct(self, parts: list[np.ndarray]) -> int:
        """How many candidates the postings ``parts`` hold together."""
        return len(union_sorted(parts))

    def linked(self, *, naf_code: str | None, poles: list[str], siren: str) -> list[np.ndarray]:
        """Postings of candidates linked to a company: declared interest or experience in its
        trade, membership of its poles, or partnership with it."""
        parts = [self.sought.get(p) for p in naf_ancestors(naf_code or "")]
        # experience is posted under every ancestor of a code: the division's posting holds the rest
        parts += [self.experience.get(p) for p in naf_ancestors(naf_code or "")[:1]]
        parts += [self.poles.get(p) for p in poles] + [self.partners.get(siren)]
        return [p for p in parts if p is not None and len(p)]

    def membership(self, family: str, keys, positions: np.ndarray) -> np.ndarray:
        """For each position, whether it appears in the postings of any of ``keys`` in ``family``."""
        postings = getattr(self, family)
        hit = np.zeros(len(positions), dtype=bool)
        ordered = None
        for k in keys:
            post = postings.get(k)
            if post is not None and len(post):
                ordered = _is_sorted(positions) if ordered is None else ordered
                hit |= _in_sorted(post, positions, ordered)
        return hit

    def deepest(self, family: str, code: str | None, positions: np.ndarray) -> np.ndarray:
        """Deepest NAF level (2 division .. 5 sub-class) at which positions are posted under code."""
        postings = getattr(self, family)
        level = np.zeros(len(positions), dtype=np.int8)
        ordered = None
        for depth, prefix in enumerate(naf_ancestors(code or ""), start=2):
            post = postings.get(prefix)
            if post is not None and len(post):
                ordered = _is_sorted(positions) if ordered is None else ordered
                level[_in_sorted(post, positions, ordered)] = depth  # deeper levels overwrite
        return level

