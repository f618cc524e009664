"""The index as a snapshot plus a delta segment: what queries see between two compactions.

The base segment is an index opened from a snapshot (positions 0 .. N-1); the delta segment is a
small index of the candidates created or changed since (positions N .. N+M-1 here); tombstones
mark the base positions of candidates changed or deleted since. :class:`SegmentedIndex` offers
the base index's interface over both, so candidate generation, features, search strategies and
results run unchanged: every lookup asks the base (skipping tombstones) and the delta, and
joins the answers.

Answers equal those of a fresh full build: each candidate's columns depend on its own row only,
and lists are put in the canonical order (spatial key, then id) before they are scored, so ties
are broken as a fresh build breaks them. ``order_of`` gives that order across both segments.
"""

from __future__ import annotations

import bisect

import numpy as np

from matcher.ranking.index import CandidateIndex
from matcher.ranking.spatial import union_sorted

ORDER_SHIFT = 21  # room for 2 million delta candidates between two base positions


class Joined:
    """One column over both segments: base positions, then delta positions from ``n``."""

    __slots__ = ("base", "delta", "n")

    def __init__(self, base, delta, n: int) -> None:
        self.base, self.delta, self.n = base, delta, n

    def __getitem__(self, pos):
        if isinstance(pos, (int, np.integer)):
            return self.base[pos] if pos < self.n else self.delta[pos - self.n]
        pos = np.asarray(pos, dtype=np.int64)
        d = pos >= self.n
        if not d.any():
            return self.base[pos]
        b = self.base[pos[~d]]
        out = np.empty(len(pos), dtype=b.dtype)
        out[~d], out[d] = b, self.delta[pos[d] - self.n]
        return out

    def __len__(self) -> int:
        return self.n + len(self.delta)


