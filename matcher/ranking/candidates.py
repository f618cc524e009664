"""Stage 1, per query: who is considered for a company, and why each other candidate is not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.contract.confidentiality import OPERATOR, Viewer
from matcher.ranking.compare import Query
from matcher.ranking.index import (
    CONFIDENTIAL,
    HIDDEN_DIFFICULTY,
    IN_DIFFICULTY,
    IN_DIFFICULTY_REASON,
    KIND_CODE,
    KIND_FILTER,
    OUT_OF_RADIUS,
    REASONS,
    SELF,
    CandidateIndex,
)
from matcher.reference.geo import haversine_km


@dataclass
class Considered:
    """The outcome of candidate generation for one query."""

    positions: np.ndarray  # candidates kept, positions into the index
    distance_km: np.ndarray
    excluded_counts: dict[str, int]
    # reported exclusions (with ``explain``) as columns, in the order they are listed: the
    # other reasons first, then out_of_radius, each by distance then position
    excluded_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    excluded_reasons: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # code into REASONS
    excluded_km: np.ndarray = field(default_factory=lambda: np.zeros(0))
    excluded_total: int = 0  # reported exclusions before ``explain_limit``
    # with the candidates read from a company's postings (``Reach.ties_in_box``): those
    # postings (a ``ties.Ties``) and each kept candidate's tags, from which its features are drawn
    ties: Any = None
    tags: np.ndarray | None = None


def generate(index: CandidateIndex, q: Query, *, kinds: set[str] | None, viewer: Viewer = OPERATOR,
             found: tuple[np.ndarray, np.ndarray] | None = None, explain: bool = False,
             explain_limit: int | None = None, ties: Any = None, tags: np.ndarray | None = None) -> Considered:
    """Who is considered for a company, and why each other candidate is excluded.

    ``found`` gives the positions and distances of the candidates to examine (a search strategy
    chose them; the others are not counted here); without it, every candidate whose radius
    reaches the company is examined and the rest are counted as ``out_of_radius``. Without
    ``explain`` only the counts of exclusions are returned. With ``explain_limit`` only the first
    exclusions of the listing are returned, and only the out-of-radius candidates nearest the
    company are measured. ``ties`` and ``tags``: the postings the ``found`` candidates were read
    from and each one's tags, kept with them. A candidate that is itself a confidential case is ``in_difficulty`` only
    for a ``viewer`` who may know of that case; to anyone else it is a candidate like any other
    (``matcher.contract.confidentiality``).
    """
    lat, lon = q.lat, q.lon
    if found is not None:
        pos, dist = found
    else:
        pos, dist = index.within_reach(lat, lon)
    if not index.ordered:  # segments: list candidates in the canonical order a fresh index has
        order = np.argsort(index.order_of(pos), kind="stable")
        pos, dist = pos[order], dist[order]
        tags = None if tags is None else tags[order]
    keep = np.ones(len(pos), dtype=bool)
    reasons = np.full(len(pos), "", dtype=object)

    def drop(mask: np.ndarray, reason: str) -> None:
        new = mask & keep
        reasons[new] = reason
        keep[new] = False

    me = index.position(q.siren)
    if me is not None:
        drop(pos == me, SELF)
    drop((index.flags[pos] & IN_DIFFICULTY) > 0, IN_DIFFICULTY_REASON)
    hidden = (index.flags[pos] & HIDDEN_DIFFICULTY) > 0
    if hidden.any() and (viewer.sees_all or viewer.poles):
        known = hidden if viewer.sees_all else hidden & index.membership("hidden_poles", viewer.poles, pos)
        drop(known, IN_DIFFICULTY_REASON)
    if q.confidential:  # the tags, when given, say which postings hold each candidate
        in_pole = ((tags & ties.bits_of("poles")) != 0 if tags is not None and ties is not None
                   else index.membership("poles", q.poles, pos))
        drop(~in_pole, CONFIDENTIAL)
    if kinds:
        codes = [KIND_CODE[k] for k in kinds if k in KIND_CODE]
        drop(~np.isin(index.kind[pos], codes), KIND_FILTER)
    counts = dict(Counter(reasons[~keep].tolist()))  # a handful of reasons: no sort needed
    if found is None:
        counts[OUT_OF_RADIUS] = len(index) - len(pos)
    kept = {k: v for k, v in counts.items() if v}
    if not explain:
        return Considered(positions=pos[keep], distance_km=dist[keep], excluded_counts=kept, ties=ties,
                          tags=None if tags is None else tags[keep])
    gone = np.flatnonzero(~keep)
    gone = gone[np.lexsort((index.order_of(pos[gone]), dist[gone]))]  # the other reasons, listed first
    why = np.zeros(len(gone), dtype=np.int8)
    for code, reason in enumerate(REASONS):
        why[reasons[gone] == reason] = code
    n_out = len(index) - len(pos)
    want = n_out if explain_limit is None else max(0, min(n_out, explain_limit - len(gone)))
    out, d_out = _nearest_outside(index, lat, lon, pos, want)
    ex_pos = np.concatenate([pos[gone], out]).astype(np.int64)
    ex_why = np.concatenate([why, np.full(len(out), REASONS.index(OUT_OF_RADIUS), dtype=np.int8)])
    ex_km = np.concatenate([dist[gone], d_out])
    return Considered(positions=pos[keep], distance_km=dist[keep], excluded_counts=kept,
                      excluded_positions=ex_pos[:explain_limit], excluded_reasons=ex_why[:explain_limit],
                      excluded_km=ex_km[:explain_limit], excluded_total=len(gone) + n_out)


def _nearest_outside(index: CandidateIndex, lat: float, lon: float, reach: np.ndarray,
                     n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` candidates not in ``reach`` nearest to (lat, lon), by distance then position,
    with their distances (km). A box around the company doubles from 10 km until it holds ``n``
    of them, so a short listing does not measure the distance to every candidate."""
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    inside = np.zeros(index.span, dtype=bool)
    inside[reach] = True
    km = 10.0 if n < len(index) - len(reach) else 5000.0  # all of them: no box to grow
    while True:
        if km >= 5000:  # the whole index (the DOM lie further than any box reaches)
            cand = index.all_positions()
            cand = cand[~inside[cand]]
            dist = haversine_km(lat, lon, index.lat[cand], index.lon[cand])
            break
        # the box is drawn on a flat earth: the margin keeps the whole circle inside it
        cand = index.positions_in_box(lat, lon, km * 1.01 + 1.0)
        cand = cand[~inside[cand]]
        dist = haversine_km(lat, lon, index.lat[cand], index.lon[cand])
        near = dist <= km
        if near.sum() >= n:  # no candidate outside the circle can be nearer than these
            cand, dist = cand[near], dist[near]
            break
        km *= 2
    order = np.lexsort((index.order_of(cand), dist))[:n]
    return cand[order], dist[order]
