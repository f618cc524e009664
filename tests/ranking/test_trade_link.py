"""Trade link first: options with no trade link come after every linked one, marked in every output."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from matcher.cli.main import main
from matcher.contract.imports import import_frame
from matcher.learning.measures import ranking_metrics
from matcher.ranking.compare import FEATURES, trade_linked
from matcher.ranking.engine import Engine
from matcher.ranking.selection import entry_thresholds, select_top
from matcher.scan.digest import write_digests
from matcher.store.records import company_rows

NANTES = (47.218, -1.554)
COMPANY = {"siren": "802649921", "name": "Informatique Durand", "naf": "62.02A", "lat": NANTES[0],
           "lon": NANTES[1], "headcount": "8", "revenue_eur": "600000", "procedure": "redressement",
           "pole": "P44"}


def cand(cid, kind, name, lat, lon, **kw):
    return {"candidate_id": cid, "kind": kind, "name": name, "lat": lat, "lon": lon, **kw}


CANDIDATES = [  # next door, ESUS, in the pole, apprentices: high scores with no trade link
    cand("552100554", "pole_member", "Coiffure du Port", 47.219, -1.555, naf="96.02A", pole="P44", esus="true",
         trains_apprentices="oui", budget_eur="900000", headcount="30"),
    cand("443061841", "cooperative", "SCIC Propreté", 47.220, -1.556, naf="81.21Z", legal_form="5458", ess="true",
         budget_eur="900000", headcount="30"),
    cand("732829320", "company", "Logiciels de l'Erdre", 47.40, -1.40, naf="62.01Z"),  # same division, far
    cand("R-1", "repreneur", "Ana Martin", 47.45, -1.35, sought_naf="62"),              # declared interest
]


@pytest.fixture
def loaded(db):
    frame = pd.DataFrame(CANDIDATES)
    assert import_frame(db, "companies", pd.DataFrame([COMPANY]).astype(str)).rejected == 0
    assert import_frame(db, "candidates", frame.astype(object).where(frame.notna(), None)).rejected == 0
    return db


def test_unlinked_options_follow_every_linked_one_and_are_marked(loaded):
    company = company_rows(loaded)[0]
    result = Engine.from_store(loaded).match(company, top=10)
    links = [o.trade_link for o in result.options]
    ids = [o.candidate_id for o in result.options]
    assert links == sorted(links, reverse=True)  # every linked option first
    assert {o.candidate_id for o in result.options if not o.trade_link} == {"552100554", "443061841"}
    assert {"732829320", "R-1", "employees:802649921"} <= {o.candidate_id for o in result.options if o.trade_link}
    unlinked_best = max(o.score for o in result.options if not o.trade_link)
    assert unlinked_best > min(o.score for o in result.options if o.trade_link)  # ahead by score alone
    # enough linked options: none without a trade link is listed
    short = Engine.from_store(loaded).match(company, top=3)
    assert all(o.trade_link for o in short.options) and len(short.options) == 3
    assert ids[:3] == [o.candidate_id for o in short.options]


def test_every_output_marks_the_trade_link(loaded, db_url, capsys, tmp_path):
    assert main(["--db", db_url, "match", "802649921", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [o["trade_link"] for o in payload["options"]][-2:] == [False, False]
    assert main(["--db", db_url, "match", "802649921", "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert df["trade_link"].tolist()[-2:] == [False, False] and df["trade_link"].iloc[0]
    assert main(["--db", db_url, "match", "802649921", "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "trade link" in table and 'trade link "no"' in table
    rows = Engine.from_store(loaded).match(company_rows(loaded)[0], top=10).rows()
    paths = write_digests(tmp_path, [{**company_rows(loaded)[0], "poles": ["P44"]}], pd.DataFrame(rows),
                          pole_names={"P44": "Estuaire"}, day="2026-11-29", top=10)
    digest = paths[0].read_text(encoding="utf-8")
    assert "| trade link |" in digest and "| no |" in digest and "| yes |" in digest
    assert 'trade link "no"' in digest


def test_trade_link_is_read_from_the_features():
    X = np.zeros((6, len(FEATURES)), dtype=np.float32)
    col = {f: FEATURES.index(f) for f in FEATURES}
    X[0, col["sector"]] = 0.45   # same division
    X[1, col["sector"]] = 0.1    # same section only: no link
    X[2, col["value_chain"]] = 1.0
    X[3, col["interest"]] = 0.7
    X[4, col["experience"]] = 0.1  # experience of another division of the section: no link
    is_emp = np.array([False] * 5 + [True])
    assert trade_linked(X, is_emp).tolist() == [True, False, True, True, False, True]


def test_select_top_never_puts_an_unlinked_option_ahead():
    rng = np.random.default_rng(11)
    for _ in range(500):
        n, top = int(rng.integers(1, 30)), int(rng.integers(1, 12))
        scores = rng.choice(np.linspace(0.05, 0.95, 19), n).astype(np.float32)
        kinds = rng.integers(0, 6, n).astype(np.int8)
        linked = rng.random(n) < 0.5
        chosen = select_top(scores, kinds, top, linked)
        assert len(chosen) == min(top, n) and len(set(chosen.tolist())) == len(chosen)
        flags = linked[chosen]
        assert flags.tolist() == sorted(flags.tolist(), reverse=True)
        if linked.sum() >= top:
            assert flags.all()
        else:  # every linked option is in, the rest filled by the best unlinked ones
            assert set(np.flatnonzero(linked)) <= set(chosen.tolist())
            tail = chosen[~flags]
            assert list(scores[tail]) == sorted(scores[tail], reverse=True)
            left_out = np.setdiff1d(np.flatnonzero(~linked), tail)
            assert not len(left_out) or scores[left_out].max() <= scores[tail].min()
        within = chosen[flags]
        assert select_top(scores[linked], kinds[linked], top).tolist() == \
            [int(np.flatnonzero(np.flatnonzero(linked) == i)[0]) for i in within]


@pytest.mark.parametrize("newcomer_linked", [True, False])
def test_an_option_below_its_entry_threshold_leaves_the_list_unchanged(newcomer_linked):
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(400):
        n, top = int(rng.integers(1, 30)), int(rng.integers(1, 12))
        scores = rng.choice(np.linspace(0.05, 0.95, 19), n).astype(np.float32)
        kinds = rng.integers(0, 6, n).astype(np.int8)
        linked = rng.random(n) < rng.random()
        before = select_top(scores, kinds, top, linked)
        thresholds = entry_thresholds(scores, kinds, top, 6, linked, newcomer_linked=newcomer_linked)
        if thresholds is None:
            continue
        for kind in range(6):
            t = np.float32(min(float(thresholds[kind]), 2.0))
            for extra in (np.nextafter(t, np.float32(-1)), np.float32(t - 0.2)):
                after = select_top(np.append(scores, extra), np.append(kinds, kind).astype(np.int8), top,
                                   np.append(linked, newcomer_linked))
                assert after.tolist() == before.tolist(), (scores, kinds, linked, top, kind, extra)
                checked += 1
    assert checked > 1000


def test_held_out_measures_rank_as_the_list_does():
    groups = ["a"] * 3
    grades = np.array([0, 3, 0])
    scores = np.array([0.9, 0.5, 0.8])
    by_score = ranking_metrics(groups, grades, scores)
    as_listed = ranking_metrics(groups, grades, scores, np.array([False, True, False]))
    assert as_listed["ndcg@5"] == pytest.approx(1.0) and by_score["ndcg@5"] == pytest.approx(0.5)


class _Noisy:
    """A scorer whose score bounds exceed its scores by a random slack (as a learned ranker's)."""

    def __init__(self, scores: np.ndarray, slack: np.ndarray) -> None:
        self.s, self.slack = scores, slack

    def score_options(self, X, is_emp):
        rows = X[:, 0].astype(np.int64)
        return self.s[rows], self.s[rows][:, None]

    def score_bounds(self, X):
        rows = X[:, 0].astype(np.int64)
        return self.s[rows] + self.slack[rows]


def test_best_first_scoring_keeps_the_list_with_trade_links(monkeypatch):
    from matcher.ranking import pruning
    monkeypatch.setattr(pruning, "FIRST_BATCH", 8)
    rng = np.random.default_rng(2)
    pruned = 0
    for _ in range(200):
        n, top = int(rng.integers(20, 300)), int(rng.integers(1, 12))
        scores = rng.choice(np.linspace(0.05, 0.95, 19), n)
        kinds = rng.integers(0, 6, n).astype(np.int8)
        linked = rng.random(n) < rng.random()
        is_emp = np.zeros(n, dtype=bool)
        scorer = _Noisy(scores, rng.random(n) * 0.2)
        X = np.arange(n, dtype=np.float64)[:, None]
        rows, s, _ = pruning.score_best_first(scorer, X, is_emp, kinds, top, linked)
        want = select_top(scores, kinds, top, linked)
        got = rows[select_top(s, kinds[rows], top, linked[rows])]
        assert got.tolist() == want.tolist()
        pruned += n - len(rows)
    assert pruned > 0
