"""Scoring a pass best first: rows whose score bound cannot enter the list are never scored.

A scorer whose full score is costly (the learned ranker: every tree's leaf for every row, then
each leaf's path for the contributions) may offer ``score_bounds(X)``, an upper bound of each
row's score for less work (the learned ranker: each tree's largest leaf given the features with
few values and a slice of the distance's, see ``matcher.learning.reachable``), and
``finer_bounds``, tighter bounds for more work per row. Each row is bounded; the rows of highest
bound are scored first, unless an earlier pass already tells what a row must beat. From then on,
:func:`entry_thresholds` over the options scored so far (this pass's, and those of the earlier
pass its options will be merged with) tells, per kind, the score a further option needs to change
the list: a row whose bound is below its kind's is dropped, the survivors are bounded again by
each finer bound in turn, and those left are scored in decreasing order of their last bound, in
growing batches, dropping rows as the thresholds rise. A scorer that gives a row's score alone
for less than its contributions (``plain_scores``, exact up to the order of the sums) has the
contributions made last, only for the rows that reach the thresholds of every score made.

Exact: a row left out could not have changed the list. The thresholds only rise as more
options are scored (see ``entry_thresholds``), so a row dropped on a bound is below the final
thresholds; and a scored row below its final threshold is outside the plain top of its side and
not the best of its kind where that best could count, so leaving all such rows out leaves the
thresholds, and the list, as they are.
"""

from __future__ import annotations

import numpy as np

from matcher.ranking.index import KINDS
from matcher.ranking.score import Scorer
from matcher.ranking.selection import entry_thresholds, top_k

BEST_FIRST_FROM = 500  # rows in a pass; below, scoring them all costs less than bounding
FIRST_BATCH = 256
SHORTLIST = 4  # the first batch: the rows of highest finest bound among this many times as many
MARGIN = 1e-7  # a bound and a score are sums of the same leaves in another order


