"""Best-first scoring with a cascade of bounds and scores without contributions
(``matcher.ranking.pruning``): the list of scoring every row, whatever the bounds' slack, and a
check with teeth (thresholds taken a little too high drop options that should rank)."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.ranking import pruning
from matcher.ranking.selection import select_top


class _Cascade:
    """Scores known in advance; a loose bound, two finer ones, scores alone, and contributions
    counted so the test can tell they were made for few rows only."""

    def __init__(self, scores: np.ndarray, rng: np.random.Generator, widths=(0.4, 0.2, 0.05)) -> None:
        self.s = scores
        self.slack = [rng.random(len(scores)) * w for w in widths]
        self.contributed = 0

    def _rows(self, X):
        return X[:, 0].astype(np.int64)

    def score_bounds(self, X):
        rows = self._rows(X)
        return self.s[rows] + self.slack[0][rows]

    @property
    def finer_bounds(self):
        return tuple(lambda X, k=k: self.s[self._rows(X)] + self.slack[k][self._rows(X)] for k in (1, 2))

    def plain_scores(self, X):
        return self.s[self._rows(X)]

    def score_options(self, X, is_emp):
        self.contributed += len(X)
        rows = self._rows(X)
        return self.s[rows], self.s[rows][:, None]


def _lists(monkeypatch, margin: float = pruning.MARGIN, with_prior: bool = False,
           widths=(0.4, 0.2, 0.05)) -> tuple[int, int, int]:
    """(lists that differ from scoring everything, rows left out, contributions made) over
    random passes."""
    monkeypatch.setattr(pruning, "FIRST_BATCH", 8)
    monkeypatch.setattr(pruning, "MARGIN", margin)
    rng = np.random.default_rng(4)
    differ = left_out = contributed = 0
    for _ in range(150):
        n, top = int(rng.integers(20, 600)), int(rng.integers(1, 12))
        scores = rng.choice(np.linspace(0.05, 0.95, 37), n)  # ties on purpose
        kinds = rng.integers(0, 6, n).astype(np.int8)
        linked = rng.random(n) < rng.random()
        is_emp = np.zeros(n, dtype=bool)
        is_emp[-1 if rng.random() < 0.5 else int(rng.integers(0, n))] = rng.random() < 0.7  # last, or anywhere
        scorer = _Cascade(scores, rng, widths)
        X = np.arange(n, dtype=np.float64)[:, None]
        prior = None
        if with_prior:  # an earlier pass over other options, merged with this one
            m = int(rng.integers(0, 40))
            prior = (rng.choice(np.linspace(0.05, 0.95, 37), m), rng.integers(0, 6, m).astype(np.int8),
                     rng.random(m) < 0.7)
        rows, s, _ = pruning.score_best_first(scorer, X, is_emp, kinds, top, linked, prior)
        assert rows.tolist() == sorted(rows.tolist()) and is_emp[rows].sum() == is_emp.sum()
        all_s, all_k, all_l = scores, kinds, linked
        got_s, got_k, got_l = s, kinds[rows], linked[rows]
        ids_all, ids_got = np.arange(n), rows
        if prior is not None:
            all_s, all_k, all_l = np.r_[prior[0], all_s], np.r_[prior[1], all_k], np.r_[prior[2], all_l]
            got_s, got_k, got_l = np.r_[prior[0], got_s], np.r_[prior[1], got_k], np.r_[prior[2], got_l]
            ids_all, ids_got = np.r_[-1 - np.arange(len(prior[0])), ids_all], np.r_[-1 - np.arange(len(prior[0])), rows]
        want = ids_all[select_top(all_s, all_k, top, all_l)]
        got = ids_got[select_top(got_s, got_k, top, got_l)]
        differ += got.tolist() != want.tolist()
        left_out += n - len(rows)
        contributed += scorer.contributed
    return differ, left_out, contributed


@pytest.mark.parametrize("with_prior", [False, True])
def test_a_cascade_of_bounds_keeps_the_list_and_contributes_few_rows(monkeypatch, with_prior):
    differ, left_out, contributed = _lists(monkeypatch, with_prior=with_prior)
    assert differ == 0
    assert left_out > 0 and contributed < 0.2 * (contributed + left_out)


@pytest.mark.parametrize("widths", [(0.4, 0.2, 0.05), (2.0, 2.0, 2.0)])
def test_thresholds_taken_a_little_too_high_change_lists(monkeypatch, widths):
    """The check above has teeth: rows 0.02 below what their kind needs are not enough to drop,
    whether by their bounds or (bounds of 2, which rule nothing out) by their scores alone
    before their contributions."""
    assert _lists(monkeypatch, widths=widths)[0] == 0
    assert _lists(monkeypatch, margin=-0.02, widths=widths)[0] > 0
