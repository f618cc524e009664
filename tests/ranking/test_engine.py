"""The engine through matcher functions and `reprise match`: exclusions, features, explanations."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from matcher import store
from matcher.cli.main import main
from matcher.contract.imports import import_frame
from matcher.ranking.engine import Engine
from matcher.ranking.explain import explained_score
from matcher.ranking.score import CANDIDATE_WEIGHTS, EMPLOYEE_WEIGHTS
from matcher.ranking.selection import select_top
from matcher.ranking.spatial import box_ranges, union_sorted
from matcher.reference import naf
from matcher.reference.geo import haversine_km
from matcher.store.records import company_rows

NANTES = (47.218, -1.554)
COMPANY = {"siren": "802649921", "name": "Menuiserie Durand", "naf": "43.32A", "lat": NANTES[0],
           "lon": NANTES[1], "headcount": "8", "revenue_eur": "600000", "procedure": "redressement",
           "pole": "P44"}


def cand(cid, kind, name, lat, lon, **kw):
    return {"candidate_id": cid, "kind": kind, "name": name, "lat": lat, "lon": lon, **kw}


CANDIDATES = [
    cand("732829320", "company", "Menuiserie Voisine", 47.25, -1.52, naf="43.32A", headcount="20", budget_eur="400000"),
    cand("443061841", "cooperative", "SCOP Bois", 47.30, -1.60, naf="16.23Z", legal_form="5458", ess="true"),
    cand("R-1", "repreneur", "Ana Martin", 47.20, -1.50, experience_naf="43.32A", budget_eur="150000", sought_naf="43.3"),
    cand("552100554", "pole_member", "Bâti Solidaire", 47.22, -1.56, naf="41.20A", pole="P44", esus="true",
         trains_apprentices="oui", partners="802649921"),
    cand("R-FAR", "repreneur", "Far Away", 43.30, 5.37, sought_naf="43"),                 # Marseille
    cand("489032136", "company", "In Trouble Too", 47.21, -1.55, naf="43.32A"),           # in difficulty
    cand("R-SHY", "company", "Outsider", 47.30, -1.45, naf="43.32A", radius_km="5"),  # ~12 km away
]
OTHER_CASE = {"siren": "489032136", "name": "In Trouble Too", "naf": "43.32A", "lat": 47.21, "lon": -1.55,
              "procedure": "liquidation", "headcount": "0"}


@pytest.fixture
def loaded(db):
    r1 = import_frame(db, "companies", pd.DataFrame([COMPANY, OTHER_CASE]).fillna("").astype(str))
    r2 = import_frame(db, "candidates", pd.DataFrame(CANDIDATES).astype(object).where(
        pd.DataFrame(CANDIDATES).notna(), None))
    assert r1.rejected == 0 and r2.rejected == 0, (r1.rejects.to_dict("records"), r2.rejects.to_dict("records"))
    return db


def engine_for(db) -> Engine:
    return Engine.from_store(db)


def test_exclusion_reasons_and_ranked_mix(loaded):
    eng = engine_for(loaded)
    company = company_rows(loaded, ["802649921"])[0]
    result = eng.match(company, top=10, explain_exclusions=True)
    by_id = {e["candidate_id"]: e["reason"] for e in result.exclusions}
    assert by_id["R-FAR"] == "out_of_radius"
    assert by_id["489032136"] == "in_difficulty"
    assert by_id["R-SHY"] == "out_of_radius"  # its own 5 km radius does not reach the company
    ids = [o.candidate_id for o in result.options]
    assert set(ids) == {"732829320", "443061841", "R-1", "552100554", "employees:802649921"}
    assert {o.kind for o in result.options} == {"company", "cooperative", "repreneur", "pole_member", "employees"}
    assert [o.rank for o in result.options] == list(range(1, 6))
    scores = [o.score for o in result.options]
    assert scores == sorted(scores, reverse=True)
    assert result.excluded_counts == {"out_of_radius": 2, "in_difficulty": 1}


def test_explanations_add_up_to_scores_and_use_documented_weights(loaded):
    result = engine_for(loaded).match(company_rows(loaded, ["802649921"])[0])
    for o in result.options:
        assert 0 <= o.score <= 1
        assert explained_score(o.explanation) == pytest.approx(o.score, abs=1e-4)
        weights = EMPLOYEE_WEIGHTS if o.kind == "employees" else CANDIDATE_WEIGHTS
        assert {k for k in o.explanation if k != "notes"} == set(weights)
        for feature, contribution in o.explanation.items():
            if feature != "notes":
                assert 0 <= contribution <= weights[feature] + 1e-9
    best = {o.candidate_id: o.explanation for o in result.options}
    assert best["732829320"]["sector"] == pytest.approx(CANDIDATE_WEIGHTS["sector"])  # same sub-class
    assert best["443061841"]["value_chain"] == pytest.approx(CANDIDATE_WEIGHTS["value_chain"])  # wood -> joinery
    assert best["443061841"]["sector"] == 0
    assert best["R-1"]["experience"] == pytest.approx(CANDIDATE_WEIGHTS["experience"])
    assert best["R-1"]["interest"] == pytest.approx(0.8 * CANDIDATE_WEIGHTS["interest"])  # group-level interest
    assert best["552100554"]["pole"] == pytest.approx(CANDIDATE_WEIGHTS["pole"])
    assert best["552100554"]["partnership"] == pytest.approx(CANDIDATE_WEIGHTS["partnership"])
    assert best["552100554"]["ess"] == pytest.approx(CANDIDATE_WEIGHTS["ess"])
    assert best["552100554"]["apprentices"] == pytest.approx(CANDIDATE_WEIGHTS["apprentices"])
    assert best["732829320"]["proximity"] > best["443061841"]["proximity"]


def test_employees_option_and_its_features(loaded):
    eng = engine_for(loaded)
    rich = eng.match(company_rows(loaded, ["802649921"])[0])
    emp = next(o for o in rich.options if o.kind == "employees")
    assert emp.candidate_id == "employees:802649921"
    # 8 employees, joinery is labour-intensive, redressement leaves time, a SCOP 10 km away
    assert emp.explanation["emp_labour_intensive"] == pytest.approx(EMPLOYEE_WEIGHTS["emp_labour_intensive"])
    assert emp.explanation["emp_procedure"] == pytest.approx(0.8 * EMPLOYEE_WEIGHTS["emp_procedure"])
    assert emp.explanation["emp_coop_support"] == pytest.approx(0.6 * EMPLOYEE_WEIGHTS["emp_coop_support"])
    liquidation = dict(company_rows(loaded, ["802649921"])[0], procedure="liquidation", headcount=2)
    weak = next(o for o in eng.match(liquidation).options if o.kind == "employees")
    assert weak.score < emp.score
    none_left = eng.match(company_rows(loaded, ["489032136"])[0], explain_exclusions=True)
    assert "employees" not in {o.kind for o in none_left.options}
    assert none_left.exclusions[0] == {"candidate_id": "employees:489032136", "kind": "employees",
                                       "name": "Employees of the company (SCOP takeover)",
                                       "reason": "no_employees", "distance_km": 0.0}


def test_kind_filter_and_confidential_cases(loaded):
    eng = engine_for(loaded)
    company = company_rows(loaded, ["802649921"])[0]
    only = eng.match(company, kinds=["repreneur", "employees"], explain_exclusions=True)
    assert {o.kind for o in only.options} == {"repreneur", "employees"}
    assert {e["candidate_id"] for e in only.exclusions if e["reason"] == "kind_filter"} == \
        {"732829320", "443061841", "552100554"}
    secret = dict(company, procedure="conciliation", confidential=True)
    result = eng.match(secret, explain_exclusions=True)
    reasons = {e["candidate_id"]: e["reason"] for e in result.exclusions}
    assert reasons["732829320"] == "confidential_outside_pole"
    assert reasons["R-1"] == "confidential_outside_pole"
    assert {o.candidate_id for o in result.options} == {"552100554", "employees:802649921"}
    pm = next(o for o in result.options if o.candidate_id == "552100554")
    assert pm.explanation["discretion"] == pytest.approx(CANDIDATE_WEIGHTS["discretion"])
    orphan = dict(secret, pole=None)
    assert [o.kind for o in eng.match(orphan).options] == ["employees"]


def test_same_company_is_never_its_own_buyer(db):
    import_frame(db, "companies", pd.DataFrame([COMPANY]).astype(str))
    import_frame(db, "candidates", pd.DataFrame([cand("802649921", "company", "Me", 47.2, -1.55, naf="43.32A")]))
    # it is in difficulty and the same firm: the first reason that applies is reported
    result = engine_for(db).match(company_rows(db)[0], explain_exclusions=True)
    assert result.exclusions[0]["reason"] == "same_company"


def test_select_top_keeps_a_viable_kind_in_the_list():
    scores = np.array([0.9, 0.85, 0.8, 0.75, 0.6, 0.2])
    kinds = np.array([0, 0, 0, 0, 3, 4], dtype=np.int8)
    top = select_top(scores, kinds, 3)
    assert list(top) == [0, 1, 4]  # the repreneur (0.6 ≥ 0.6 × 0.9) replaces the 3rd company
    assert 5 not in select_top(scores, kinds, 5)  # 0.2 is not viable


def test_naf_shared_levels_and_normalisation():
    assert naf.normalize("4332A") == "43.32A" and naf.normalize(" 43.32 a") == "43.32A"
    assert naf.normalize("4332") is None and naf.is_subclass("43.32A") and not naf.is_subclass("99.99Z")
    assert [naf.shared_level("43.32A", b) for b in ("43.32A", "43.32B", "43.31Z", "43.21A", "41.20A", "56.30Z")] \
        == [5, 4, 3, 2, 1, 0]
    assert len(naf.nomenclature()) == 732
    assert naf.normalize_prefix("433") == "43.3" and naf.normalize_prefix("77.77") is None
    assert naf.label("43") == "Travaux de construction spécialisés"  # stray spaces removed


def test_shared_levels_of_every_pair_from_the_codes():
    """The vectorised levels (one gather in a per-query table) against the codes' own prefixes."""
    nom = naf.nomenclature()
    codes, sections = nom.codes, nom.sections
    others = np.r_[np.arange(len(codes)), -1, -1].astype(np.int16)
    for q in (0, 1, 300, 512, len(codes) - 1):
        want = [0 if j < 0 else 5 if codes[j] == codes[q] else 4 if codes[j][:5] == codes[q][:5]
                else 3 if codes[j][:4] == codes[q][:4] else 2 if codes[j][:2] == codes[q][:2]
                else 1 if sections[j] == sections[q] else 0 for j in others]
        assert naf.shared_levels(q, others).tolist() == want


