"""Scoring a pass best first: rows whose score bound cannot enter the list are never scored.

A scorer whose full score is costly (the learned ranker: every tree's leaf for every row, then
each leaf's path for the contributions) may offer ``score_bounds(X)``, an upper bound of each
row's score for less work (the learned ranker: each tree's largest leaf given the features with
few values and a slice of the distance's, see ``matcher.learning.reachable``). The rows are then
scored in decreasing order of their bound, in growing batches; before each batch,
:func:`entry_thresholds` over the options scored so far (this pass's, and those of the earlier
pass its options will be merged with) tells, per kind, the score a further option needs to change
the list, and a row whose bound is below its kind's is dropped. A scorer that gives a row's score
alone for less than its contributions (``plain_scores``: the learned ranker's leaf values without
their paths) has the rows of a batch below that score dropped before their contributions. Exact:
a row left out could not have changed the list (the thresholds only rise as more options are
scored, see ``entry_thresholds``).
"""

from __future__ import annotations

import numpy as np

from matcher.ranking.index import KINDS
from matcher.ranking.score import Scorer
from matcher.ranking.selection import entry_thresholds, top_k

BEST_FIRST_FROM = 500  # rows in a pass; below, scoring them all costs less than bounding
FIRST_BATCH = 512
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
    before = _deciding(*prior, top) if prior is not None else (np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool))
    bound = scorer.score_bounds(X)
    bound[is_emp] = np.inf
    plain = getattr(scorer, "plain_scores", None)
    todo = np.argsort(-bound, kind="stable")
    rows, scores, contribs = [np.zeros(0, np.int64)], [np.zeros(0)], []
    batch = max(FIRST_BATCH, 4 * top)
    while len(todo):
        done = np.concatenate(rows)
        need = _needed(np.concatenate([before[0], *scores]), np.concatenate([before[1], kinds[done]]),
                       np.concatenate([before[2], linked[done]]), top)
        if need is not None:
            todo = todo[bound[todo] >= need[linked[todo].astype(int), kinds[todo]] - MARGIN]
        take, todo = todo[:batch], todo[batch:]
        if need is not None and plain is not None and len(take):  # the score alone, before its contributions
            s = plain(X[take])
            take = take[is_emp[take] | (s >= need[linked[take].astype(int), kinds[take]] - MARGIN)]
        s, c = scorer.score_options(X[take], is_emp[take])
        rows.append(take)
        scores.append(s)
        contribs.append(c)
        batch *= 2
    done = np.concatenate(rows)
    order = np.argsort(done)
    if not contribs:  # every row ruled out by the earlier pass
        return done, *scorer.score_options(X[:0], is_emp[:0])
    return done[order], np.concatenate(scores)[order], np.concatenate(contribs)[order]


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
