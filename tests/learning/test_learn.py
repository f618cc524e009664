"""The learned ranker: measures, training pairs, the never-contacted choice, the estimator contract."""

from __future__ import annotations

import io
import math
import shutil

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from matcher import store
from matcher.learning import pairs as learn
from matcher.learning.evaluate import sample_options
from matcher.learning.measures import ranking_metrics
from matcher.learning.ranker import LearnedRanker
from matcher.learning.scorer import LearnedScorer
from matcher.ranking.compare import FEATURES
from matcher.ranking.engine import Engine
from matcher.ranking.explain import explained_score
from matcher.ranking.score import TransparentScorer
from matcher.store.records import company_rows
from tests.learning.conftest import SMALL


@pytest.fixture
def demo_db(demo_template, tmp_path):
    path = tmp_path / "demo.db"
    shutil.copy(demo_template, path)
    db = store.connect(f"sqlite:///{path}")
    yield db
    db.dispose()


# -- measures --------------------------------------------------------------------------------

def test_measures_on_a_hand_computed_list():
    groups = ["a", "a", "a", "b", "b"]
    grades = np.array([0, 4, 2, 1, 0])
    scores = np.array([0.9, 0.5, 0.1, 0.3, 0.3])
    m = ranking_metrics(groups, grades, scores)
    dcg = 15 / math.log2(3) + 3 / math.log2(4)
    idcg = 15 + 3 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx(dcg / idcg)
    assert m["map"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m["recall@10"] == 1.0
    assert m["companies"] == 1  # "b" has no relevant option (contacted only): left out


def test_measures_reward_the_right_order_and_ties_gain_nothing():
    groups = ["a"] * 4
    grades = np.array([0, 0, 3, 4])
    assert ranking_metrics(groups, grades, np.array([0.0, 0.1, 0.8, 0.9]))["ndcg@5"] == pytest.approx(1.0)
    tied = ranking_metrics(groups, grades, np.zeros(4))
    assert tied["ndcg@5"] < 1.0 and tied["map"] < 1.0  # ties keep the input order, relevant last
    with pytest.raises(ValueError, match="same length"):
        ranking_metrics(groups, grades, np.zeros(3))


# -- the estimator --------------------------------------------------------------------------

def _synthetic(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, len(FEATURES))).astype(np.float32)
    y = np.clip(np.round(4 * (0.6 * X[:, 0] * X[:, 4] + 0.3 * X[:, 1] + 0.1 * rng.random(n))), 0, 4)
    return X, y


def test_estimator_contract_clone_and_joblib_round_trip():
    X, y = _synthetic()
    ranker = LearnedRanker(max_iter=40, learning_rate=0.2, n_threads=1, random_state=3)
    assert ranker.get_params()["max_iter"] == 40 and ranker.get_params()["random_state"] == 3
    with pytest.raises(NotFittedError):
        ranker.predict_contributions(X[:5])
    assert ranker.fit(X, y) is ranker
    twin = clone(ranker)
    assert twin.get_params() == ranker.get_params()
    assert not hasattr(twin, "model_")
    assert list(ranker.get_feature_names_out()) == [*FEATURES, "baseline"]
    buf = io.BytesIO()
    joblib.dump(ranker, buf)
    buf.seek(0)
    loaded = joblib.load(buf)
    s1, c1 = ranker.predict_contributions(X[:200])
    s2, c2 = loaded.predict_contributions(X[:200])
    assert np.array_equal(s1, s2) and np.array_equal(c1, c2)
    assert np.array_equal(clone(ranker).fit(X, y).predict(X[:200]), s1)  # deterministic refit


def test_contributions_add_up_to_the_boosters_prediction_and_the_score():
    X, y = _synthetic(seed=1)
    ranker = LearnedRanker(max_iter=50, n_threads=1).fit(X, y)
    raw = ranker.model_.predict(X[:500])
    assert np.allclose(ranker.baseline_ + ranker.raw_contributions(X[:500]).sum(axis=1), raw, atol=1e-9)
    scores, contrib = ranker.predict_contributions(X[:500])
    assert contrib.shape == (500, len(FEATURES) + 1)
    assert np.allclose(contrib.sum(axis=1), scores) and scores.min() >= 0 and scores.max() <= 1
    assert np.all(contrib[:, -1] == contrib[0, -1])  # one baseline for every option


