"""How the candidates of one query are found and scored: three search strategies, one call.

Every strategy gives the list that scoring every candidate in reach would give; they differ in
how much they skip:

- :class:`FullSearch` scores every candidate whose radius reaches the company. It is the only
  one that lists exclusions one by one, and the one used on small indexes.
- :class:`ConfidentialSearch`: a confidential case may only be shown to the members of its
  poles, so only they are examined.
- :class:`LinkedFirstSearch` needs a scorer with a :class:`~matcher.ranking.score.ScoreBound`.
  It scores first the candidates linked to the company's trade (same NAF division or a
  value-chain neighbour, or tied by a declared interest, experience, pole or partnership);
  the score each kind must beat to enter the list then tells how near an unlinked candidate
  of that kind must be to possibly enter it, and only those are scored next. In a dense
  region the trade's own candidates beyond ``RING_KM`` are bounded the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from matcher.contract.confidentiality import OPERATOR, Viewer
from matcher.contract.specs import CANDIDATE_KINDS
from matcher.ranking.compare import Query
from matcher.ranking.index import CONFIDENTIAL, KINDS, OUT_OF_RADIUS
from matcher.ranking.results import Ranked
from matcher.ranking.score import entry_thresholds
from matcher.reference.value_chain import value_chain_matrix

if TYPE_CHECKING:
    from matcher.ranking.engine import Engine

# In a dense region, the candidates of the company's trade in reach run to tens of thousands:
# from RING_FROM of them, those beyond RING_KM are scored only if their bound says they could rank.
RING_FROM = 5_000
RING_KM = 10.0


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
        pos, dist, _ = ix.linked_in_reach(q.lat, q.lon, divisions=[], linked=members)
        ranked = engine.score(req, engine.consider(req, found=(pos, dist)))
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
        divisions = [q.division, *map(int, np.flatnonzero(value_chain_matrix()[q.division]))]
        linked = ix.linked(naf_code=q.naf, poles=q.poles, siren=q.siren)
        ranked = self._linked(engine, req, divisions, linked)
        kind_km = reach_by_kind(ranked, req.top, bound.unlinked_reach_km, q)
        if kind_km is None or None in kind_km:  # distance cannot rule the unlinked ones out
            return FullSearch().rank(engine, req)
        if any(km > 0 for km in kind_km):
            near = ix.near_unlinked(q.lat, q.lon, max(kind_km), divisions=divisions, linked=linked,
                                    kind_km=np.asarray(kind_km, dtype=np.float32))
            if len(near[0]):
                more = engine.score(req, engine.consider(req, found=near), with_employees=False, unlinked=True)
                ranked = ranked.merge(more, req.top)
        return ranked

    @staticmethod
    def _linked(engine: Engine, req: Request, divisions: list[int], linked: list[np.ndarray]) -> Ranked:
        """The candidates linked to the trade; in a dense region those tied by a posting and
        those within ``RING_KM`` first, the trade's farther ones only if their bound lets them rank."""
        ix, q, bound = engine.index, req.q, engine.scorer.bound
        pos, dist, posted = ix.linked_in_reach(q.lat, q.lon, divisions=divisions, linked=linked)
        if len(pos) < RING_FROM:
            return engine.score(req, engine.consider(req, found=(pos, dist)), unseen=len(ix) - len(pos))
        ring = posted | (dist <= RING_KM)
        ranked = engine.score(req, engine.consider(req, found=(pos[ring], dist[ring])),
                              unseen=len(ix) - int(ring.sum()))
        rest_pos, rest_dist = pos[~ring], dist[~ring]
        km = reach_by_kind(ranked, req.top, bound.trade_reach_km, q)
        if km is not None:
            kind_km = np.array([np.inf if k is None else k for k in km])
            near = rest_dist <= kind_km[ix.kind[rest_pos]]
            rest_pos, rest_dist = rest_pos[near], rest_dist[near]
        if len(rest_pos):
            more = engine.score(req, engine.consider(req, found=(rest_pos, rest_dist)), with_employees=False,
                                unlinked=True)
            ranked = ranked.merge(more, req.top)
        return ranked


def reach_by_kind(ranked: Ranked, top: int, reach, q: Query) -> list[float | None] | None:
    """Per candidate kind, the distance beyond which a candidate bounded by ``reach`` cannot
    change the list (0: never; None: distance cannot tell); None while the list is not full."""
    thresholds = entry_thresholds(ranked.scores, ranked.kind_codes, top, len(KINDS))
    if thresholds is None:
        return None
    return [reach(q, float(t)) for t in thresholds[:len(CANDIDATE_KINDS)]]


FULL, CONFIDENTIAL_ONLY, LINKED_FIRST = FullSearch(), ConfidentialSearch(), LinkedFirstSearch()