def test_match_cli_formats(loaded, db_url, capsys, tmp_path):
    assert main(["--db", db_url, "match", "802 649 921", "--format", "json", "--top", "3"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [o["rank"] for o in payload["options"]] == [1, 2, 3]
    assert payload["model"] == "transparent"
    assert main(["match", "802649921", "--format", "csv", "--db", db_url]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(df.columns) == ["siren", "rank", "candidate_id", "kind", "name", "score", "distance_km", "trade_link", "explanation"]
    for _, row in df.iterrows():
        assert explained_score(json.loads(row["explanation"])) == pytest.approx(row["score"], abs=1e-4)
    assert main(["--db", db_url, "match", "802649921", "--format", "table", "--explain-exclusions"]) == 0
    table = capsys.readouterr().out
    assert "Menuiserie Voisine" in table and "R-FAR" in table and "out_of_radius" in table
    out = tmp_path / "all.csv"
    assert main(["--db", db_url, "match", "--all", "--top", "2", "--out", str(out)]) == 0
    all_rows = pd.read_csv(out, dtype={"siren": str})
    assert sorted(all_rows["siren"].unique()) == ["489032136", "802649921"]
    assert all_rows.groupby("siren")["rank"].max().max() == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["match", "999999999"], "siren 999999999 is not a stored company"),
    (["match", "802649921", "--top", "0"], "--top 0 is out of range"),
    (["match", "802649921", "--kinds", "bank"], "--kinds bank is not a kind"),
    (["match", "--all"], "--all needs --out"),
    (["match"], "give either a SIREN or --all"),
])
def test_match_cli_errors(loaded, db_url, capsys, argv, message):
    assert main(["--db", db_url, *argv]) == 2
    assert message in capsys.readouterr().err