def test_scores_are_clipped_to_0_1_and_still_add_up():
    # stumps are additive, so they fit "either feature high" with an overshoot at both, and an
    # undershoot at neither
    rng = np.random.default_rng(2)
    X = rng.random((400, 3))
    y = np.where((X[:, 0] > 0.5) | (X[:, 1] > 0.5), 4.0, 0.0)
    ranker = LearnedRanker(max_iter=50, max_leaf_nodes=2, n_threads=1).fit(X, y)
    far = rng.random((100, 3))
    raw = ranker.model_.predict(far)
    scores, contrib = ranker.predict_contributions(far)
    assert raw.max() > 1 or raw.min() < 0, "the data should make the booster overshoot"
    assert scores.min() >= 0 and scores.max() <= 1
    assert np.allclose(contrib.sum(axis=1), scores)
    assert np.array_equal(np.sign(contrib[:, :-1]), np.sign(ranker.raw_contributions(far)))


def test_bad_grades_are_refused_with_the_range():
    X, _ = _synthetic(n=50)
    with pytest.raises(ValueError, match=r"grades must lie in \[0, 4"):
        LearnedRanker(n_threads=1).fit(X, np.full(50, 7.0))


# -- training pairs on the demo ---------------------------------------------------------------

def test_features_for_are_the_engines_own(demo_db):
    engine = Engine.from_store(demo_db)
    company = company_rows(demo_db)[3]
    result = engine.match(company, top=10)
    ids = [o.candidate_id for o in result.options]
    X, _, is_emp, dist = engine.features_for(company, ids)
    scores, _ = TransparentScorer().score_options(X, is_emp)
    assert [round(float(s), 4) for s in scores] == pytest.approx([o.score for o in result.options], abs=2e-4)
    assert np.allclose(dist, [o.distance_km for o in result.options], atol=0.01)
    with pytest.raises(ValueError, match="not in the candidate index"):
        engine.features_for(company, ["no-such-candidate"])


def test_best_grade_per_pair_and_employees_included(demo_db):
    store.upsert(demo_db, store.outcomes, [
        {"siren": "732829320", "candidate_id": "X-1", "outcome": "interested", "date": "2026-01-02"},
        {"siren": "732829320", "candidate_id": "X-1", "outcome": "contacted", "date": "2026-01-01"},
        {"siren": "732829320", "candidate_id": "X-1", "outcome": "offer", "date": "2026-02-01"},
    ])
    grades = learn.best_grades(demo_db)
    row = grades[(grades.siren == "732829320") & (grades.candidate_id == "X-1")]
    assert row["grade"].tolist() == [3]
    assert not grades.duplicated(["siren", "candidate_id"]).any()
    assert grades["candidate_id"].str.startswith("employees:").any()


def test_never_contacted_are_sampled_from_the_considered_set_as_weighted_zeros(demo_db):
    engine = Engine.from_store(demo_db)
    grades = learn.best_grades(demo_db)
    sirens = sorted(set(grades.siren))[:12]
    companies = company_rows(demo_db, sirens)
    pairs = learn.training_pairs(engine, companies, grades, unlabelled_ratio=2, unlabelled_weight=0.5, seed=7)
    assert pairs.stats["unlabelled"] > 0
    un = ~pairs.labelled
    assert np.all(pairs.grade[un] == 0) and np.all(pairs.weight[un] == 0.5) and np.all(pairs.weight[~un] == 1)
    for company in companies:
        mine = pairs.siren == company["siren"]
        labelled = set(grades[grades.siren == company["siren"]].candidate_id)
        sampled = set(pairs.candidate_id[mine & un])
        pool = set(engine.considered_ids(company)) - labelled
        assert sampled <= pool and not (sampled & labelled)
        assert len(sampled) == min(len(pool), math.ceil(2 * int((mine & ~un).sum())))
    # the sample of a company does not depend on which other companies are trained on
    alone = learn.training_pairs(engine, companies[:1], grades, unlabelled_ratio=2, unlabelled_weight=0.5, seed=7)
    first = pairs.siren == companies[0]["siren"]
    assert list(alone.candidate_id) == list(pairs.candidate_id[first])
    none = learn.training_pairs(engine, companies, grades, unlabelled_ratio=0)
    assert none.stats["unlabelled"] == 0 and none.labelled.all()
    # a company without any outcome contributes nothing
    silent = [c for c in company_rows(demo_db) if c["siren"] not in set(grades.siren)][:3]
    assert len(learn.training_pairs(engine, silent, grades)) == 0


