"""The demo territory and the benchmark generators: contract formats, validity, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher.contract.identifiers import luhn_valid
from matcher.demo import build as demo
from matcher.reference import naf

PROCEDURES = {"none", "mandat_ad_hoc", "conciliation", "sauvegarde", "redressement", "liquidation"}
KINDS = {"company", "pole_member", "cooperative", "repreneur", "employee_group"}
FIRMS = ["company", "pole_member", "cooperative"]
GRADES = ["rejected", "contacted", "interested", "offer", "takeover"]
CONTRACT_COLUMNS = {
    "poles": ["pole_id", "name", "departements", "communes", "lat", "lon", "radius_km",
              "cooperative_support"],
    "companies": ["siren", "name", "naf", "activity", "lat", "lon", "commune", "postal_code",
                  "headcount", "headcount_band", "revenue_eur", "procedure", "procedure_date",
                  "offer_deadline", "pole", "confidential", "ess", "legal_form", "description"],
    "candidates": ["candidate_id", "kind", "name", "naf", "sought_naf", "sought_activity",
                   "experience_naf", "lat", "lon", "commune", "postal_code", "radius_km",
                   "headcount", "revenue_eur", "budget_eur", "max_target_headcount", "legal_form",
                   "ess", "esus", "pole", "partners", "trains_apprentices"],
    "outcomes": ["siren", "candidate_id", "outcome", "date", "advisor", "note"],
}


def luhn(siren: str) -> bool:
    """Reference Luhn check, written independently of the generator."""
    if len(siren) != 9 or not siren.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(siren)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def items(column: pd.Series) -> list[str]:
    return [x for cell in column for x in cell.split(";") if x]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    paths = demo.generate(tmp_path_factory.mktemp("demo"))
    return {key: read(path) for key, path in paths.items()}


def test_files_have_the_contract_columns_and_default_sizes(files):
    for key, columns in CONTRACT_COLUMNS.items():
        assert list(files[key].columns) == columns, key
    assert len(files["companies"]) == 240
    assert len(files["candidates"]) == 1500
    assert 2 <= len(files["poles"]) <= 3
    assert "true" in set(files["poles"]["cooperative_support"])


def test_same_seed_same_bytes_other_seed_other_files(tmp_path):
    a = demo.generate(tmp_path / "a", seed=5, companies=40, candidates=200)
    b = demo.generate(tmp_path / "b", seed=5, companies=40, candidates=200)
    c = demo.generate(tmp_path / "c", seed=6, companies=40, candidates=200)
    assert {k: a[k].read_bytes() == b[k].read_bytes() for k in a} == dict.fromkeys(a, True)
    for key in ("companies", "candidates", "outcomes"):
        assert a[key].read_bytes() != c[key].read_bytes(), key


def test_every_siren_is_luhn_valid(files):
    comp, cand, out = files["companies"], files["candidates"], files["outcomes"]
    sirens = list(comp["siren"]) + list(cand.loc[cand["kind"].isin(FIRMS), "candidate_id"])
    sirens += items(cand["partners"]) + list(out["siren"])
    sirens += [c.split(":", 1)[1] for c in out["candidate_id"] if c.startswith("employees:")]
    assert sirens and all(luhn(s) for s in sirens)
    assert luhn_valid(np.array(sirens)).all()
    assert not luhn_valid(["123456789", "12345678", "abc"]).any()


def test_every_naf_exists_and_sought_prefixes_name_something(files):
    comp, cand = files["companies"], files["candidates"]
    codes = [c for c in comp["naf"] if c] + [c for c in cand["naf"] if c]
    codes += items(cand["experience_naf"])
    assert codes and all(naf.is_subclass(c) for c in codes)
    prefixes = items(cand["sought_naf"])
    assert prefixes and all(naf.normalize_prefix(p) == p for p in prefixes)
    assert {len(p) for p in prefixes} >= {2, 4, 5, 6}  # divisions, groups, classes, sub-classes


def test_every_kind_and_procedure_appears(files):
    comp, cand = files["companies"], files["candidates"]
    assert set(comp["procedure"]) >= PROCEDURES - {"none"}
    assert set(comp["procedure"]) <= PROCEDURES
    assert set(cand["kind"]) == KINDS
    persons = cand[cand["kind"] == "repreneur"]
    assert persons["candidate_id"].str.fullmatch(r"R-\d{6}").all()
    assert (persons["experience_naf"] != "").mean() > 0.9
    assert (persons["headcount"] == "").all()
    coops = cand[cand["kind"] == "cooperative"]
    scop = coops["legal_form"].isin(["5458", "5558", "5658"])
    assert (scop | coops["name"].str.contains("SCIC")).all()
    deadlines = comp.loc[comp["procedure"].isin(["redressement", "liquidation"]), "offer_deadline"]
    assert (deadlines != "").all()


def test_rows_are_located_and_some_companies_need_their_sector_inferred(files):
    for frame in (files["companies"], files["candidates"]):
        lat, lon = frame["lat"].astype(float), frame["lon"].astype(float)
        assert lat.between(46.0, 48.2).all() and lon.between(-2.7, 0.3).all()
        assert frame["commune"].str.fullmatch(r"\d{5}").all()
        assert frame["postal_code"].str.fullmatch(r"\d{5}").all()
    comp = files["companies"]
    assert (comp["activity"] != "").all()
    assert 0.04 < (comp["naf"] == "").mean() < 0.2
    assert ((comp["headcount"] == "") != (comp["headcount_band"] == "")).all()


def test_candidates_distinct_a_few_in_difficulty_poles_known(files):
    comp, cand, poles = files["companies"], files["candidates"], files["poles"]
    assert cand["candidate_id"].is_unique
    assert 1 <= cand["candidate_id"].isin(comp["siren"]).sum() <= 10
    pole_ids = set(poles["pole_id"])
    assert set(comp["pole"]) - {""} <= pole_ids
    assert set(items(cand["pole"])) <= pole_ids
    assert (cand.loc[cand["kind"] == "pole_member", "pole"] != "").all()
    assert set(items(cand["partners"])) <= set(comp["siren"])


def test_outcomes_reference_known_rows_with_at_most_one_takeover(files):
    comp, cand, out = files["companies"], files["candidates"], files["outcomes"]
    assert out["siren"].isin(comp["siren"]).all()
    employees = out["candidate_id"] == "employees:" + out["siren"]
    assert (out["candidate_id"].isin(cand["candidate_id"]) | employees).all()
    assert employees.any()
    assert set(out["outcome"]) == set(GRADES)
    assert out[out["outcome"] == "takeover"].groupby("siren").size().max() == 1
    assert 0.5 < out["siren"].nunique() / len(comp) < 0.9
    assert out["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_synth_candidates_at_benchmark_shape():
    cand = demo.synth_candidates(10_000)
    assert cand.shape == (10_000, 22)
    assert list(cand.columns) == CONTRACT_COLUMNS["candidates"]
    assert set(cand["kind"]) == KINDS
    assert cand["candidate_id"].is_unique
    firms = cand.loc[cand["kind"].isin(FIRMS), "candidate_id"]
    assert luhn_valid(firms.to_numpy()).all()
    assert all(naf.is_subclass(c) for c in cand["naf"].dropna().unique())
    assert all(naf.normalize_prefix(p) == p for p in set(items(cand["sought_naf"].dropna())))
    assert cand["lat"].between(46.0, 48.2).all() and cand["lon"].between(-2.7, 0.3).all()
    assert (cand["headcount"].dropna() >= 0).all() and (cand["budget_eur"].dropna() > 0).all()
    assert cand.equals(demo.synth_candidates(10_000))
    assert not cand.equals(demo.synth_candidates(10_000, seed=2))


def test_synth_companies_and_partners_point_at_them():
    comp = demo.synth_companies(2_000)
    assert list(comp.columns) == CONTRACT_COLUMNS["companies"]
    assert comp["siren"].is_unique and luhn_valid(comp["siren"].to_numpy()).all()
    assert set(comp["procedure"]) <= PROCEDURES
    cand = demo.synth_candidates(5_000)
    assert not cand["candidate_id"].isin(comp["siren"]).any()
    partners = items(cand["partners"].dropna())
    assert partners and set(partners) <= set(demo.synth_companies(60_000)["siren"])


def test_synth_over_places_with_the_national_column_names(tmp_path):
    places = pd.DataFrame({"insee_com": ["69123", "13055", "2A004"],
                           "commune": ["Lyon", "Marseille", "Ajaccio"],
                           "code_postal": ["69001", "13001", "20000"],
                           "lat": [45.76, 43.30, 41.93], "lng": [4.84, 5.37, 8.74],
                           "population_2021": [520_000, 870_000, 73_000]})
    cand = demo.synth_candidates(500, places=places)
    assert set(cand["commune"]) <= {"69123", "13055", "2A004"}
    assert set(items(cand["pole"].dropna())) <= {"ptce-69", "ptce-13", "ptce-2A"}
    path = demo.write_csv(cand, tmp_path / "candidates.csv")
    written = read(path)
    assert set(written["ess"]) <= {"true", "false", ""}
    assert list(written.columns) == CONTRACT_COLUMNS["candidates"]


def test_demo_again_in_its_folder_forgets_the_previous_territorys_model_and_snapshot(tmp_path, capsys, caplog,
                                                                                     monkeypatch):
    """`reprise demo --dir D` twice: the model promoted on the first territory does not rank the
    second, and the old index snapshot is gone rather than offered and refused."""
    import logging

    from matcher.cli.main import main
    monkeypatch.chdir(tmp_path)
    for var in ("REPRISE_DATABASE_URL", "REPRISE_MODELS_DIR", "REPRISE_INDEX_PATH"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "d" / "models").mkdir(parents=True)
    (tmp_path / "d" / "models" / "NOTES.md").write_text("mine")  # not a model: kept
    assert main(["demo", "--dir", "d", "--show", "0"]) == 0
    assert main(["--db", "sqlite:///d/reprise.db", "train", "--promote"]) == 0
    assert "promoted ranker-" in capsys.readouterr().out
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["demo", "--dir", "d", "--seed", "3", "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert ", model transparent" in out and ", model ranker-" not in out
    assert not [r for r in caplog.records if "index snapshot not used" in r.getMessage()]
    assert sorted(p.name for p in (tmp_path / "d" / "models").iterdir()) == ["NOTES.md"]
