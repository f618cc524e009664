"""Candidates read from a company's postings, with the postings that hold each (their tags): the
same candidates as the linked postings in reach, and the same features as looked up one by one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matcher import store
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.ranking import search as search_module
from matcher.ranking import ties as ties_module
from matcher.ranking.compare import CANDIDATE_COMPARISONS, FEATURES, candidate_features, trade_linked
from matcher.ranking.engine import Engine
from matcher.ranking.score import TransparentScorer
from matcher.ranking.search import CONFIDENTIAL_ONLY, FULL, LINKED_FIRST, FullSearch, Request
from matcher.ranking.spatial import in_sorted
from matcher.ranking.ties import Ties
from matcher.reference.value_chain import value_chain_matrix
from matcher.store.records import company_rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ties")
    files = generate(folder / "files", candidates=1500, companies=120)
    db = store.connect(f"sqlite:///{folder / 'demo.db'}")
    for kind in ("poles", "companies", "candidates", "outcomes"):
        import_file(db, kind, files[kind], rejects_path=folder / f"{kind}.rejects.csv")
    yield Engine.from_store(db), company_rows(db)
    db.dispose()


@pytest.mark.parametrize("table_bits", [ties_module.TABLE_BITS, 0])  # by a table of every tag, bit by bit
def test_features_from_tags_equal_those_looked_up(demo, monkeypatch, table_bits):
    monkeypatch.setattr(ties_module, "TABLE_BITS", table_bits)
    engine, companies = demo
    ix = engine.index
    posting_columns = [FEATURES.index(f) for f in ("interest", "experience", "pole", "partnership")]
    tied = 0
    for company in companies:
        q, _ = engine.query_for(company)
        ties = Ties.of(q.naf, q.poles, q.siren)
        pos, dist, tags = ix.tagged_in_reach(q.lat, q.lon, *ix.ties_in_box(q.lat, q.lon, ties=ties))
        reach, _ = ix.within_reach(q.lat, q.lon)
        linked = np.zeros(len(reach), dtype=bool)
        for post in ix.linked(naf_code=q.naf, poles=q.poles, siren=q.siren):
            linked |= in_sorted(post, reach)
        assert np.array_equal(pos, reach[linked])  # the candidates of the linked postings in reach
        looked_up = candidate_features(q, ix, pos, dist)
        from_tags = candidate_features(q, ix, pos, dist, ties=ties, tags=tags)
        assert np.array_equal(from_tags, looked_up)
        tied += int((looked_up[:, posting_columns] > 0).any(axis=1).sum())
    assert tied > 100  # postings of every family were read


def test_a_company_with_more_postings_than_a_tag_holds_is_searched_in_full(demo):
    engine, companies = demo
    company = next(c for c in companies if c.get("naf"))
    q, notes = engine.query_for(company)
    q = dataclasses.replace(q, poles=[*q.poles, *(f"P-{i}" for i in range(70))])
    assert Ties.of(q.naf, q.poles, q.siren) is None
    req = Request(q, None, 10)
    answers = [s.rank(engine, req).result(q, notes, engine.scorer, explain=False).rows() for s in (LINKED_FIRST, FULL)]
    assert answers[0] == answers[1] and answers[0]


def _tied(engine, companies):
    """Per company with a sector: its view, its postings, the candidates of its box they hold
    with their tags, and which of those have a trade link (as ``LinkedFirstSearch`` splits them)."""
    ix = engine.index
    for company in companies:
        q, _ = engine.query_for(company)
        if q.naf_idx < 0:
            continue
        ties = Ties.of(q.naf, q.poles, q.siren)
        divisions = [q.division, *map(int, np.flatnonzero(value_chain_matrix()[q.division]))]
        cand, tags = ix.ties_in_box(q.lat, q.lon, ties=ties)
        yield q, ties, cand, tags, ((tags & ties.linking) != 0) | ix.in_divisions(cand, divisions)


def test_posted_candidates_held_back_are_those_without_a_trade_link(demo):
    """Candidates tied by a pole or a partnership only, outside the trade's divisions, are read
    last (``LinkedFirstSearch``): exactly the posted candidates ``trade_linked`` finds unlinked."""
    engine, companies = demo
    ix = engine.index
    held = linked = 0
    for q, _, cand, tags, trade in _tied(engine, companies):
        pos, dist, _ = ix.tagged_in_reach(q.lat, q.lon, cand, tags)
        expected = trade_linked(candidate_features(q, ix, pos, dist), np.zeros(len(pos), dtype=bool))
        assert np.array_equal(trade[np.searchsorted(cand, pos)], expected)
        held, linked = held + int((~expected).sum()), linked + int(expected.sum())
    assert held > 50 and linked > 50  # both sides met


def _requests(engine, companies, top: int):
    """A request of ``top`` options per company with a sector and no confidential case (the
    linked-first search's), with its notes."""
    for company in companies:
        q, notes = engine.query_for(company)
        if q.naf_idx >= 0 and not q.confidential:
            yield Request(q, None, top), notes


def _rows(search, engine, req: Request, notes) -> list[dict]:
    return search.rank(engine, req).result(req.q, notes, engine.scorer, explain=False).rows()


@pytest.mark.parametrize("top", [10, 80])  # at 80 the linked options leave places: the held ones fill them
def test_lists_with_held_candidates_equal_scoring_everything(demo, monkeypatch, top):
    engine, companies = demo
    engine.shortcut_from = 0
    full_rank, fallbacks = FullSearch.rank, []
    monkeypatch.setattr(FullSearch, "rank", lambda self, e, r: fallbacks.append(1) or full_rank(self, e, r))
    filled = 0
    for req, notes in _requests(engine, companies, top):
        fallbacks.clear()
        a = _rows(LINKED_FIRST, engine, req, notes)
        searched_in_full = bool(fallbacks)
        assert a == _rows(FULL, engine, req, notes), req.q.siren
        # listed without scoring everything: an option tied by a pole only, from the held candidates
        filled += not searched_in_full and any(not r["trade_link"] and r["explanation"].get("pole", 0) > 0 for r in a)
    if top == 80:
        assert filled > 0


def _posted(engine, companies):
    """Per company with a sector, the posted candidates linked to its trade in reach: their
    distances, features, scores, and bounds before distances (``posted_bounds``)."""
    ix = engine.index
    for q, ties, cand, box_tags, trade in _tied(engine, companies):
        pos, dist, tags = ix.tagged_in_reach(q.lat, q.lon, cand[trade], box_tags[trade])
        X = candidate_features(q, ix, pos, dist, ties=ties, tags=tags)
        scores, _ = engine.scorer.score_options(X, np.zeros(len(pos), dtype=bool))
        yield dist, X, scores, engine.scorer.posted_bounds(q, ix, pos, ties, tags)


def test_posted_bounds_hold_every_score_and_are_tight_at_the_measured_features_largest(demo):
    """Before a distance is measured, a posted candidate's bound is its score with proximity,
    workforce and budget at 1: never below its score, equal to it when those are 1."""
    engine, companies = demo
    scorer = engine.scorer
    measured = [j for j, c in enumerate(CANDIDATE_COMPARISONS) if c.measured]
    assert [FEATURES[j] for j in measured] == ["proximity", "workforce", "budget"]
    n = 0
    for _, X, scores, bounds in _posted(engine, companies):
        assert (bounds + 1e-6 >= scores).all()
        room = (scorer.weights[measured] * (1.0 - X[:, measured])).sum(axis=1)
        assert np.allclose(bounds, scores + room, atol=1e-6)
        n += len(X)
    assert n > 1000


def test_posted_reach_is_where_a_bound_can_still_reach_a_score(demo):
    """Beyond ``posted_reach_km`` a candidate's score is below the score asked, at its own distance."""
    engine, companies = demo
    scorer = engine.scorer
    rng = np.random.default_rng(3)
    beyond = within = 0
    for dist, _, scores, bounds in _posted(engine, companies):
        need = scores + rng.uniform(-0.15, 0.05, len(scores)).astype(np.float32)
        km = scorer.posted_reach_km(bounds, need)
        assert (scores[dist > km] < need[dist > km]).all()
        assert (km[bounds + 1e-5 < need] == 0).all()
        beyond, within = beyond + int((dist > km).sum()), within + int(((dist <= km) & (scores < need)).sum())
    assert beyond > 100 and within > 100  # both sides met


@pytest.fixture
def posted_bound_always(monkeypatch):
    """The posted candidates bounded before their distances at any count, a first pass of 20."""
    monkeypatch.setattr(search_module, "POSTED_BOUND_FROM", 0)
    monkeypatch.setattr(search_module, "POSTED_FIRST", 20)


@pytest.mark.parametrize("top", [3, 10, 80])
def test_lists_with_posted_candidates_bounded_equal_scoring_everything(demo, posted_bound_always, monkeypatch, top):
    engine, companies = demo
    engine.shortcut_from = 0
    measured, plain = [0], engine.index.tagged_in_reach

    def counting(lat, lon, cand, *rest):
        measured[0] += len(cand)
        return plain(lat, lon, cand, *rest)

    monkeypatch.setattr(engine.index, "tagged_in_reach", counting)
    ruled_out = 0
    for req, notes in _requests(engine, companies, top):
        measured[0] = 0
        a = _rows(LINKED_FIRST, engine, req, notes)
        assert a == _rows(FULL, engine, req, notes), req.q.siren
        bounded, measured[0] = measured[0], 0
        with monkeypatch.context() as m:
            m.setattr(search_module, "POSTED_BOUND_FROM", 10**9)
            assert _rows(LINKED_FIRST, engine, req, notes) == a
        ruled_out += measured[0] - bounded
    if top <= 10:  # candidates whose distance was never measured (at 80 the linked options leave places)
        assert ruled_out > 500


def test_a_posted_bound_too_low_changes_a_list(demo, posted_bound_always, monkeypatch):
    """The exactness above depends on the bound: 0.03 too low, a list changes."""
    engine, companies = demo
    engine.shortcut_from = 0
    real = TransparentScorer.posted_bounds
    monkeypatch.setattr(TransparentScorer, "posted_bounds", lambda self, *a: real(self, *a) - np.float32(0.03))
    changed = sum(_rows(LINKED_FIRST, engine, req, notes) != _rows(FULL, engine, req, notes)
                  for req, notes in _requests(engine, companies, 10))
    assert changed > 0


def test_tags_hold_every_posting_up_to_the_last_bit(demo):
    """A tag is the bits of the postings holding a candidate, up to bit 62: the same postings
    posted under 61 bits give each candidate every bit of each posting holding it."""
    engine, companies = demo
    ix = engine.index
    q = next(q for q in (engine.query_for(c)[0] for c in companies) if q.naf and q.poles)
    real = Ties.of(q.naf, q.poles, q.siren)
    rows = [r for r in zip(real.family, real.key, real.feature, real.value)
            if len(getattr(ix, r[0]).get(r[1], ()))]
    many = Ties(*(tuple(c) for c in zip(*(rows * 61)[:ties_module.MAX_TIES])))
    cand, tags = ix.ties_in_box(q.lat, q.lon, ties=many)
    expected = np.zeros(len(cand), dtype=np.int64)
    for bit, post in enumerate(many.postings(ix)):
        expected[in_sorted(post, cand)] |= np.int64(1) << bit
    assert np.array_equal(tags, expected)
    assert (tags < 0).sum() == 0 and int(tags.max()) >= 2**61  # bits up to the last one


def test_a_confidential_case_lists_from_its_members_tags_what_scoring_everything_lists(demo, monkeypatch):
    """The pole's members of a confidential case are read with the company's postings, whose
    tags give their features: the list is the one scoring everything in reach gives, also when
    the company has more postings than a tag holds (members looked up one by one)."""
    engine, companies = demo
    engine.shortcut_from = 0
    listed = 0
    for company in companies:
        secret = dict(company, procedure="conciliation", confidential=True)
        q, notes = engine.query_for(secret)
        for poles in (q.poles, [*q.poles, *(f"P-{i}" for i in range(70))]):
            req = Request(dataclasses.replace(q, poles=poles), None, 10)
            a = CONFIDENTIAL_ONLY.rank(engine, req).result(req.q, notes, engine.scorer, explain=False).rows()
            assert a == FULL.rank(engine, req).result(req.q, notes, engine.scorer, explain=False).rows()
            listed += sum(not r["candidate_id"].startswith("employees:") for r in a)
    assert listed > 100  # members listed, with their features


def test_postings_with_none_of_their_candidates_in_the_box_read_nothing(demo):
    """A company whose postings hold candidates, none of them near it, reads an empty box
    (the read once failed on postings that were all empty inside the box)."""
    engine, companies = demo
    q = next(q for q in (engine.query_for(c)[0] for c in companies) if q.naf and q.poles)
    ties = Ties.of(q.naf, q.poles, q.siren)
    assert any(len(p) for p in ties.postings(engine.index))
    cand, tags = engine.index.ties_in_box(-21.11, 55.53, ties=ties)  # La Réunion, far from the demo's territory
    assert len(cand) == 0 and len(tags) == 0
