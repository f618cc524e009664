"""The facade: ``Engine.match(company)`` over an in-memory candidate index.

The company's own employees are always considered (``employees:<siren>``, kind ``employees``),
with their own features; they are listed when they rank.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine as DbEngine

from matcher import store
from matcher.contract.specs import CANDIDATE_KINDS, headcount_estimate
from matcher.ranking.candidates import generate
from matcher.ranking.compare import FEATURES, Query, candidate_features, employees_features
from matcher.ranking.index import (
    CONFIDENTIAL,
    KIND_CODE,
    KIND_FILTER,
    KINDS,
    NO_EMPLOYEES,
    NOT_SCORED,
    OUT_OF_RADIUS,
    CandidateIndex,
)
from matcher.ranking.results import EMPLOYEES, MatchResult, _Ranked
from matcher.ranking.score import Scorer, TransparentScorer, entry_thresholds
from matcher.reference.geo import haversine_km
from matcher.reference.territories import Poles
from matcher.reference.value_chain import value_chain_matrix
from matcher.store import records

__all__ = ["Engine"]

log = logging.getLogger(__name__)
INDEX_COLUMNS = ["candidate_id", "kind", "name", "naf", "sought_naf", "sought_activity", "experience_naf",
                 "lat", "lon", "radius_km", "headcount", "budget_eur", "max_target_headcount", "legal_form",
                 "ess", "esus", "pole", "partners", "trains_apprentices"]
COOP_NEARBY_KM = 50.0
# Below this many candidates every query scores all candidates in reach, so the exclusion counts
# name each reason; above it, candidates that provably cannot enter the list are skipped and
# counted as ``not_scored`` (the options are the same either way).
SHORTCUT_FROM = 20_000
# In a dense region, the candidates of the company's trade in reach run to tens of thousands:
# from RING_FROM of them, those beyond RING_KM are scored only if their bound says they could rank.
RING_FROM = 5_000
RING_KM = 10.0


class Engine:
    """Ranks takeover options for companies against a candidate index."""

    def __init__(self, index: CandidateIndex, *, scorer: Scorer | None = None, poles: Poles | None = None,
                 inferer: Any = None, shortcut_from: int = SHORTCUT_FROM) -> None:
        self.index = index
        self.shortcut_from = shortcut_from
        self.scorer = scorer or TransparentScorer()
        self.poles = poles or Poles([])
        self._inferer = inferer

    @property
    def inferer(self):
        if self._inferer is None:
            from matcher.reference.sectors import default_inferer
            self._inferer = default_inferer()
        return self._inferer

    @classmethod
    def from_store(cls, db: DbEngine, *, scorer: Scorer | None = None, inferer: Any = None) -> Engine:
        """Load all candidates and poles from the store into memory."""
        difficulty = records.difficulty_sirens(db)
        frame = store.read_frame(db, store.candidates)[INDEX_COLUMNS]
        engine = cls(CandidateIndex.from_frame(frame.iloc[:0], difficulty_sirens=difficulty), scorer=scorer,
                     poles=Poles(records.pole_rows(db)), inferer=inferer)
        engine.index = CandidateIndex.from_frame(frame, difficulty_sirens=difficulty,
                                                 sought_inferred=engine._infer_sought(frame))
        return engine

    def _infer_sought(self, frame: pd.DataFrame) -> list[list[str]] | None:
        """NAF sub-classes inferred once from each candidate's ``sought_activity`` text."""
        if "sought_activity" not in frame or frame["sought_activity"].isna().all():
            return None
        texts = frame["sought_activity"].fillna("").astype(str).tolist()
        unique = sorted({t for t in texts if t})
        inferred = dict(zip(unique, self.inferer.infer(unique, top=2)))
        return [[code for code, _ in inferred.get(t, [])] for t in texts]

    def query_for(self, company: dict[str, Any]) -> tuple[Query, list[str]]:
        """The features' view of a company, and notes on how it was read."""
        notes: list[str] = []
        naf_code = company.get("naf")
        if not naf_code and company.get("activity"):
            guesses = self.inferer.infer_one(str(company["activity"]))
            if guesses:
                naf_code, conf = guesses[0]
                notes.append(f"sector inferred from the activity text {company['activity']!r} as "
                             f"{naf_code} (confidence {conf:.2f})")
            else:
                notes.append(f"no sector could be inferred from the activity text {company['activity']!r}")
        poles = self.poles.of_company(company)
        head = headcount_estimate(company.get("headcount"), company.get("headcount_band"))
        revenue = company.get("revenue_eur")
        q = Query(
            siren=company["siren"], naf=naf_code, lat=float(company["lat"]), lon=float(company["lon"]),
            headcount=head, revenue_eur=None if revenue is None or pd.isna(revenue) else float(revenue),
            procedure=company.get("procedure") or "none", confidential=bool(company.get("confidential")),
            ess=bool(company.get("ess")), legal_form=company.get("legal_form"), poles=poles,
            cooperative_support=self.poles.support(poles),
        )
        return q, notes

    def match(self, company: dict[str, Any], *, top: int = 10, kinds: list[str] | None = None,
              explain_exclusions: bool = False, exclusions_limit: int | None = None) -> MatchResult:
        """Ranked options for one company (a store row or a profile with the same fields).

        When the scorer can bound the score of candidates with no link to the company's trade
        (``unlinked_reach_km``), linked candidates are scored first: those whose own activity is
        in the company's NAF division or a value-chain neighbour, and those tied to it by a
        declared interest, experience, pole or partnership. For each kind, the score another
        option of that kind must beat to change the list (:func:`~matcher.ranking.score.entry_thresholds`)
        then tells how near an unlinked candidate of that kind must be to possibly enter it;
        only those are scored next.
        The answer is the same as scoring every candidate in reach, which is what happens when
        the scorer offers no bound, exclusions are asked for, or the index is small
        (``shortcut_from``).

        ``exclusions_limit`` lists only the first exclusions (``exclusions_total`` still counts
        them all); only the out-of-radius candidates nearest the company are then measured.
        """
        if exclusions_limit is not None and exclusions_limit < 0:
            raise ValueError(f"exclusions_limit {exclusions_limit} must be 0 or more (None for all)")
        q, notes = self.query_for(company)
        kind_set = set(kinds) if kinds else None
        bound = self.scorer.bound
        shortcut = not explain_exclusions and len(self.index) >= self.shortcut_from
        if q.confidential and shortcut:
            # only the members of its poles may see a confidential case: examine them alone
            members = [self.index.poles[p] for p in q.poles if p in self.index.poles]
            ranked = self._rank(q, kind_set, top, explain=False, divisions=[], linked=members)
            unseen = ranked.cons.excluded_counts.pop(NOT_SCORED, 0)
            n_members = len(np.unique(np.concatenate(members))) if members else 0
            counts = ranked.cons.excluded_counts
            counts[CONFIDENTIAL] = counts.get(CONFIDENTIAL, 0) + len(self.index) - n_members
            if unseen - (len(self.index) - n_members) > 0:
                counts[OUT_OF_RADIUS] = unseen - (len(self.index) - n_members)
            return ranked.result(q, notes, self.scorer, explain=False)
        if bound is not None and shortcut and q.naf_idx >= 0:
            divisions = [q.division, *map(int, np.flatnonzero(value_chain_matrix()[q.division]))]
            linked = self.index.linked(naf_code=q.naf, poles=q.poles, siren=q.siren)
            ranked = self._rank_linked(q, kind_set, top, divisions, linked)
            kind_km = _reach_by_kind(ranked, top, bound.unlinked_reach_km, q)  # unlinked candidates nearer could still rank
            if kind_km is not None and all(km == 0.0 for km in kind_km):
                return ranked.result(q, notes, self.scorer, explain=False)
            if kind_km is not None and None not in kind_km:
                near = self.index.near_unlinked(q.lat, q.lon, max(kind_km), divisions=divisions, linked=linked,
                                                kind_km=np.asarray(kind_km, dtype=np.float32))
                if len(near[0]):
                    more = self._rank(q, kind_set, top, explain=False, found=near, with_employees=False,
                                      unlinked=True)
                    ranked = ranked.merge(more, top)
                return ranked.result(q, notes, self.scorer, explain=False)
        ranked = self._rank(q, kind_set, top, explain=explain_exclusions, explain_limit=exclusions_limit)
        return ranked.result(q, notes, self.scorer, explain=explain_exclusions, limit=exclusions_limit)

    def _rank_linked(self, q: Query, kind_set: set[str] | None, top: int, divisions: list[int],
                     linked: list[np.ndarray]) -> _Ranked:
        """Score the candidates linked to the company's trade (see :meth:`match`).

        Where many are in reach (a dense region), those tied by a posting and those of the trade
        within ``RING_KM`` are scored first; the others of the trade, tied by their own activity
        only, are then scored only if near enough to beat the score their kind needs
        (``trade_reach_km``), as the unlinked ones are.
        """
        ix = self.index
        pos, dist, posted = ix.linked_in_reach(q.lat, q.lon, divisions=divisions, linked=linked)
        bound = self.scorer.bound
        if bound is None or len(pos) < RING_FROM:
            return self._rank(q, kind_set, top, explain=False, found=(pos, dist), unseen=len(ix) - len(pos))
        ring = posted | (dist <= RING_KM)
        ranked = self._rank(q, kind_set, top, explain=False, found=(pos[ring], dist[ring]),
                            unseen=len(ix) - int(ring.sum()))
        rest_pos, rest_dist = pos[~ring], dist[~ring]
        km = _reach_by_kind(ranked, top, bound.trade_reach_km, q)
        if km is not None:
            kind_km = np.array([np.inf if k is None else k for k in km])
            near = rest_dist <= kind_km[ix.kind[rest_pos]]
            rest_pos, rest_dist = rest_pos[near], rest_dist[near]
        if len(rest_pos):
            more = self._rank(q, kind_set, top, explain=False, found=(rest_pos, rest_dist), with_employees=False,
                              unlinked=True)
            ranked = ranked.merge(more, top)
        return ranked

    def _rank(self, q: Query, kind_set: set[str] | None, top: int, *, explain: bool,
              divisions: list[int] | None = None, linked: list[np.ndarray] | None = None,
              found: tuple[np.ndarray, np.ndarray] | None = None, with_employees: bool = True,
              explain_limit: int | None = None, unlinked: bool = False, unseen: int = 0) -> _Ranked:
        """One scoring pass. ``unseen``: candidates left out of ``found`` on purpose, counted as
        ``not_scored``. ``unlinked``: ``found`` holds no candidate of the company's postings."""
        ix = self.index
        cons = generate(ix, lat=q.lat, lon=q.lon, siren=q.siren, confidential=q.confidential,
                        company_poles=q.poles, kinds=kind_set - {EMPLOYEES} if kind_set else None,
                        explain=explain, divisions=divisions, linked=linked, found=found,
                        explain_limit=explain_limit)
        if unseen:
            cons.excluded_counts[NOT_SCORED] = cons.excluded_counts.get(NOT_SCORED, 0) + unseen
        if kind_set and not (kind_set - {EMPLOYEES}):
            cons.excluded_counts[KIND_FILTER] = cons.excluded_counts.get(KIND_FILTER, 0) + len(cons.positions)
            cons.positions, cons.distance_km = cons.positions[:0], cons.distance_km[:0]
        pos, dist = cons.positions, cons.distance_km
        X = candidate_features(q, ix, pos, dist, unlinked=unlinked)
        kind_codes = ix.kind[pos]
        employees_reason = None
        if kind_set and EMPLOYEES not in kind_set:
            employees_reason = KIND_FILTER
        elif q.headcount == 0:
            employees_reason = NO_EMPLOYEES
        if employees_reason is None and with_employees:
            coop_near = ix.cooperative_within(q.lat, q.lon, COOP_NEARBY_KM)
            X = np.vstack([X, employees_features(q, coop_nearby=coop_near)])
            kind_codes = np.append(kind_codes, KIND_CODE[EMPLOYEES]).astype(np.int8)
            dist = np.append(dist, 0.0)
        is_emp = kind_codes == KIND_CODE[EMPLOYEES]
        scores, contrib = self.scorer.score_options(X, is_emp)
        return _Ranked(ix, cons, pos, dist, kind_codes, is_emp, scores, contrib, top,
                       employees_reason if with_employees else None)

    def considered_ids(self, company: dict[str, Any]) -> list[str]:
        """Ids of the options ``match`` would rank for a company (no kind filter, no top cut):
        the candidates kept by generation, then ``employees:<siren>`` unless it has no employees."""
        q, _ = self.query_for(company)
        ids = [str(c) for c in self.index.ids[self._considered(q).positions]]
        return ids + ([f"{EMPLOYEES}:{q.siren}"] if q.headcount != 0 else [])

    def features_for(self, company: dict[str, Any], candidate_ids: list[str]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The features ``match`` computes, for given options of a company (considered or not).

        Returns ``(X, kind_codes, is_employees, distance_km)`` in the order of ``candidate_ids``;
        ``employees:<siren>`` is the company's own employees. Used to train the learned ranker
        on exactly what it will see.
        """
        q, _ = self.query_for(company)
        ix = self.index
        own = f"{EMPLOYEES}:{q.siren}"
        is_emp = np.array([c == own for c in candidate_ids], dtype=bool)
        found = [ix.position(c) if c != own else 0 for c in candidate_ids]
        unknown = [c for c, p in zip(candidate_ids, found) if p is None]
        if unknown:
            raise ValueError(f"candidate_id {unknown[0]!r} (and {len(unknown) - 1} more) is not in the candidate "
                             f"index; expected a stored candidate or {own!r}")
        pos = np.asarray(found, dtype=np.int64)[~is_emp]
        dist = haversine_km(q.lat, q.lon, ix.lat[pos], ix.lon[pos])
        X = np.zeros((len(candidate_ids), len(FEATURES)), dtype=np.float32)
        X[~is_emp] = candidate_features(q, ix, pos, dist)
        if is_emp.any():
            coop_near = ix.cooperative_within(q.lat, q.lon, COOP_NEARBY_KM)
            X[is_emp] = employees_features(q, coop_nearby=coop_near)
        kind_codes = np.full(len(candidate_ids), KIND_CODE[EMPLOYEES], dtype=np.int8)
        kind_codes[~is_emp] = ix.kind[pos]
        distance = np.zeros(len(candidate_ids))
        distance[~is_emp] = dist
        return X, kind_codes, is_emp, distance

    def _considered(self, q: Query):
        return generate(self.index, lat=q.lat, lon=q.lon, siren=q.siren, confidential=q.confidential,
                        company_poles=q.poles, kinds=None)


def _reach_by_kind(ranked: _Ranked, top: int, reach, q: Query) -> list[float | None] | None:
    """Per candidate kind, the distance beyond which a candidate bounded by ``reach`` cannot
    change the list (0: never; None: distance cannot tell); None while the list is not full."""
    thresholds = entry_thresholds(ranked.scores, ranked.kind_codes, top, len(KINDS))
    if thresholds is None:
        return None
    return [reach(q, float(t)) for t in thresholds[:len(CANDIDATE_KINDS)]]

