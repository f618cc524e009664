"""How the candidates of one query are found and scored: three search strategies, one call.

Every strategy gives the list that scoring every candidate in reach would give; they differ in
how much they skip:

- :class:`FullSearch` scores every candidate whose radius reaches the company. It is the only
  one that lists exclusions one by one, and the one used on small indexes.
- :class:`ConfidentialSearch`: a confidential case may only be shown to the members of its
  poles, so only they are examined (best first with a scorer that bounds rows, see ``pruning``).
- :class:`LinkedFirstSearch` needs a scorer with a :class:`~matcher.ranking.score.ScoreBound`.
  It scores first the candidates linked to the company's trade (same NAF division or a
  value-chain neighbour, or tied by a declared interest, experience, pole or partnership);
  the score each kind must beat to enter the list then tells how near an unlinked candidate
  of that kind must be to possibly enter it, and only those are scored next. The trade's own
  candidates beyond ``RING_KM`` are bounded the same way, before they are read: only the grid
  cells of each radius bucket near enough are. Candidates tied by a pole or a partnership only,
  outside the trade's divisions, have no trade link: they can only fill places the linked options
  leave, so they are measured and scored only then. When the posted candidates linked to the
  trade are many and the scorer bounds them before their distances (``posted_bounds``), those of
  highest bound are scored first and the others measured only where their bound reaches their
  kind's entry threshold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from matcher.contract.confidentiality import OPERATOR, Viewer
from matcher.contract.specs import CANDIDATE_KINDS
from matcher.ranking.compare import Query
from matcher.ranking.index import CONFIDENTIAL, KINDS, OUT_OF_RADIUS
from matcher.ranking.results import Ranked
from matcher.ranking.selection import entry_thresholds
from matcher.ranking.ties import Ties
from matcher.reference.value_chain import value_chain_matrix

if TYPE_CHECKING:
    from matcher.ranking.engine import Engine

# In a dense region, the candidates of the company's trade in reach run to tens of thousands: those
# beyond RING_KM are read (from the grid cells near enough) only if their bound says they could rank.
RING_KM = 3.0
# Posted candidates linked to the trade run to 200,000 in reach of a company at national scale:
# from this many, a scorer that bounds them before their distances are measured has only the
# POSTED_FIRST of highest bound measured and scored first; the others, only where the list's
# thresholds leave their bound room (most fall short of them without a distance measured).
POSTED_BOUND_FROM = 8192
POSTED_FIRST = 2048


@dataclass(frozen=True)
class Request:
    """One query: the company's view, the kinds kept, the list's length, exclusions wanted, and
    who asks (what they may know of confidential cases)."""

    q: Query
    kinds: frozenset[str] | None
    top: int
    explain: bool = False
    exclusions_limit: int | None = None
    viewer: Viewer = OPERATOR


class Search(ABC):
    """Finds and scores the candidates of one request."""

    @abstractmethod
    def rank(self, engine: Engine, req: Request) -> Ranked:
        """The scored options of the request (the list is selected from them)."""


class FullSearch(Search):
    def rank(self, engine: Engine, req: Request) -> Ranked:
        cons = engine.consider(req, explain=req.explain, explain_limit=req.exclusions_limit)
        return engine.score(req, cons)


class ConfidentialSearch(Search):
    def rank(self, engine: Engine, req: Request) -> Ranked:
        ix, q = engine.index, req.q
        members = ix.postings_of("poles", q.poles)
        ties = Ties.of(q.naf, q.poles, q.siren)
        if ties is None:  # more postings than a tag holds: the members, their features looked up
            pos, dist, _ = ix.linked_in_reach(q.lat, q.lon, divisions=[], linked=members)
            cons = engine.consider(req, found=(pos, dist))
        else:  # read with the company's other postings, whose tags give the members' features
            cand, tags = ix.ties_in_box(q.lat, q.lon, ties=ties)
            member = (tags & ties.bits_of("poles")) != 0
            pos, dist, tags = ix.tagged_in_reach(q.lat, q.lon, cand[member], tags[member])
            cons = engine.consider(req, found=(pos, dist), ties=ties, tags=tags)
        ranked = engine.score(req, cons, best_first=True)
        n_members = ix.count_distinct(members)
        counts = ranked.cons.excluded_counts
        counts[CONFIDENTIAL] = counts.get(CONFIDENTIAL, 0) + len(ix) - n_members
        if n_members - len(pos) > 0:  # members whose radius does not reach the company
            counts[OUT_OF_RADIUS] = counts.get(OUT_OF_RADIUS, 0) + n_members - len(pos)
        return ranked


class LinkedFirstSearch(Search):
    def rank(self, engine: Engine, req: Request) -> Ranked:
        ix, q, bound = engine.index, req.q, engine.scorer.bound
        assert bound is not None, "LinkedFirstSearch needs a scorer with a bound"
        if Ties.of(q.naf, q.poles, q.siren) is None:  # more postings than a tag holds (dozens of poles)
            return FullSearch().rank(engine, req)
        divisions = [q.division, *map(int, np.flatnonzero(value_chain_matrix()[q.division]))]
        linked = ix.linked(naf_code=q.naf, poles=q.poles, siren=q.siren)
        ranked = self._linked(engine, req, divisions, linked)
        kind_km = reach_by_kind(ranked, req.top, bound.unlinked_reach_km, q, newcomer_linked=False)
        if kind_km is None or None in kind_km:  # distance cannot rule the unlinked ones out
            return FullSearch().rank(engine, req)
        if any(km > 0 for km in kind_km):
            near = ix.near_unlinked(q.lat, q.lon, max(kind_km), divisions=divisions, linked=linked,
                                    kind_km=np.asarray(kind_km, dtype=np.float32))
            if len(near[0]):
                more = engine.score(req, engine.consider(req, found=near), with_employees=False, unlinked=True,
                                    best_first=True, prior=ranked)
                ranked = ranked.merge(more, req.top)
        return ranked

    @staticmethod
    def _linked(engine: Engine, req: Request, divisions: list[int], linked: list[np.ndarray]) -> Ranked:
        """The candidates linked to the trade: first those tied by a posting and the trade's own
        within ``RING_KM``; then the trade's own farther away, read only from the grid cells near
        enough for their bound (per kind) to let them enter the list."""
        ix, q, bound = engine.index, req.q, engine.scorer.bound
        ties = Ties.of(q.naf, q.poles, q.siren)
        cand, tags = ix.ties_in_box(q.lat, q.lon, ties=ties)
        trade = ((tags & ties.linking) != 0) | ix.in_divisions(cand, divisions)
        held = cand[~trade], tags[~trade]  # tied by a pole or a partnership only, without a trade link
        linked_cand, linked_tags = cand[trade], tags[trade]
        first, rest = _posted_first(engine, q, ties, linked_cand, linked_tags)
        posted = ix.tagged_in_reach(q.lat, q.lon, linked_cand[first], linked_tags[first])
        near = ix.trade_near(q.lat, q.lon, RING_KM, divisions=divisions, skip=linked_cand)
        order = np.argsort(near[0], kind="stable")  # a few: put in place among the posted, in position order
        at = np.searchsorted(posted[0], near[0][order])
        pos, dist = np.insert(posted[0], at, near[0][order]), np.insert(posted[1], at, near[1][order])
        tags = np.insert(posted[2], at, 0)
        ranked = engine.score(req, engine.consider(req, found=(pos, dist), ties=ties, tags=tags),
                              unseen=len(ix) - len(pos), best_first=True)
        if rest is not None:
            ranked = _posted_rest(engine, req, ranked, ties, linked_cand[~first], linked_tags[~first], rest)
        # read already (or ruled out by their bound): the posted candidates, and the ring's
        read = np.insert(linked_cand, np.searchsorted(linked_cand, near[0][order]), near[0][order])
        for own, group in ((True, divisions[:1]), (False, divisions[1:])):  # the company's division, neighbours'
            if not group:
                continue
            km = reach_by_kind(ranked, req.top, partial(bound.trade_reach_km, own_division=own), q,
                               newcomer_linked=True)
            kind_km = np.zeros(len(KINDS))  # per kind code; None (the distance cannot tell): any distance
            kind_km[:len(CANDIDATE_KINDS)] = [np.inf if k is None else k for k in km or [None] * len(CANDIDATE_KINDS)]
            kind_km[~ix.kinds_in_divisions(group)] = 0.0  # no candidate of that kind works there
            far = float(kind_km.max())
            if far <= RING_KM:
                continue
            more = ix.trade_near(q.lat, q.lon, None if np.isinf(far) else far, divisions=group, skip=read,
                                 kind_km=kind_km)
            if len(more[0]):
                ranked = ranked.merge(engine.score(req, engine.consider(req, found=more), with_employees=False,
                                                   unlinked=True, best_first=True, prior=ranked), req.top)
        if len(held[0]) and int(ranked.linked.sum()) < req.top:  # they only fill places the linked leave
            pos, dist, tags = ix.tagged_in_reach(q.lat, q.lon, *held)
            if len(pos):
                more = engine.score(req, engine.consider(req, found=(pos, dist), ties=ties, tags=tags),
                                    with_employees=False, best_first=True, prior=ranked)
                ranked = ranked.merge(more, req.top)
        return ranked


def _posted_first(engine: Engine, q: Query, ties: Ties, cand: np.ndarray, tags: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """Which of the posted candidates linked to the trade (``cand``, ``tags``) the first pass
    measures and scores: all of them, or, when they are many and the scorer bounds them before
    their distances (``posted_bounds``), the ``POSTED_FIRST`` of highest bound. Returns the
    mask of those, and the bounds of the others (None when there are none)."""
    bounds = getattr(engine.scorer.bound, "posted_bounds", None)
    if bounds is None or len(cand) < POSTED_BOUND_FROM or len(cand) <= POSTED_FIRST:
        return np.ones(len(cand), dtype=bool), None
    b = bounds(q, engine.index, cand, ties, tags)
    last = np.partition(b, len(b) - POSTED_FIRST)[len(b) - POSTED_FIRST]  # the POSTED_FIRST-th highest bound
    first = b > last
    tied = np.flatnonzero(b == last)  # those of the canonical order first: as a fresh index would take them
    tied = tied[np.argsort(engine.index.order_of(cand[tied]), kind="stable")[:POSTED_FIRST - int(first.sum())]]
    first[tied] = True
    return first, b[~first]


def _posted_rest(engine: Engine, req: Request, ranked: Ranked, ties: Ties, cand: np.ndarray,
                 tags: np.ndarray, bounds: np.ndarray) -> Ranked:
    """The posted candidates the first pass left, measured and scored only where their bound
    (``posted_bounds``) reaches the score their kind needs to enter the list, and only within
    the distance at which their proximity still lets it."""
    ix, q, bound = engine.index, req.q, engine.scorer.bound
    thresholds = entry_thresholds(ranked.scores, ranked.kind_codes, req.top, len(KINDS), ranked.linked)
    if thresholds is not None:  # else every one of them could enter: all are measured
        need = thresholds[ix.kind[cand]]
        maybe = np.flatnonzero(bounds + 1e-3 >= need)  # most fall below their kind's
        cand, tags = cand[maybe], tags[maybe]
        km = bound.posted_reach_km(bounds[maybe], need[maybe])
        keep = km > 0
        cand, tags, km = cand[keep], tags[keep], km[keep]
    else:
        km = None
    pos, dist, tags = ix.tagged_in_reach(q.lat, q.lon, cand, tags, km)
    if not len(pos):
        return ranked
    more = engine.score(req, engine.consider(req, found=(pos, dist), ties=ties, tags=tags), with_employees=False,
                        best_first=True, prior=ranked)
    return ranked.merge(more, req.top)


def reach_by_kind(ranked: Ranked, top: int, reach, q: Query, *, newcomer_linked: bool
                  ) -> list[float | None] | None:
    """Per candidate kind, the distance beyond which a candidate bounded by ``reach`` (with a
    trade link or not, ``newcomer_linked``) cannot change the list (0: never; None: distance
    cannot tell); None while any such candidate could enter it."""
    thresholds = entry_thresholds(ranked.scores, ranked.kind_codes, top, len(KINDS), ranked.linked,
                                  newcomer_linked=newcomer_linked)
    if thresholds is None:
        return None
    return [reach(q, float(t)) for t in thresholds[:len(CANDIDATE_KINDS)]]


FULL, CONFIDENTIAL_ONLY, LINKED_FIRST = FullSearch(), ConfidentialSearch(), LinkedFirstSearch()

