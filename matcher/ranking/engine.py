"""The facade: ``Engine.match(company)`` over an in-memory candidate index.

The company's own employees are always considered (``employees:<siren>``, kind ``employees``),
with their own features; they are listed when they rank.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine as DbEngine

from matcher.contract.confidentiality import OPERATOR, Viewer
from matcher.contract.specs import headcount_estimate
from matcher.ranking.building import read_index
from matcher.ranking.candidates import Considered, generate
from matcher.ranking.compare import FEATURES, Query, candidate_features, employees_features, trade_linked
from matcher.ranking.index import (
    KIND_CODE,
    KIND_FILTER,
    NO_EMPLOYEES,
    NOT_SCORED,
    CandidateIndex,
)
from matcher.ranking.pruning import BEST_FIRST_FROM, score_best_first
from matcher.ranking.reader import IndexReader
from matcher.ranking.results import EMPLOYEES, MatchResult, Ranked
from matcher.ranking.score import Scorer, TransparentScorer
from matcher.ranking.search import CONFIDENTIAL_ONLY, FULL, LINKED_FIRST, Request, Search
from matcher.reference.geo import haversine_km
from matcher.reference.territories import Poles
from matcher.store import records

__all__ = ["Engine"]

log = logging.getLogger(__name__)
COOP_NEARBY_KM = 50.0
# Below this many candidates every query scores all candidates in reach, so the exclusion counts
# name each reason; above it, candidates that provably cannot enter the list are skipped and
# counted as ``not_scored`` (the options are the same either way).
SHORTCUT_FROM = 20_000


class Engine:
    """Ranks takeover options for companies against a candidate index."""

    def __init__(self, index: CandidateIndex, *, scorer: Scorer | None = None, poles: Poles | None = None,
                 inferer: Any = None, shortcut_from: int = SHORTCUT_FROM) -> None:
        self.index = index
        self.shortcut_from = shortcut_from
        self.scorer = scorer or TransparentScorer()
        self.poles = poles or Poles([])
        self._inferer = inferer
        self.reader: IndexReader | None = None  # set by ``open``: the index follows the store

    def __getstate__(self) -> dict[str, Any]:
        # the reader (store connection, locks) stays in this process; an index opened from a
        # snapshot travels as its path (see CandidateIndex.__reduce__)
        return {**self.__dict__, "reader": None}

    @property
    def inferer(self):
        if self._inferer is None:
            from matcher.reference.sectors import default_inferer
            self._inferer = default_inferer()
        return self._inferer

    @classmethod
    def from_store(cls, db: DbEngine, *, scorer: Scorer | None = None, inferer: Any = None) -> Engine:
        """Build the index of every candidate from the store, in memory (no snapshot)."""
        index = read_index(CandidateIndex, db, inferer)
        return cls(index, scorer=scorer, poles=Poles(records.pole_rows(db)), inferer=inferer)

    @classmethod
    def open(cls, db: DbEngine, folder: Path | None, *, scorer: Scorer | None = None, inferer: Any = None,
             verify: bool = True) -> Engine:
        """Open the store's index snapshot in ``folder`` (built and written first when absent,
        stale or damaged) with the changes logged since; :meth:`refresh` catches up later."""
        reader = IndexReader(db, folder, inferer=inferer, verify=verify).open()
        engine = cls(reader.index, scorer=scorer, poles=reader.poles, inferer=inferer)
        engine.reader = reader
        return engine

    def refresh(self) -> bool:
        """Apply the store's changes since the index's revision; True when the index moved."""
        if self.reader is None or not self.reader.refresh():
            return False
        self.index, self.poles = self.reader.index, self.reader.poles
        return True

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
              explain_exclusions: bool = False, exclusions_limit: int | None = None,
              viewer: Viewer = OPERATOR) -> MatchResult:
        """Ranked options for one company (a store row or a profile with the same fields).

        The answer is the list that scoring every candidate in reach would give; the search
        strategy (:mod:`matcher.ranking.search`) only decides how much can be skipped.
        ``exclusions_limit`` lists only the first exclusions (``exclusions_total`` still counts
        them all); only the out-of-radius candidates nearest the company are then measured.
        ``viewer``: who asks; a candidate that is a confidential case exists as such only for a
        viewer who may know of it (``matcher.contract.confidentiality``).
        """
        if exclusions_limit is not None and exclusions_limit < 0:
            raise ValueError(f"exclusions_limit {exclusions_limit} must be 0 or more (None for all)")
        q, notes = self.query_for(company)
        req = Request(q, frozenset(kinds) if kinds else None, top, explain_exclusions, exclusions_limit, viewer)
        ranked = self.search_for(req).rank(self, req)
        return ranked.result(q, notes, self.scorer, explain=req.explain, limit=req.exclusions_limit)

    def search_for(self, req: Request) -> Search:
        """The strategy for a request: every candidate in reach when exclusions are listed or the
        index is small (``shortcut_from``), else the case's pole members for a confidential case,
        else linked candidates first when the scorer offers a bound."""
        if req.explain or len(self.index) < self.shortcut_from:
            return FULL
        if req.q.confidential:
            return CONFIDENTIAL_ONLY
        if self.scorer.bound is not None and req.q.naf_idx >= 0:
            return LINKED_FIRST
        return FULL

    def consider(self, req: Request, *, found: tuple[np.ndarray, np.ndarray] | None = None,
                 explain: bool = False, explain_limit: int | None = None, ties: Any = None,
                 tags: np.ndarray | None = None) -> Considered:
        """Candidate generation for a request (see :func:`~matcher.ranking.candidates.generate`)."""
        kinds = set(req.kinds) - {EMPLOYEES} if req.kinds else None
        return generate(self.index, req.q, kinds=kinds, viewer=req.viewer, found=found, explain=explain,
                        explain_limit=explain_limit, ties=ties, tags=tags)

    def score(self, req: Request, cons: Considered, *, with_employees: bool = True, unlinked: bool = False,
              unseen: int = 0, best_first: bool = False, prior: Ranked | None = None) -> Ranked:
        """One scoring pass over considered candidates (and the company's own employees, unless
        ``with_employees`` is False). ``unseen``: candidates left out on purpose, counted as
        ``not_scored``; ``unlinked``: none of them is in the company's postings; ``best_first``:
        a scorer offering cheaper score bounds leaves out the rows that cannot enter the list
        (:mod:`matcher.ranking.pruning`), counted as ``not_scored``; ``prior``: the pass these
        options will be merged with, whose options they must beat too."""
        ix, q, kind_set = self.index, req.q, req.kinds
        if unseen:
            cons.excluded_counts[NOT_SCORED] = cons.excluded_counts.get(NOT_SCORED, 0) + unseen
        if kind_set and not (kind_set - {EMPLOYEES}):
            cons.excluded_counts[KIND_FILTER] = cons.excluded_counts.get(KIND_FILTER, 0) + len(cons.positions)
            cons.positions, cons.distance_km = cons.positions[:0], cons.distance_km[:0]
            cons.tags = None if cons.tags is None else cons.tags[:0]
        pos, dist = cons.positions, cons.distance_km
        kind_codes = ix.kind[pos]
        employees_reason = None
        if kind_set and EMPLOYEES not in kind_set:
            employees_reason = KIND_FILTER
        elif q.headcount == 0:
            employees_reason = NO_EMPLOYEES
        employees = employees_reason is None and with_employees
        X = candidate_features(q, ix, pos, dist, unlinked=unlinked, ties=cons.ties, tags=cons.tags,
                               extra_rows=int(employees))
        if employees:
            coop_near = ix.cooperative_within(q.lat, q.lon, COOP_NEARBY_KM)
            X[-1] = employees_features(q, coop_nearby=coop_near)[0]
            kind_codes = np.append(kind_codes, KIND_CODE[EMPLOYEES]).astype(np.int8)
            dist = np.append(dist, 0.0)
        is_emp = kind_codes == KIND_CODE[EMPLOYEES]
        linked = trade_linked(X, is_emp)
        if best_first and req.top > 0 and len(X) >= BEST_FIRST_FROM and hasattr(self.scorer, "score_bounds"):
            before = None if prior is None else (prior.scores, prior.kind_codes, prior.linked)
            rows, scores, contrib = score_best_first(self.scorer, X, is_emp, kind_codes, req.top, linked, before)
            if len(rows) < len(X):
                cand = rows[rows < len(pos)]
                cons.excluded_counts[NOT_SCORED] = cons.excluded_counts.get(NOT_SCORED, 0) + len(X) - len(rows)
                cons.positions, cons.distance_km = pos[cand], cons.distance_km[cand]
                pos, dist, kind_codes, is_emp = pos[cand], dist[rows], kind_codes[rows], is_emp[rows]
                linked = linked[rows]
        else:
            scores, contrib = self.scorer.score_options(X, is_emp)
        return Ranked(ix, cons, pos, dist, kind_codes, is_emp, scores, contrib, req.top,
                      employees_reason if with_employees else None, linked)

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
        found = [p if p >= 0 else None for p in ix.positions_of(candidate_ids).tolist()]
        found = [0 if c == own else p for c, p in zip(candidate_ids, found)]
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

    def _considered(self, q: Query) -> Considered:
        return generate(self.index, q, kinds=None)