def score_best_first(scorer: Scorer, X: np.ndarray, is_emp: np.ndarray, kinds: np.ndarray,
                     top: int, linked: np.ndarray | None = None,
                     prior: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows scored (increasing indices), their scores and contributions. The employees'
    row is always scored. ``linked``: each row's trade link (all linked when None): a row
    without one must beat what an unlinked option needs (``select_top`` lists them last).
    ``prior``: scores, kind codes and trade links of the options an earlier pass scored, which
    the list is selected from together with these: a row must beat them too."""
    linked = np.ones(len(X), dtype=bool) if linked is None else np.asarray(linked, dtype=bool)
    if not len(X):
        return np.zeros(0, np.int64), *scorer.score_options(X, is_emp)
    scored = _Scored(scorer, X, is_emp, kinds, linked, top,
                     _deciding(*prior, top) if prior is not None else None)
    finer_bounds = tuple(getattr(scorer, "finer_bounds", ()))
    bound = _bounds(scorer.score_bounds, X, None, is_emp)
    finest = np.full(len(X), np.nan)  # the finest bound, where made already
    need = scored.need()
    if need is None:  # nothing to beat yet: the rows of highest (finest) bound first
        first = _highest(bound, SHORTLIST * max(FIRST_BATCH, 4 * top))
        if finer_bounds:
            finest[first] = _bounds(finer_bounds[-1], X, first, is_emp)
            first = first[_highest(finest[first], max(FIRST_BATCH, 4 * top))]
        scored.add(first)
        need = scored.need()
    todo = np.flatnonzero(bound >= need - MARGIN)
    todo = todo[~scored.seen[todo]]
    bound = bound[todo]
    for level, finer in enumerate(finer_bounds, start=1):
        if not len(todo):
            break
        if level == len(finer_bounds):
            bound = finest[todo]
            missing = np.isnan(bound)
            bound[missing] = _bounds(finer, X, todo[missing], is_emp)
        else:
            bound = _bounds(finer, X, todo, is_emp)
        keep = bound >= scored.need(todo) - MARGIN
        todo, bound = todo[keep], bound[keep]
    order = np.argsort(-bound, kind="stable")
    todo, bound = todo[order], bound[order]
    batch = max(FIRST_BATCH, 4 * top)
    while len(todo):
        scored.add(todo[:batch])
        todo, bound = todo[batch:], bound[batch:]
        keep = bound >= scored.need(todo) - MARGIN
        todo, bound = todo[keep], bound[keep]
        batch *= 2
    return scored.options()


def _bounds(bounds, X: np.ndarray, rows: np.ndarray | None, is_emp: np.ndarray) -> np.ndarray:
    """``bounds`` of the rows ``rows`` of ``X`` (all when None); the employees' rows, always
    scored, are not bounded (inf), so their own columns vary in no row bounded."""
    emp = is_emp if rows is None else is_emp[rows]
    if not emp.any():
        return bounds(X if rows is None else X[rows])
    out = np.full(len(emp), np.inf)
    k = int(emp.sum())
    if rows is None and emp[-k:].all():  # the employees' row last (as the engine adds it): a view
        out[:-k] = bounds(X[:-k]) if k < len(X) else out[:0]
    else:
        out[~emp] = bounds(X[np.flatnonzero(~emp) if rows is None else rows[~emp]])
    return out


def _highest(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` of the highest values (all when fewer), in no particular order."""
    if len(values) <= k:
        return np.arange(len(values))
    return np.argpartition(-values, k - 1)[:k]


class _Scored:
    """The rows of a pass scored so far (their scores without contributions when the scorer
    gives those for less), and the thresholds they and an earlier pass's options set."""

    def __init__(self, scorer: Scorer, X: np.ndarray, is_emp: np.ndarray, kinds: np.ndarray,
                 linked: np.ndarray, top: int, before: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        self.scorer, self.X, self.is_emp, self.kinds, self.linked, self.top = scorer, X, is_emp, kinds, linked, top
        self.before = before or (np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool))
        self.seen = np.zeros(len(X), dtype=bool)
        self.rows: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []
        self.later: list = []  # per batch, what gives its contributions
        self._need: np.ndarray | None = None

    def add(self, rows: np.ndarray) -> None:
        self.seen[rows] = True
        if hasattr(self.scorer, "plain_scores"):
            s, later = self.scorer.plain_scores(self.X[rows]), None
        else:
            s, c = self.scorer.score_options(self.X[rows], self.is_emp[rows])
            later = (s, c)
        self.rows.append(rows)
        self.scores.append(s)
        self.later.append(later)
        self._need = None

    def need(self, rows: np.ndarray | None = None):
        """The score each of ``rows`` (all rows when None) needs to change the list (its kind's
        and trade link's threshold, -inf: any); None while nothing is scored."""
        if self._need is None:
            rows_done = np.concatenate([np.zeros(0, np.int64), *self.rows])
            self._need = _needed(np.concatenate([self.before[0], *self.scores]),
                                 np.concatenate([self.before[1], self.kinds[rows_done]]),
                                 np.concatenate([self.before[2], self.linked[rows_done]]), self.top)
        if self._need is None:
            return None
        if rows is None:
            return self._need[self.linked.astype(np.intp), self.kinds]
        return self._need[self.linked[rows].astype(np.intp), self.kinds[rows]]

    def options(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows that reach the final thresholds (and the employees'), in increasing order,
        with their scores and contributions."""
        if not self.rows:  # every row ruled out by the earlier pass
            return np.zeros(0, np.int64), *self.scorer.score_options(self.X[:0], self.is_emp[:0])
        rows, s = np.concatenate(self.rows), np.concatenate(self.scores)
        keep = self.is_emp[rows] | (s >= self.need(rows) - MARGIN)
        order = np.argsort(rows[keep])
        rows = rows[keep][order]
        if self.later[0] is None:  # scores alone so far: the contributions of the rows kept
            return rows, *self.scorer.score_options(self.X[rows], self.is_emp[rows])
        contribs = np.concatenate([c for _, c in self.later])[keep][order]
        return rows, s[keep][order], contribs


def _needed(scores: np.ndarray, kinds: np.ndarray, linked: np.ndarray, top: int) -> np.ndarray | None:
    """(2, kinds): the score a further option needs to change the list, unlinked (row 0) or
    linked (row 1), by kind (-inf: any); None while no option is scored."""
    if not len(scores):
        return None
    need = np.full((2, len(KINDS)), -np.inf)
    for link in (False, True):
        thresholds = entry_thresholds(scores, kinds, top, len(KINDS), linked, newcomer_linked=link)
        if thresholds is not None:
            need[int(link)] = thresholds
    return need


def _deciding(scores: np.ndarray, kinds: np.ndarray, linked: np.ndarray, top: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The options of an earlier pass that ``entry_thresholds`` can depend on, with others added:
    the ``top`` best linked ones, the best linked one of each kind, the ``top`` best unlinked."""
    linked = np.asarray(linked, dtype=bool)
    keep = []
    for side in (np.flatnonzero(linked), np.flatnonzero(~linked)):
        keep.append(side[top_k(scores[side], top)])
    inside = np.flatnonzero(linked)
    for kind in np.unique(kinds[inside]):
        members = inside[kinds[inside] == kind]
        keep.append(members[[int(np.argmax(scores[members]))]])
    keep = np.unique(np.concatenate(keep))
    return scores[keep], kinds[keep], linked[keep]