def test_never_contacted_pairs_improve_the_held_out_ranking(demo_db):
    """The documented choice: with sampled never-contacted pairs, the held-out lists advisors see
    are better ranked than when training on contacted pairs alone (3 folds by company)."""
    engine = Engine.from_store(demo_db)
    grades = learn.best_grades(demo_db)
    sirens = np.array(sorted(set(grades.siren)))
    companies = company_rows(demo_db, list(sirens))
    # every labelled option and never-contacted ones up to 150 per company keep the test fast
    full = sample_options(learn.ranking_pairs(engine, companies, grades), per_company=150)
    with_unlabelled = learn.training_pairs(engine, companies, grades, seed=0)
    contacted_only = with_unlabelled.subset(with_unlabelled.labelled)
    ndcg = {"default": [], "contacted only": []}
    for k in range(3):
        test = sirens[k::3]
        held = np.isin(full.siren, test)
        for name, pairs in (("default", with_unlabelled), ("contacted only", contacted_only)):
            fit = ~np.isin(pairs.siren, test)
            ranker = LearnedRanker(**SMALL).fit(pairs.X[fit], pairs.grade[fit], sample_weight=pairs.weight[fit])
            scores = ranker.predict(full.X[held])
            ndcg[name].append(ranking_metrics(full.siren[held], full.grade[held], scores)["ndcg@10"])
    assert np.mean(ndcg["default"]) > np.mean(ndcg["contacted only"]) + 0.01, ndcg


def test_training_beats_the_transparent_scorer_on_held_out_companies(trained):
    _, result = trained
    new, base = result.metrics["new"], result.metrics["transparent"]
    assert new["ndcg@10"] > base["ndcg@10"] + 0.05, result.metrics
    assert new["ndcg@5"] > base["ndcg@5"] and new["map"] > base["map"]
    assert new["companies"] == base["companies"] >= 20
    assert not set(result.train.siren) & set(result.test_sirens)  # never the same company in both
    assert set(result.heldout.siren) <= set(result.test_sirens)


def test_learned_explanations_add_up_and_transparent_ones_are_unchanged(trained):
    demo_db, result = trained
    ranker = result.ranker
    company = company_rows(demo_db)[0]
    learned = Engine.from_store(demo_db, scorer=LearnedScorer(ranker, model_id="test")).match(company, top=5)
    for o in learned.options:
        assert "baseline" in o.explanation
        assert explained_score(o.explanation) == pytest.approx(o.score, abs=1e-9)
        assert all(v != 0 for k, v in o.explanation.items() if k not in ("baseline", "notes"))
    plain = Engine.from_store(demo_db).match(company, top=5)
    for o in plain.options:
        assert "baseline" not in o.explanation
        assert explained_score(o.explanation) == pytest.approx(o.score, abs=1e-9)


def test_tree_bound_is_never_below_a_score_in_its_box(trained):
    """TreeBound against the ranker itself: random feature rows inside a box score at most the
    box's bound, and a box narrowed to one point bounds exactly that point."""
    from matcher.learning.bound import TreeBound
    _, result = trained
    bound = TreeBound(result.ranker)
    rng = np.random.default_rng(5)
    for _ in range(40):
        lo = rng.random(len(FEATURES)) * rng.integers(0, 2, len(FEATURES))
        hi = np.minimum(1.0, lo + rng.random(len(FEATURES)) * rng.integers(0, 2, len(FEATURES)))
        X = lo + rng.random((300, len(FEATURES))) * (hi - lo)
        assert result.ranker.predict(X).max() <= bound.bounds(lo, hi)[0] + 1e-12
        assert bound.bounds(X[0], X[:1])[0] == pytest.approx(result.ranker.predict(X[:1])[0], abs=1e-12)


