"""The learned ranker's row bound (largest leaf reachable) and best-first scoring seeded by an
earlier pass: never below a score, exact when every feature is known, and the lists' check
fails when the bound is made a little too low."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.learning.reachable import ReachableMax
from matcher.learning.scorer import LearnedScorer
from matcher.ranking.compare import FEATURES
from matcher.ranking.engine import Engine
from matcher.ranking.index import KINDS
from matcher.ranking.pruning import _deciding
from matcher.ranking.selection import entry_thresholds
from matcher.store.records import company_rows


def _option_rows(db, ranker, n_companies: int = 30) -> np.ndarray:
    """Feature rows of every option of the first companies of the demo, as the engine makes them."""
    engine = Engine.from_store(db)
    rows = []
    for company in company_rows(db)[:n_companies]:
        ids = engine.considered_ids(company)
        rows.append(engine.features_for(company, ids)[0])
    return np.concatenate(rows).astype(np.float64)


def test_largest_reachable_leaf_bounds_every_row_and_is_the_score_when_all_is_known(trained):
    db, result = trained
    ranker = result.ranker
    tables = [pred.nodes for (pred,) in ranker.model_._predictors]
    base = float(np.ravel(ranker.model_._baseline_prediction)[0])
    rng = np.random.default_rng(7)
    random_rows = rng.random((2000, len(FEATURES))) * rng.integers(0, 2, (2000, len(FEATURES)))
    for X in (random_rows, _option_rows(db, ranker)):
        scores = ranker.predict(X)
        slack = []
        for level in range(ranker.bound_levels):  # each level a bound, each tighter than the one before
            bounds = ranker.score_bounds(X, level=level)
            assert (bounds >= scores - 1e-12).all()
            if slack:
                assert (bounds - scores <= slack[-1] + 1e-12).all()
            slack.append(bounds - scores)
        assert np.median(slack[-1]) < 0.2 and np.median(slack[0]) < 0.4  # a bound per row, not a constant
        assert np.median(slack[-1]) < np.median(slack[0])
        every = ReachableMax(tables, list(range(len(FEATURES))), [])
        assert np.clip(base + every.bounds(X), 0, 1) == pytest.approx(scores, abs=1e-12)
        many = [FEATURES.index(f) for f in ("proximity", "workforce", "budget")]
        thin = ReachableMax(tables, [f for f in range(len(FEATURES)) if f not in many], many, 10_000)
        assert np.clip(base + thin.bounds(X), 0, 1) == pytest.approx(scores, abs=1e-12)  # a slice per bin
        none = ReachableMax(tables, [], [])  # nothing known: each tree's largest leaf
        largest = sum(float(t["value"][t["is_leaf"].astype(bool)].max()) for t in tables)
        assert none.bounds(X) == pytest.approx(np.full(len(X), largest))


@pytest.mark.parametrize(("method", "level"), [("score_bounds", 0), ("score_bounds", 1), ("plain_scores", None)])
def test_lists_differ_when_the_bound_is_a_little_too_low(trained, monkeypatch, method, level):
    """The lists' checks against scoring everything (``test_learn``) have teeth: a bound of any
    level below a row's score (or a score without contributions below the score), by 0.01 only,
    drops options that should rank."""
    from matcher.learning.ranker import LearnedRanker
    from matcher.ranking import engine as engine_module
    from matcher.ranking import pruning
    monkeypatch.setattr(engine_module, "BEST_FIRST_FROM", 0)
    monkeypatch.setattr(pruning, "FIRST_BATCH", 4)
    db, result = trained
    ranker = result.ranker
    assert ranker.bound_levels == 2
    if method == "score_bounds":
        right = LearnedRanker.score_bounds
        monkeypatch.setattr(LearnedRanker, method, lambda self, X, level=0: (
            self.predict(X) - 0.01 if level == wrong else right(self, X, level)))
        wrong = level
    else:
        monkeypatch.setattr(LearnedRanker, method, lambda self, X: self.predict(X) - 0.01)
    scorer = LearnedScorer(ranker, model_id="test")
    bounded, full = Engine.from_store(db, scorer=scorer), Engine.from_store(db, scorer=scorer)
    bounded.shortcut_from = 0
    differ = sum([o.as_dict() for o in bounded.match(c, top=10).options] !=
                 [o.as_dict() for o in full.match(c, top=10).options] for c in company_rows(db)[:60])
    assert differ > 0


def test_plain_scores_are_the_scores(trained):
    """Exact, missing values included: best-first scoring takes its thresholds from them."""
    db, result = trained
    rng = np.random.default_rng(9)
    missing = rng.random((500, len(FEATURES)))
    missing[rng.random(missing.shape) < 0.2] = np.nan
    for X in (rng.random((2000, len(FEATURES))) * rng.integers(0, 2, (2000, len(FEATURES))),
              _option_rows(db, result.ranker), missing):
        assert result.ranker.plain_scores(X) == pytest.approx(result.ranker.predict(X), abs=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_an_earlier_pass_reduced_to_what_decides_gives_the_same_thresholds(seed):
    rng = np.random.default_rng(seed)
    n, top = int(rng.integers(0, 60)), int(rng.integers(1, 12))
    scores = np.round(rng.random(n), 2)  # ties on purpose
    kinds = rng.integers(0, len(KINDS), n).astype(np.int8)
    linked = rng.random(n) < 0.7
    reduced = _deciding(scores, kinds, linked, top)
    for m in (0, 5, 30):
        more = (np.round(rng.random(m), 2), rng.integers(0, len(KINDS), m).astype(np.int8), rng.random(m) < 0.7)
        for link in (True, False):
            a = entry_thresholds(np.r_[scores, more[0]], np.r_[kinds, more[1]], top, len(KINDS),
                                 np.r_[linked, more[2]], newcomer_linked=link)
            b = entry_thresholds(np.r_[reduced[0], more[0]], np.r_[reduced[1], more[1]], top, len(KINDS),
                                 np.r_[reduced[2], more[2]], newcomer_linked=link)
            assert (a is None) == (b is None)
            if a is not None:
                assert np.array_equal(a, b)


def test_float32_rows_are_bounded_as_their_float64_values_at_every_threshold(trained):
    """The bounds compare float32 rows with the thresholds rounded down to float32: the same bins
    as the float64 values, at, just below and just above every threshold."""
    _, result = trained
    ranker = result.ranker
    finder = ranker._leaf_finder()
    rng = np.random.default_rng(21)
    rows = []
    for feature, thresholds in zip(finder.features, finder.thresholds):
        for t in np.unique(thresholds):
            t32 = np.float32(t)
            for value in (t32, np.nextafter(t32, np.float32(-1)), np.nextafter(t32, np.float32(2))):
                x = rng.random(ranker.n_features_in_).astype(np.float32) * rng.integers(0, 2, ranker.n_features_in_)
                x[feature] = value
                rows.append(x)
    X = np.array(rows, dtype=np.float32)
    assert len(X) > 300
    for level in range(ranker.bound_levels):
        assert np.array_equal(ranker.score_bounds(X, level=level), ranker.score_bounds(X.astype(np.float64), level=level))
    tables = [pred.nodes for (pred,) in ranker.model_._predictors]
    every = ReachableMax(tables, list(range(len(FEATURES))), [])
    assert np.array_equal(every.bounds(X), every.bounds(X.astype(np.float64)))