def test_confidential_counts_split_by_reason(loaded):
    eng = engine_for(loaded)
    eng.shortcut_from = 0  # examine the pole's members only, as at scale
    secret = dict(company_rows(loaded, ["802649921"])[0], procedure="conciliation", confidential=True)
    result = eng.match(secret)
    # one pole member (in reach); the six others are outside the pole
    assert result.excluded_counts == {"confidential_outside_pole": 6}
    assert [o.candidate_id for o in result.options] == ["552100554", "employees:802649921"] or \
        {o.candidate_id for o in result.options} == {"552100554", "employees:802649921"}


def _check_listing(eng, company, limits, **kw):
    """Each limited listing is the prefix of the full one, and both give the full total."""
    full = eng.match(company, explain_exclusions=True, **kw)
    assert full.exclusions_total == len(full.exclusions)
    body = [e for e in full.exclusions if not e["candidate_id"].startswith("employees:")]
    keys = [(e["reason"] == "out_of_radius", e["distance_km"]) for e in body]
    assert keys == sorted(keys)  # the other reasons first, each part by distance
    for limit in limits:
        part = eng.match(company, explain_exclusions=True, exclusions_limit=limit, **kw)
        assert part.exclusions == full.exclusions[:limit], limit
        assert part.exclusions_total == full.exclusions_total
        assert part.excluded_counts == full.excluded_counts and part.options == full.options
    return full


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from matcher.contract.imports import import_file
    from matcher.demo.build import generate

    tmp = tmp_path_factory.mktemp("demo")
    files = generate(tmp / "files")
    db = store.connect(f"sqlite:///{tmp / 'demo.db'}")
    for kind in ("poles", "companies", "candidates"):
        assert import_file(db, kind, files[kind]).rejected == 0
    return db


