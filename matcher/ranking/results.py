"""What a query returns (options, exclusions, counts) and one scoring pass that builds it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.contract.specs import EMPLOYEES
from matcher.ranking.candidates import Considered
from matcher.ranking.compare import Query
from matcher.ranking.explain import explained
from matcher.ranking.index import KINDS, NOT_SCORED, REASONS, CandidateIndex
from matcher.ranking.labels import labels_map
from matcher.ranking.score import Scorer
from matcher.ranking.selection import select_top

EMPLOYEES_NAME = "Employees of the company (SCOP takeover)"


@dataclass
class Option:
    siren: str
    rank: int
    candidate_id: str
    kind: str
    name: str
    score: float
    distance_km: float
    trade_link: bool
    explanation: dict

    def as_dict(self) -> dict[str, Any]:
        # a shallow copy: dataclasses.asdict would deep-copy every explanation (15% of a batch)
        return {f: getattr(self, f) for f in OPTION_FIELDS}


OPTION_FIELDS = ("siren", "rank", "candidate_id", "kind", "name", "score", "distance_km", "trade_link",
                 "explanation")


@dataclass
class MatchResult:
    siren: str
    options: list[Option]
    model_id: str
    notes: list[str] = field(default_factory=list)
    excluded_counts: dict[str, int] = field(default_factory=dict)
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    exclusions_total: int = 0  # exclusions before ``exclusions_limit``

    def rows(self, *, with_notes: bool = True) -> list[dict[str, Any]]:
        """The options as rows of the contract's §2 layout. ``with_notes``: the case's notes (how
        the company was read) go once, in the first row's explanation, for outputs with no place
        for the case itself (CSV)."""
        rows = [o.as_dict() for o in self.options]
        if with_notes and self.notes and rows:
            rows[0]["explanation"] = {**rows[0]["explanation"], "notes": list(self.notes)}
        return rows

    def payload(self, *, explain: bool, max_exclusions: int | None = None) -> dict[str, Any]:
        """The JSON answer of ``reprise match --format json`` and of the API: options as §2 rows,
        the case's notes once, the words of every feature the explanations name (``labels``),
        exclusion counts and, with ``explain``, the exclusions (at most ``max_exclusions``)."""
        named = [k for o in self.options for k in o.explanation]
        out: dict[str, Any] = {"siren": self.siren, "model": self.model_id, "notes": self.notes,
                               "options": self.rows(with_notes=False), "labels": labels_map(named),
                               "excluded_counts": self.excluded_counts}
        if explain:
            out["exclusions"] = self.exclusions if max_exclusions is None else self.exclusions[:max_exclusions]
            out["exclusions_total"] = self.exclusions_total
        return out


@dataclass
class Ranked:
    """One scoring pass over a set of considered candidates."""

    ix: CandidateIndex
    cons: Any
    pos: np.ndarray
    dist: np.ndarray
    kind_codes: np.ndarray
    is_emp: np.ndarray
    scores: np.ndarray
    contrib: np.ndarray
    top: int
    employees_reason: str | None
    linked: np.ndarray  # trade link of each option (matcher.ranking.compare.trade_linked)

    @functools.cached_property
    def chosen(self) -> np.ndarray:
        """The options selected, best first (only when needed: a pass followed by another is
        selected once, after the merge)."""
        return select_top(self.scores, self.kind_codes, self.top, self.linked)

    def merge(self, more: Ranked, top: int) -> Ranked:
        """This pass's options with those of a further pass over other candidates (whose own
        result has no employees' row), selected again. The candidates of both are put in the
        canonical order, as one pass over all of them would list them: ties are broken the same
        way whichever passes found them."""
        n1, n2 = len(self.pos), len(more.pos)
        cand_pos = np.concatenate([self.pos, more.pos])
        perm = np.argsort(self.ix.order_of(cand_pos), kind="stable")
        cand_rows = np.concatenate([np.arange(n1), len(self.scores) + np.arange(n2)])[perm]
        order = np.concatenate([cand_rows, np.arange(n1, len(self.scores))])  # candidates, then employees
        cat = lambda a, b: np.concatenate([a, b])[order]
        scores = cat(self.scores, more.scores)
        kind_codes = cat(self.kind_codes, more.kind_codes)
        counts = dict(self.cons.excluded_counts)
        counts[NOT_SCORED] = counts.get(NOT_SCORED, 0) - n2 - sum(more.cons.excluded_counts.values())
        for reason, n in more.cons.excluded_counts.items():
            counts[reason] = counts.get(reason, 0) + n
        cons = Considered(positions=cand_pos[perm], distance_km=np.concatenate(
            [self.cons.distance_km, more.cons.distance_km])[perm], excluded_counts=counts)
        return Ranked(self.ix, cons, cand_pos[perm], cat(self.dist, more.dist), kind_codes,
                       cat(self.is_emp, more.is_emp), scores, np.concatenate([self.contrib, more.contrib])[order],
                       top, self.employees_reason, cat(self.linked, more.linked))

    def result(self, q: Query, notes: list[str], scorer: Scorer, *, explain: bool,
               limit: int | None = None) -> MatchResult:
        ix, pos = self.ix, self.pos
        names = scorer.contribution_names if scorer.has_baseline else None
        options = []
        chosen = self.chosen
        emps = self.is_emp[chosen].tolist()
        firms = pos[chosen[~self.is_emp[chosen]]]  # the employees' row, if chosen, has no position
        ids, firm_names = iter(ix.ids[firms].tolist()), iter(ix.names[firms].tolist())
        contrib = self.contrib[chosen]
        for rank, (emp, code, km, link) in enumerate(zip(emps, self.kind_codes[chosen].tolist(),
                                                         self.dist[chosen].tolist(), self.linked[chosen].tolist()),
                                                     start=1):
            expl, score = explained(contrib[rank - 1], emp, names=names)  # the notes: once, on the result
            options.append(Option(
                siren=q.siren, rank=rank,
                candidate_id=f"employees:{q.siren}" if emp else next(ids),
                kind=EMPLOYEES if emp else KINDS[code],
                name=EMPLOYEES_NAME if emp else next(firm_names),
                score=score, distance_km=round(km, 2), trade_link=bool(link), explanation=expl,
            ))
        result = MatchResult(siren=q.siren, options=options, model_id=scorer.model_id, notes=notes,
                             excluded_counts=dict(self.cons.excluded_counts))
        reason = self.employees_reason
        if reason:
            result.excluded_counts[reason] = result.excluded_counts.get(reason, 0) + 1
        if explain:
            cons = self.cons
            p = cons.excluded_positions  # already in listing order: whole columns, then one dict per row
            result.exclusions = [
                {"candidate_id": c, "kind": k, "name": n, "reason": why, "distance_km": d}
                for c, k, n, why, d in zip(ix.ids[p].tolist(), np.asarray(KINDS, dtype=object)[ix.kind[p]].tolist(),
                                           ix.names[p].tolist(),
                                           np.asarray(REASONS, dtype=object)[cons.excluded_reasons].tolist(),
                                           np.round(cons.excluded_km, 2).tolist())
            ]
            result.exclusions_total = cons.excluded_total
            if reason:
                result.exclusions.insert(0, {"candidate_id": f"employees:{q.siren}", "kind": EMPLOYEES,
                                             "name": EMPLOYEES_NAME, "reason": reason, "distance_km": 0.0})
                result.exclusions_total += 1
                if limit is not None:  # listed first, it pushes the last row past the limit
                    del result.exclusions[limit:]
        return result
