"""Who is in reach of a company: the spatial reads of the candidate index (its data is in ``index.py``).

The index stores candidates in spatial order: by radius bucket, then by grid cell, so the
bounding box of a bucket's radius around a company is a few ranges of positions, and the
candidates of a sorted posting (NAF division, declared interest, experience, pole, partners)
inside the box come from two vectorised binary searches. A cheap flat-earth distance discards
most of the box; the exact great-circle distance then applies each candidate's own radius (or a
nearer limit a search strategy sets). These methods only read: they do not decide what an index
holds, so they are not part of a snapshot's fingerprint.
"""

from __future__ import annotations

import numpy as np

from matcher.contract.specs import OPTION_KINDS
from matcher.ranking.spatial import box_ranges, within
from matcher.ranking.spatial import expand as _expand
from matcher.ranking.spatial import in_sorted as _in_sorted
from matcher.ranking.spatial import take as _take
from matcher.reference.geo import haversine_km

N_KINDS = len(OPTION_KINDS)
TAG_BITS = 6  # a posting's bit number, packed under a position (see ``ties_in_box``)
COOP_SCAN_MAX = 20_000
COOP_STEP = 512
COOP_CELL_DEG = 0.25  # cells of the cooperatives' own grid (see ``cooperative_within``)


class Reach:
    """The spatial reads of :class:`~matcher.ranking.index.CandidateIndex` (a mixin over its columns)."""

    def box_ranges(self, lat: float, lon: float, max_km: float | None = None, *,
                   within_km: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Position ranges [lo, hi) holding every candidate whose radius bucket (capped at
        ``max_km``) could reach (lat, lon); with ``within_km``, every candidate that near."""
        return box_ranges(self.keys, lat, lon, max_km, within_km=within_km)

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

    def ties_in_box(self, lat: float, lon: float, *, ties) -> tuple[np.ndarray, np.ndarray]:
        """The candidates of the box around (lat, lon) held by a posting of ``ties``, in
        increasing position, and their tags; their distances are not measured yet."""
        lo, hi = self.box_ranges(lat, lon)
        parts = [(b, _take(post, lo, hi)) for b, post in enumerate(ties.postings(self)) if len(post)]
        packed = np.empty(sum(len(p) for _, p in parts), dtype=np.int64)  # position << TAG_BITS | bit
        at = 0
        for b, part in parts:
            np.left_shift(part, TAG_BITS, out=packed[at:at + len(part)], dtype=np.int64)
            packed[at:at + len(part)] |= b
            at += len(part)
        if not at:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # each part is sorted: the stable sort (a merge sort, timsort, for int64) merges the runs
        # in n log(parts) instead of sorting from scratch (5x faster for 300,000 at 10M)
        packed.sort(kind="stable")  # by position, then bit
        cand = packed >> TAG_BITS
        last = np.flatnonzero(np.r_[cand[1:] != cand[:-1], True])  # each candidate's last posting
        # a candidate's tag: the sum of its postings' bits (each once), as differences of a running
        # sum (which may wrap around int64: the differences, each below 2**63, are exact all the same)
        running = np.cumsum(np.left_shift(1, packed & (2**TAG_BITS - 1)))[last]
        return cand[last], np.diff(running, prepend=0)

    def tagged_in_reach(self, lat: float, lon: float, cand: np.ndarray, tags: np.ndarray,
                        near_km: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of candidates and their tags, those whose radius reaches (lat, lon), with their
        distances; with ``near_km``, those within each one's distance too."""
        limit = self.radius_km[cand]
        if near_km is not None:
            limit = np.minimum(limit, near_km)
        pos, dist, kept = self._in_reach(lat, lon, cand, limit)
        return pos, dist, tags[kept]

    def in_divisions(self, positions: np.ndarray, divisions: list[int]) -> np.ndarray:
        """Whether each candidate's own activity is in ``divisions``."""
        mask = np.zeros(100, dtype=bool)
        mask[np.asarray(divisions, dtype=np.int64)] = True
        mask[0] = False  # activity unknown
        return mask[self.division_of[positions]]

    def trade_near(self, lat: float, lon: float, near_km: float | None, *, divisions: list[int],
                   skip: np.ndarray, kind_km: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Candidates in reach whose own activity is in ``divisions``, within ``near_km`` (None: at
        any distance; ``kind_km`` narrows it per kind code), leaving out the sorted positions
        ``skip``: positions and distances (km), grouped by division, each group in increasing
        position. Only the grid cells of each radius bucket within ``near_km`` are read. With
        ``skip`` holding every candidate tied by a posting (:meth:`ties_in_box`),
        none of those found is."""
        lo, hi = self.box_ranges(lat, lon, max_km=near_km)
        cand = self.division_take(divisions, lo, hi)
        limit = self.radius_km[cand]
        if kind_km is not None:
            limit = np.minimum(limit, kind_km[self.kind[cand]])
        elif near_km is not None:
            limit = np.minimum(limit, near_km)
        cand, dist, _ = self._in_reach(lat, lon, cand, limit)  # the box's wide cells hold many: measured first
        keep = ~_in_sorted(skip, cand, False)
        return cand[keep], dist[keep]

    def cooperative_within(self, lat: float, lon: float, km: float, dead: np.ndarray | None = None) -> bool:
        """Whether a cooperative (SCOP, SCIC) not itself in difficulty lies within ``km`` (one not
        marked in ``dead``). Those of the company's own cell of a coarse grid are measured
        first: in a region with any, one of them answers. Else those of the box around the
        company, a few hundred at a time, so that the first few answer instead of the thousands
        in the box."""
        if self._coop_cells is None:
            cells = _coarse_cells(self.lat[self.coops], self.lon[self.coops])
            order = np.argsort(cells, kind="stable")
            self._coop_cells = (cells[order], self.coops[order])
        cells, by_cell = self._coop_cells
        own = _coarse_cells(np.array([lat]), np.array([lon]))
        a, b = np.searchsorted(cells, (own[0], own[0] + 1))
        if self._any_within(lat, lon, km, by_cell[a:min(b, a + COOP_STEP)], dead):
            return True
        if len(self.coops) > COOP_SCAN_MAX:  # many: those in the box around the company
            near = _take(self.coops, *self.box_ranges(lat, lon, within_km=km * 1.01 + 1.0))
        else:  # a few thousand: measuring them all beats building the box
            near = self.coops
        return any(self._any_within(lat, lon, km, near[lo:lo + COOP_STEP], dead)
                   for lo in range(0, len(near), COOP_STEP))

    def _any_within(self, lat: float, lon: float, km: float, part: np.ndarray, dead: np.ndarray | None) -> bool:
        if dead is not None:
            part = part[~dead[part]]
        return bool(len(within(lat, lon, self.lat[part], self.lon[part], np.full(len(part), km))[0]))

    def kinds_in_divisions(self, divisions: list[int]) -> np.ndarray:
        """Per kind code, whether any candidate of that kind has its own activity in ``divisions``."""
        if self._division_kinds is None:
            codes = self.division_of.astype(np.int64) * N_KINDS + self.kind
            self._division_kinds = np.bincount(codes, minlength=100 * N_KINDS).reshape(100, N_KINDS) > 0
        return self._division_kinds[np.asarray(divisions, dtype=np.int64)].any(axis=0)

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
        keep = ~self.in_divisions(cand, divisions)
        for post in linked:
            keep &= ~_in_sorted(post, cand, True)
        cand = cand[keep]
        limit = np.minimum(self.radius_km[cand], near_km if kind_km is None else kind_km[self.kind[cand]])
        dist = haversine_km(lat, lon, self.lat[cand], self.lon[cand])
        inside = dist <= limit
        return cand[inside], dist[inside]  # box ranges come in increasing position


def _coarse_cells(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Cell of each point in a grid of ``COOP_CELL_DEG`` degrees."""
    row = ((np.asarray(lat, dtype=np.float64) + 90.0) // COOP_CELL_DEG).astype(np.int64)
    return row * 4096 + ((np.asarray(lon, dtype=np.float64) + 180.0) // COOP_CELL_DEG).astype(np.int64)