def test_limited_exclusions_are_a_prefix_of_all_on_the_demo(demo_db):
    eng = Engine.from_store(demo_db)
    companies = company_rows(demo_db)[:6]
    for company in companies:
        full = _check_listing(eng, company, [0, 1, 5, 40, 1500, 10_000])
        assert full.exclusions_total == sum(full.excluded_counts.values())
    # with the employees' row first (kind filter), and confidential cases
    full = _check_listing(eng, companies[0], [0, 1, 2, 5, 10_000], kinds=["company", "repreneur"])
    assert full.exclusions[0]["candidate_id"].startswith("employees:")
    _check_listing(eng, dict(companies[1], confidential=True), [0, 1, 5, 10_000])
    with pytest.raises(ValueError, match="exclusions_limit -1"):
        eng.match(companies[0], explain_exclusions=True, exclusions_limit=-1)


def test_limited_exclusions_grow_the_box_without_measuring_every_candidate(monkeypatch):
    from matcher.ranking import candidates as gmod
    from matcher.ranking import index as cmod
    from matcher.ranking import reach as rmod

    rng = np.random.default_rng(7)
    n = 20_000
    frame = pd.DataFrame({
        "candidate_id": [f"C{i:05d}" for i in range(n)], "kind": rng.choice(["company", "repreneur"], n),
        "name": [f"Candidate {i}" for i in range(n)], "naf": rng.choice(["43.32A", "16.23Z", "56.10A"], n),
        "lat": rng.uniform(42.0, 51.0, n), "lon": rng.uniform(-4.5, 8.0, n), "radius_km": rng.uniform(3, 30, n)})
    frame.loc[:24, ["lat", "lon", "radius_km"]] = (45.30, 4.85, 5.0)  # 25 ties ~51 km away, out of radius
    eng = Engine(cmod.CandidateIndex.from_frame(frame, difficulty_sirens={f"C{i:05d}" for i in range(0, n, 3)}))
    company = {"siren": "802649921", "naf": "43.32A", "lat": 45.76, "lon": 4.84, "headcount": 8,
               "procedure": "redressement"}
    full = _check_listing(eng, company, [0, 1, 5, 30, 200, 800, n + 5])
    assert full.excluded_counts["in_difficulty"] > 0 and full.exclusions_total == sum(full.excluded_counts.values())
    _check_listing(eng, company, [0, 1, 3, 30, 800], kinds=["repreneur"])
    tied = [i for i, e in enumerate(full.exclusions) if e["candidate_id"] < "C00025"]
    assert tied == list(range(tied[0], tied[0] + 25)) and 30 < tied[0] < 800  # together, between the limits
    assert [full.exclusions[i]["candidate_id"] for i in tied] == [f"C{i:05d}" for i in range(25)]  # by position
    _check_listing(eng, company, [tied[0], tied[0] + 1, tied[0] + 7, tied[-1]])  # cutting through the ties
    measured, boxes = [], []
    for module in (rmod, gmod):  # in-reach distances (the index's reads), out-of-radius ones (generation)
        monkeypatch.setattr(module, "haversine_km", lambda *a: measured.append(len(a[2])) or haversine_km(*a))
    monkeypatch.setattr(cmod, "box_ranges", lambda *a, **k: boxes.append(k.get("within_km")) or box_ranges(*a, **k))
    eng.match(company, explain_exclusions=True, exclusions_limit=800)
    assert len([b for b in boxes if b is not None]) >= 3  # the box grew several times
    assert sum(measured) < n / 2


