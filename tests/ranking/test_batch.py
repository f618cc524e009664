"""`reprise match --all` and the demo: the batch gives the same rows on one core or several."""

from __future__ import annotations

import pandas as pd
import pytest

from matcher import store
from matcher.cli.main import main
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.ranking import search as search_module
from matcher.ranking.batch import match_all
from matcher.ranking.engine import Engine
from matcher.ranking.explain import explained_score
from matcher.ranking.score import TransparentScorer
from matcher.store.records import company_rows


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    files = generate(tmp / "files")
    db = store.connect(f"sqlite:///{tmp / 'demo.db'}")
    for kind in ("poles", "companies", "candidates", "outcomes"):
        report = import_file(db, kind, files[kind])
        assert report.rejected == 0, report.rejects.head().to_dict("records")
    return db


def test_parallel_batch_equals_sequential_row_for_row(demo_db):
    engine = Engine.from_store(demo_db)
    companies = company_rows(demo_db)
    one = match_all(engine, companies, top=5)
    two = match_all(engine, companies, top=5, workers=2, chunk=40)
    assert len(one) > 4 * len(companies) * 0.9
    pd.testing.assert_frame_equal(one, two)


def test_demo_ranks_every_kind_with_explanations(demo_db):
    engine = Engine.from_store(demo_db)
    df = match_all(engine, company_rows(demo_db), top=10)
    assert set(df["kind"]) == {"company", "pole_member", "cooperative", "repreneur", "employee_group", "employees"}
    assert all(abs(explained_score(e) - s) < 1e-4 for e, s in zip(df["explanation"], df["score"]))
    inferred = df[df["explanation"].map(lambda e: "notes" in e)]
    assert len(inferred) > 0  # companies without naf had their sector inferred from the activity
    assert inferred["explanation"].iloc[0]["notes"][0].startswith("sector inferred from the activity text")


def test_demo_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPRISE_DATABASE_URL", raising=False)
    assert main(["demo", "--show", "2", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "candidates: read 1500, stored 1500" in out and "rejected 0" in out
    assert "why (top contributions)" in out
    assert (tmp_path / "reprise-demo" / "reprise.db").exists()
    assert not (tmp_path / "reprise.db").exists()  # the demo never writes into ./reprise.db
    matches = pd.read_csv(tmp_path / "reprise-demo" / "matches.csv")
    assert list(matches.columns)[:3] == ["siren", "rank", "candidate_id"]


class _NoBound(TransparentScorer):
    """The transparent scorer without its bound: forces the engine to score every candidate."""

    @property
    def bound(self):
        return None


@pytest.mark.parametrize("ring_km", [None, 0.0])
def test_scoring_only_linked_candidates_gives_the_exact_list(demo_db, monkeypatch, ring_km):
    if ring_km is not None:  # no first ring: every trade candidate not posted is bounded before it is read
        monkeypatch.setattr(search_module, "RING_KM", ring_km)
    bounded = Engine.from_store(demo_db)
    bounded.shortcut_from = 0  # take the short path even on this small territory
    full = Engine.from_store(demo_db, scorer=_NoBound())
    used_bound = 0
    for company in company_rows(demo_db):
        for top, kinds in ((3, None), (10, None), (5, ["cooperative", "employees"])):
            a, b = bounded.match(company, top=top, kinds=kinds), full.match(company, top=top, kinds=kinds)
            assert [o.as_dict() for o in a.options] == [o.as_dict() for o in b.options]
            used_bound += "not_scored" in a.excluded_counts
    assert used_bound >= 50  # 71 of 460 on this small territory; most lists at 1M candidates