class SegmentedIndex:
    """A base index, tombstones over it, and a delta index: one index to the engine."""

    ordered = False  # positions are not the canonical order: candidate generation sorts by it
    source = None

    def __init__(self, base: CandidateIndex, delta: CandidateIndex, dead: np.ndarray,
                 delta_order: np.ndarray) -> None:
        self.base, self.delta, self.dead = base, delta, dead
        self.n = len(base)
        self._count = self.n - int(dead.sum()) + len(delta)
        self._any_dead = bool(dead.any())
        self._delta_order = delta_order
        for name in ("kind", "lat", "lon", "radius_km", "naf_idx", "headcount", "capacity", "budget", "flags",
                     "division_of", "ids", "names"):
            setattr(self, name, Joined(getattr(base, name), getattr(delta, name), self.n))

    def __len__(self) -> int:
        return self._count

    @property
    def span(self) -> int:
        return self.n + len(self.delta)

    def order_of(self, positions: np.ndarray) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.int64)
        out = (2 * pos + 1) << ORDER_SHIFT
        d = pos >= self.n
        out[d] = self._delta_order[pos[d] - self.n]
        return out

    def _alive(self, pos: np.ndarray, *others: np.ndarray):
        if not self._any_dead:
            return (pos, *others)
        keep = ~self.dead[pos]
        return (pos[keep], *(o[keep] for o in others))

    def _join(self, base: tuple, delta: tuple) -> tuple:
        base = self._alive(*base)
        first = np.concatenate([base[0].astype(np.int64), delta[0].astype(np.int64) + self.n])
        return (first, *(np.concatenate([b, d]) for b, d in zip(base[1:], delta[1:])))

    # candidate generation
    def within_reach(self, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
        return self._join(self.base.within_reach(lat, lon), self.delta.within_reach(lat, lon))

    def linked(self, *, naf_code: str | None, poles: list[str], siren: str) -> tuple[list, list]:
        return (self.base.linked(naf_code=naf_code, poles=poles, siren=siren),
                self.delta.linked(naf_code=naf_code, poles=poles, siren=siren))

    def postings_of(self, family: str, keys) -> tuple[list, list]:
        return self.base.postings_of(family, keys), self.delta.postings_of(family, keys)

    def count_distinct(self, parts: tuple[list, list]) -> int:
        base = union_sorted(parts[0])
        return len(self._alive(base)[0]) + self.delta.count_distinct(parts[1])

    def linked_in_reach(self, lat: float, lon: float, *, divisions: list[int], linked: tuple[list, list]):
        return self._join(self.base.linked_in_reach(lat, lon, divisions=divisions, linked=linked[0]),
                          self.delta.linked_in_reach(lat, lon, divisions=divisions, linked=linked[1]))

    def ties_in_box(self, lat: float, lon: float, *, ties):
        return self._join(self.base.ties_in_box(lat, lon, ties=ties), self.delta.ties_in_box(lat, lon, ties=ties))

    def tagged_in_reach(self, lat: float, lon: float, cand: np.ndarray, tags: np.ndarray,
                        near_km: np.ndarray | None = None):
        cand = np.asarray(cand, dtype=np.int64)
        d = cand >= self.n
        km = (None, None) if near_km is None else (near_km[~d], near_km[d])
        return self._join(self.base.tagged_in_reach(lat, lon, cand[~d], tags[~d], km[0]),
                          self.delta.tagged_in_reach(lat, lon, cand[d] - self.n, tags[d], km[1]))

    def in_divisions(self, positions: np.ndarray, divisions: list[int]) -> np.ndarray:
        return CandidateIndex.in_divisions(self, positions, divisions)  # over the joined column

    def trade_near(self, lat: float, lon: float, near_km: float | None, *, divisions: list[int],
                   skip: np.ndarray, kind_km: np.ndarray | None = None):
        skip = np.asarray(skip, dtype=np.int64)
        in_delta = skip >= self.n  # ``skip`` is sorted: the base's positions, then the delta's
        return self._join(
            self.base.trade_near(lat, lon, near_km, divisions=divisions, skip=skip[~in_delta], kind_km=kind_km),
            self.delta.trade_near(lat, lon, near_km, divisions=divisions, skip=skip[in_delta] - self.n,
                                  kind_km=kind_km))

    def kinds_in_divisions(self, divisions: list[int]) -> np.ndarray:
        return self.base.kinds_in_divisions(divisions) | self.delta.kinds_in_divisions(divisions)

    def near_unlinked(self, lat: float, lon: float, near_km: float, *, divisions: list[int],
                      linked: tuple[list, list], kind_km: np.ndarray | None = None):
        return self._join(
            self.base.near_unlinked(lat, lon, near_km, divisions=divisions, linked=linked[0], kind_km=kind_km),
            self.delta.near_unlinked(lat, lon, near_km, divisions=divisions, linked=linked[1], kind_km=kind_km))

    def cooperative_within(self, lat: float, lon: float, km: float) -> bool:
        return self.base.cooperative_within(lat, lon, km, self.dead if self._any_dead else None) or \
            self.delta.cooperative_within(lat, lon, km)

    def positions_in_box(self, lat: float, lon: float, within_km: float) -> np.ndarray:
        return self._join((self.base.positions_in_box(lat, lon, within_km),),
                          (self.delta.positions_in_box(lat, lon, within_km),))[0]

    def all_positions(self) -> np.ndarray:
        return self._join((self.base.all_positions(),), (self.delta.all_positions(),))[0]

    # features
    def _split(self, method: str, family: str, arg, positions: np.ndarray, dtype) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.int64)
        d = pos >= self.n
        out = np.zeros(len(pos), dtype=dtype)
        out[~d] = getattr(self.base, method)(family, arg, pos[~d])
        if d.any():
            out[d] = getattr(self.delta, method)(family, arg, pos[d] - self.n)
        return out

    def membership(self, family: str, keys, positions: np.ndarray) -> np.ndarray:
        return self._split("membership", family, keys, positions, bool)

    def deepest(self, family: str, code: str | None, positions: np.ndarray) -> np.ndarray:
        return self._split("deepest", family, code, positions, np.int8)

    # ids
    def position(self, candidate_id: str) -> int | None:
        p = self.delta.position(candidate_id)
        if p is not None:
            return self.n + p
        p = self.base.position(candidate_id)
        return None if p is None or self.dead[p] else p

    def positions_of(self, candidate_ids: list[str]) -> np.ndarray:
        d = self.delta.positions_of(candidate_ids)
        b = self.base.positions_of(candidate_ids)
        b[(b >= 0) & self.dead[np.maximum(b, 0)]] = -1
        return np.where(d >= 0, d + self.n, b)


def delta_order(base: CandidateIndex, delta: CandidateIndex, cache: dict | None = None) -> np.ndarray:
    """Canonical order values of the delta's candidates, comparable with ``(2p + 1) << 21`` for
    base position p: a delta candidate that sorts before base position p gets ``2p << 21`` plus
    its rank among the delta candidates at the same place. ``cache`` keeps the place of each
    (key, id) between calls (the base does not change until the next compaction)."""
    cache = {} if cache is None else cache
    ids = delta.ids.tolist()
    places = np.empty(len(delta), dtype=np.int64)
    runs: dict[int, list[str]] = {}
    for j, (key, cid) in enumerate(zip(delta.keys.tolist(), ids)):
        place = cache.get((key, cid))
        if place is None:
            a = int(np.searchsorted(base.keys, key, side="left"))
            if key not in runs:  # the base candidates with the same spatial key, in id order
                b = int(np.searchsorted(base.keys, key, side="right"))
                runs[key] = base.ids[np.arange(a, b)].tolist()
            place = cache[(key, cid)] = a + bisect.bisect_left(runs[key], cid)
        places[j] = place
    rank = np.zeros(len(delta), dtype=np.int64)  # delta is sorted canonically: ranks at one place
    if len(delta):
        first = np.r_[True, places[1:] != places[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(len(delta)) - np.repeat(starts, np.diff(np.r_[starts, len(delta)]))
    return ((2 * places) << ORDER_SHIFT) + rank