def test_an_option_below_its_kind_entry_threshold_leaves_the_list_unchanged():
    """entry_thresholds is what lets the engine skip unlinked candidates: checked against
    select_top itself on random lists, with options added just below each kind's threshold."""
    from matcher.ranking.selection import entry_thresholds, select_top
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(400):
        n, top = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        scores = rng.choice(np.linspace(0.05, 0.95, 19), n).astype(np.float32)  # ties on purpose
        kinds = rng.integers(0, 6, n).astype(np.int8)
        before = select_top(scores, kinds, top)
        thresholds = entry_thresholds(scores, kinds, top, 6)
        if thresholds is None:
            assert n < top
            continue
        for kind in range(6):
            below = np.float32(np.nextafter(np.float32(thresholds[kind]), np.float32(-1)))
            for extra in (below, np.float32(thresholds[kind] - 0.2)):
                after = select_top(np.append(scores, extra), np.append(kinds, kind).astype(np.int8), top)
                assert after.tolist() == before.tolist(), (scores, kinds, top, kind, extra)
                checked += 1
    assert checked > 2000


def test_union_of_sorted_postings_is_their_distinct_positions():
    rng = np.random.default_rng(5)
    parts = [np.unique(rng.integers(0, 5_000, n)).astype(np.int32) for n in (0, 1, 300, 2_000, 4_000)]
    for k in range(len(parts) + 1):
        assert np.array_equal(union_sorted(parts[:k]), np.unique(np.concatenate([np.zeros(0, np.int32), *parts[:k]])))
    assert np.array_equal(union_sorted(parts[-1:]), parts[-1])