def test_score_bounds_from_some_trees_are_never_below_the_score(trained):
    _, result = trained
    rng = np.random.default_rng(11)
    X = rng.random((3000, len(FEATURES))) * rng.integers(0, 2, (3000, len(FEATURES)))
    bounds, scores = result.ranker.score_bounds(X), result.ranker.predict(X)
    assert (bounds >= scores - 1e-12).all()
    assert (bounds < 1).any() and np.median(bounds - scores) < 0.5  # a bound, not a constant


@pytest.mark.parametrize(("ring_km", "best_first_from"), [(None, None), (0.0, None), (None, 0)])
def test_learned_ranker_with_its_bound_gives_the_lists_of_scoring_everything(trained, monkeypatch, ring_km,
                                                                            best_first_from):
    from matcher.ranking import engine as engine_module
    from matcher.ranking import search as search_module
    if ring_km is not None:  # no first ring: every trade candidate not posted is bounded before it is read
        monkeypatch.setattr(search_module, "RING_KM", ring_km)
    if best_first_from is not None:  # every pass scored best first, rows bounded from some trees
        from matcher.ranking import pruning
        monkeypatch.setattr(engine_module, "BEST_FIRST_FROM", best_first_from)
        monkeypatch.setattr(pruning, "FIRST_BATCH", 4)
    demo_db, result = trained
    scorer = LearnedScorer(result.ranker, model_id="test")
    assert scorer.bound is not None
    bounded = Engine.from_store(demo_db, scorer=scorer)
    bounded.shortcut_from = 0  # take the bounded path even on this small territory
    full = Engine.from_store(demo_db, scorer=scorer)  # the full search scores every candidate in reach
    skipped = 0
    for company in company_rows(demo_db):
        for top, kinds in ((3, None), (10, None), (5, ["cooperative", "employees"])):
            a, b = bounded.match(company, top=top, kinds=kinds), full.match(company, top=top, kinds=kinds)
            assert [o.as_dict() for o in a.options] == [o.as_dict() for o in b.options]
            skipped += a.excluded_counts.get("not_scored", 0)
    assert skipped > 0


def test_leaf_finder_reaches_the_boosters_leaves_at_and_around_every_threshold(trained):
    from matcher.learning.leaves import LeafFinder
    _, result = trained
    ranker = result.ranker
    finder = LeafFinder(ranker.model_._predictors, ranker.n_features_in_)
    rng = np.random.default_rng(3)
    rows = []
    for feature, thresholds in zip(finder.features, finder.thresholds):
        for t in thresholds:
            for value in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)):
                x = rng.random(ranker.n_features_in_)
                x[feature] = value
                rows.append(x)
    X = np.array(rows)
    no_cats, f_map = np.zeros((0, 8), dtype=np.uint32), np.zeros(X.shape[1], dtype=np.uint32)
    walked = np.stack([tree.predict(X, no_cats, f_map, 1) for tree in ranker.leaf_predictors_], axis=1)
    assert len(X) > 300 and np.array_equal(finder.leaves(X), walked.astype(np.int64))


def test_best_first_scoring_depends_on_its_bound(trained, monkeypatch):
    """The check above has teeth: with bounds of 0 (wrong), best-first scoring stops after its
    first batch and lists differ from scoring everything."""
    from matcher.learning.ranker import LearnedRanker
    from matcher.ranking import engine as engine_module
    from matcher.ranking import pruning
    monkeypatch.setattr(engine_module, "BEST_FIRST_FROM", 0)
    monkeypatch.setattr(pruning, "FIRST_BATCH", 4)
    monkeypatch.setattr(LearnedRanker, "score_bounds", lambda self, X, level=0: np.zeros(len(X)))
    demo_db, result = trained
    scorer = LearnedScorer(result.ranker, model_id="test")
    bounded, full = Engine.from_store(demo_db, scorer=scorer), Engine.from_store(demo_db, scorer=scorer)
    bounded.shortcut_from = 0
    companies = company_rows(demo_db)[:40]
    differ = sum([o.as_dict() for o in bounded.match(c, top=10).options] !=
                 [o.as_dict() for o in full.match(c, top=10).options] for c in companies)
    assert differ > 0
