"""Scoring a pass best first: rows whose score bound cannot enter the list are never scored.

A scorer whose full score is costly (the learned ranker: every tree's leaf for every row) may
offer ``score_bounds(X)``, an upper bound of each row's score for less work (the learned ranker:
two thirds of its trees, the others at their largest leaf). The rows are then scored in decreasing
order of their bound, in growing batches; after each batch, :func:`entry_thresholds` over the
rows scored so far tells, per kind, the score a further option needs to change the list, and a
row whose bound is below its kind's is dropped. Exact: a row left out could not have changed the
list (the thresholds only rise as more options are scored, see ``entry_thresholds``).
"""

from __future__ import annotations

import numpy as np

from matcher.ranking.index import KINDS
from matcher.ranking.score import Scorer, entry_thresholds

BEST_FIRST_FROM = 2_000  # rows in a pass; below, scoring them all costs less than bounding
FIRST_BATCH = 512
MARGIN = 1e-7  # a bound and a score are sums of the same leaves in another order


def score_best_first(scorer: Scorer, X: np.ndarray, is_emp: np.ndarray, kinds: np.ndarray,
                     top: int, linked: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows scored (increasing indices), their scores and contributions. The employees'
    row is always scored. ``linked``: each row's trade link (all linked when None): a row
    without one must beat what an unlinked option needs (``select_top`` lists them last)."""
    linked = np.ones(len(X), dtype=bool) if linked is None else np.asarray(linked, dtype=bool)
    if not len(X):
        return np.zeros(0, np.int64), *scorer.score_options(X, is_emp)
    bound = scorer.score_bounds(X)
    bound[is_emp] = np.inf
    todo = np.argsort(-bound, kind="stable")
    rows, scores, contribs = [], [], []
    batch = max(FIRST_BATCH, 4 * top)
    while len(todo):
        take, todo = todo[:batch], todo[batch:]
        s, c = scorer.score_options(X[take], is_emp[take])
        rows.append(take)
        scores.append(s)
        contribs.append(c)
        done = np.concatenate(rows)
        done_scores = np.concatenate(scores)
        for link in (True, False):
            thresholds = entry_thresholds(done_scores, kinds[done], top, len(KINDS), linked[done],
                                          newcomer_linked=link)
            if thresholds is not None:
                mine = linked[todo] == link
                todo = todo[~mine | (bound[todo] >= thresholds[kinds[todo]] - MARGIN)]
        batch *= 2
    done = np.concatenate(rows)
    order = np.argsort(done)
    return done[order], np.concatenate(scores)[order], np.concatenate(contribs)[order]
