"""Contract imports (CONTRACT.md §1) through the CLI and matcher.contract.imports, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from matcher import store
from matcher.cli.main import main
from matcher.contract.imports import import_file, import_frame
from tests.conftest import write

HEADER = "siren,name,naf,activity,lat,lon,headcount,procedure"
GOOD = "802649921,ENGELHARDT IMMOBILIER,68.31Z,,43.21,5.53,3,redressement"


def companies(db) -> dict[str, dict]:
    return {r["siren"]: r for r in store.fetch(db, store.companies)}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("123456789,X,43.32A,,47.2,-1.5,,", "siren 123456789 fails the Luhn check"),
        ("12345,X,43.32A,,47.2,-1.5,,", "siren 12345 is not 9 digits"),
        (",X,43.32A,,47.2,-1.5,,", "siren is required and is empty"),
        ("802649921,,43.32A,,47.2,-1.5,,", "name is required and is empty"),
        ("802649921,X,99.99Z,,47.2,-1.5,,", "naf 99.99Z is not a NAF rév. 2 sub-class"),
        ("802649921,X,,,47.2,-1.5,,", "one of naf/activity is required"),
        ("802649921,X,43.32A,,60,5,,", "lat/lon 60,5 is outside France"),
        ("802649921,X,43.32A,,47.2,,,", "lat and lon must be given together"),
        ("802649921,X,43.32A,,,,,", "no location: give lat/lon, commune (INSEE code) or postal_code"),
        ("802649921,X,43.32A,,47.2,-1.5,-3,", "headcount -3 must be ≥ 0"),
        ("802649921,X,43.32A,,47.2,-1.5,2.5,", "headcount 2.5 is not a whole number"),
        ("802649921,X,43.32A,,47.2,-1.5,beaucoup,", "headcount beaucoup is not a number"),
        ("802649921,X,43.32A,,47.2,-1.5,,faillite", "procedure faillite is not one of none, mandat_ad_hoc"),
    ],
)
def test_each_company_rule_rejects_with_an_actionable_reason(tmp_path, sqlite_url, row, reason):
    path = write(tmp_path, "cases.csv", f"{HEADER}\n{GOOD}\n{row}\n")
    db = store.connect(sqlite_url)
    report = import_file(db, "companies", path)
    assert report.read == 2 and report.rejected == 1
    rejects = pd.read_csv(tmp_path / "cases.csv.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects["line"].tolist() == ["3"]
    assert reason in rejects["reason"].iloc[0]
    # the good row is stored whatever the bad one is
    assert "802649921" in companies(db) or row.startswith("802649921")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("headcount_band", "99", "headcount_band 99 is not a SIRENE headcount band"),
        ("ess", "peut-être", "ess peut-être is not a boolean"),
        ("confidential", "maybe", "confidential maybe is not a boolean"),
        ("procedure_date", "21/12/2007", "procedure_date 21/12/2007 is not an ISO date"),
        ("offer_deadline", "2026-13-01", "offer_deadline 2026-13-01 is not an ISO date"),
        ("legal_form", "SARL", "legal_form SARL is not a 4-digit SIRENE categorieJuridique code"),
        ("revenue_eur", "-5", "revenue_eur -5 must be ≥ 0"),
        ("commune", "441", "commune 441 is not an INSEE commune code"),
        ("postal_code", "440", "postal_code 440 is not 5 digits"),
    ],
)
def test_optional_company_columns_are_validated(sqlite_url, column, value, reason):
    db = store.connect(sqlite_url)
    raw = pd.DataFrame([{"siren": "802649921", "name": "X", "naf": "43.32A", "lat": "47.2", "lon": "-1.5",
                         column: value}])
    report = import_frame(db, "companies", raw)
    assert report.rejected == 1
    assert reason in report.rejects["reason"].iloc[0]


def test_accepted_forms_are_normalised(sqlite_url):
    db = store.connect(sqlite_url)
    raw = pd.DataFrame([
        {"siren": "802 649 921", "name": "A", "naf": "4332a", "lat": "47.2", "lon": "-1.5", "ess": "OUI",
         "headcount_band": "3", "procedure": "Conciliation"},
        {"siren": "356000000", "name": "La Poste", "activity": "courrier", "lat": "48.8", "lon": "2.3",
         "ess": "N", "confidential": "yes", "procedure": "liquidation"},
        {"siren": "489032136", "name": "TDK", "naf": "49.41A", "lat": "16.2", "lon": "-61.5", "ess": "0"},
    ])
    report = import_frame(db, "companies", raw)
    assert report.rejected == 0, report.rejects.to_dict("records")
    rows = companies(db)
    a = rows["802649921"]
    assert (a["naf"], a["ess"], a["headcount_band"], a["procedure"]) == ("43.32A", True, "03", "conciliation")
    assert a["confidential"] is True  # prevention procedures are confidential by default
    assert rows["356000000"]["confidential"] is True and rows["356000000"]["ess"] is False
    assert rows["489032136"]["confidential"] is False and rows["489032136"]["procedure"] == "none"


def test_candidate_rules(sqlite_url):
    db = store.connect(sqlite_url)
    raw = pd.DataFrame([
        {"candidate_id": "R-1", "kind": "repreneur", "name": "Ana", "sought_naf": "43;56.30;10.71C",
         "experience_naf": "43.32A", "lat": "47.2", "lon": "-1.5", "pole": "P1;P2", "partners": "802 649 921"},
        {"candidate_id": "R-2", "kind": "investor", "name": "B", "lat": "47.2", "lon": "-1.5"},
        {"candidate_id": "R-3", "kind": "repreneur", "name": "C", "sought_naf": "43;77.77", "lat": "47.2", "lon": "-1.5"},
        {"candidate_id": "R-4", "kind": "repreneur", "name": "D", "experience_naf": "43.3", "lat": "47.2", "lon": "-1.5"},
        {"candidate_id": "R-5", "kind": "company", "name": "E", "partners": "123456789", "lat": "47.2", "lon": "-1.5"},
        {"candidate_id": "123456789", "kind": "company", "name": "F", "lat": "47.2", "lon": "-1.5"},
        {"candidate_id": "R-7", "kind": "company", "name": "G", "radius_km": "0", "lat": "47.2", "lon": "-1.5"},
    ])
    report = import_frame(db, "candidates", raw)
    reasons = dict(zip(report.rejects["candidate_id"], report.rejects["reason"]))
    assert "kind investor is not one of company, pole_member" in reasons["R-2"]
    assert "sought_naf has 77.77, which are not NAF codes or prefixes" in reasons["R-3"]
    assert "experience_naf has 43.3, which are not NAF rév. 2 sub-classes" in reasons["R-4"]
    assert "partners has 123456789, which are not valid SIRENs" in reasons["R-5"]
    assert "candidate_id 123456789 looks like a SIREN but fails the Luhn check" in reasons["123456789"]
    assert "radius_km 0 must be > 0" in reasons["R-7"]
    stored = {r["candidate_id"]: r for r in store.fetch(db, store.candidates)}
    assert list(stored) == ["R-1"]
    assert stored["R-1"]["sought_naf"] == ["43", "56.30", "10.71C"]
    assert stored["R-1"]["pole"] == ["P1", "P2"] and stored["R-1"]["partners"] == ["802649921"]


def test_reimport_is_idempotent_and_updates_in_place(tmp_path, db):
    path = write(tmp_path, "cases.csv", f"{HEADER}\n{GOOD}\n489032136,TDK,49.41A,,49.1,6.2,4,liquidation\n")
    first = import_file(db, "companies", path)
    second = import_file(db, "companies", path)
    assert (first.stored, first.new) == (2, 2)
    assert (second.stored, second.new) == (2, 0)
    with db.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(store.companies)).scalar() == 2
    write(tmp_path, "cases.csv", f"{HEADER}\n802649921,RENAMED,68.31Z,,43.21,5.53,5,liquidation\n")
    third = import_file(db, "companies", path)
    assert (third.stored, third.new) == (1, 0)
    rows = companies(db)
    assert rows["802649921"]["name"] == "RENAMED" and rows["802649921"]["headcount"] == 5
    assert rows["489032136"]["name"] == "TDK"  # nothing already stored is lost


def test_duplicate_key_in_one_file_keeps_the_last_row_and_reports_the_first(tmp_path, sqlite_url):
    path = write(tmp_path, "c.csv", f"{HEADER}\n{GOOD}\n802649921,SECOND,68.31Z,,43.21,5.53,4,redressement\n")
    db = store.connect(sqlite_url)
    report = import_file(db, "companies", path)
    assert report.stored == 1 and report.rejected == 1
    assert report.rejects["reason"].iloc[0] == "superseded by line 3 with the same siren"
    assert companies(db)["802649921"]["name"] == "SECOND"


def test_formats_semicolon_csv_json_and_jsonl_with_extra_columns(tmp_path, sqlite_url):
    db = store.connect(sqlite_url)
    semi = write(tmp_path, "a.csv", "siren;name;naf;lat;lon;origine\n802 649 921;A;68.31Z;43,21;5,53;greffe\n")
    js = write(tmp_path, "b.json", json.dumps([{"siren": "489032136", "name": "B", "naf": "4941A",
                                                 "lat": 49.1, "lon": 6.2, "ess": True, "tags": ["x", "y"]}]))
    jl = write(tmp_path, "c.jsonl", json.dumps({"siren": "837755701", "name": "C", "activity": "restauration",
                                                "lat": 48.7, "lon": 2.38, "headcount": 2}) + "\n{broken\n")
    assert import_file(db, "companies", semi).stored == 1
    assert import_file(db, "companies", js).stored == 1
    report = import_file(db, "companies", jl)
    assert report.stored == 1 and report.rejected == 1
    assert report.rejects["line"].tolist() == [2] and "not a JSON object" in report.rejects["reason"].iloc[0]
    rows = companies(db)
    assert rows["802649921"]["lat"] == pytest.approx(43.21)
    assert rows["802649921"]["extra"] == {"origine": "greffe"}
    assert rows["489032136"]["ess"] is True and rows["489032136"]["extra"] == {"tags": ["x", "y"]}


def test_commune_and_postal_code_are_placed_by_the_shipped_communes_or_the_named_file(
        tmp_path, sqlite_url, communes_path, monkeypatch):
    path = write(tmp_path, "c.csv", "siren,name,naf,commune,postal_code\n802649921,A,68.31Z,44109,\n"
                                    "489032136,B,49.41A,,13260\n")
    monkeypatch.delenv("REPRISE_COMMUNES", raising=False)
    assert main(["--db", sqlite_url, "import", "companies", str(path)]) == 0
    rows = companies(store.connect(sqlite_url))
    assert rows["802649921"]["lat"] == pytest.approx(47.23, abs=0.1)  # Nantes
    assert rows["489032136"]["lat"] == pytest.approx(43.21, abs=0.1)  # Cassis
    assert rows["802649921"]["departement"] == "44"
    # a named file wins: one without Cassis rejects the row that needs it
    full = pd.read_csv(communes_path, dtype=str, keep_default_na=False)
    monkeypatch.setenv("REPRISE_COMMUNES", str(write(tmp_path, "communes.csv",
                                                     full[full["insee_dep"] != "13"].to_csv(index=False))))
    assert main(["--db", sqlite_url, "import", "companies", str(path)]) == 0
    rejects = pd.read_csv(tmp_path / "c.csv.rejects.csv", dtype=str)
    assert rejects["reason"].tolist() == [f"postal_code 13260 is not in {tmp_path / 'communes.csv'}"]


def test_outcomes_must_reference_stored_records(tmp_path, sqlite_url):
    db = store.connect(sqlite_url)
    import_frame(db, "companies", pd.DataFrame([{"siren": "802649921", "name": "A", "naf": "68.31Z",
                                                 "lat": "43.2", "lon": "5.5"}]))
    import_frame(db, "candidates", pd.DataFrame([{"candidate_id": "R-1", "kind": "repreneur", "name": "Ana",
                                                  "lat": "43.2", "lon": "5.5"}]))
    path = write(tmp_path, "o.csv", "siren,candidate_id,outcome,date\n802649921,R-1,offer,2026-03-01\n"
                                    "802649921,employees:802649921,interested,\n489032136,R-1,contacted,\n"
                                    "802649921,R-9,contacted,\n802649921,employees:489032136,contacted,\n"
                                    "802649921,R-1,hired,\n")
    report = import_file(db, "outcomes", path)
    reasons = report.rejects.set_index("line")["reason"].to_dict()
    assert report.stored == 2
    assert "siren 489032136 is not a stored company" in reasons[4]
    assert "candidate_id R-9 is not a stored candidate" in reasons[5]
    assert "names the employees of another company" in reasons[6]
    assert "outcome hired is not one of rejected, contacted, interested, offer, takeover" in reasons[7]
    assert import_file(db, "outcomes", path).new == 0


def test_strict_exits_1_and_file_errors_are_clear(tmp_path, sqlite_url, capsys):
    path = write(tmp_path, "c.csv", f"{HEADER}\n{GOOD}\n123456789,X,43.32A,,47.2,-1.5,,\n")
    assert main(["import", "companies", str(path), "--db", sqlite_url]) == 0
    assert main(["import", "companies", str(path), "--strict", "--db", sqlite_url]) == 1
    out = capsys.readouterr().out
    assert "read 2, stored 1" in out and "rejected 1" in out
    assert main(["--db", sqlite_url, "import", "companies", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = write(tmp_path, "bad.json", "[{\"siren\": ")
    assert main(["--db", sqlite_url, "import", "companies", str(bad)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_poles_import(sqlite_url):
    db = store.connect(sqlite_url)
    raw = pd.DataFrame([
        {"pole_id": "P44", "name": "Pôle Nantes", "departements": "44;85", "cooperative_support": "oui"},
        {"pole_id": "PX", "name": "Bad", "departements": "20;999"},
        {"pole_id": "PC", "name": "Circle", "lat": "47.2", "lon": "-1.5"},
        {"pole_id": "PN", "name": "No territory"},
    ])
    report = import_frame(db, "poles", raw)
    reasons = dict(zip(report.rejects["pole_id"], report.rejects["reason"]))
    assert "departements has 20, 999, which are not département codes" in reasons["PX"]
    assert "a circle territory needs lat, lon and radius_km" in reasons["PC"]
    assert "one of departements/communes/lat is required" in reasons["PN"]
    assert store.fetch(db, store.poles)[0]["departements"] == ["44", "85"]


def test_outcome_rows_with_missing_keys_are_rejected_not_crashing(sqlite_url):
    db = store.connect(sqlite_url)
    report = import_frame(db, "outcomes", pd.DataFrame([{"siren": None, "candidate_id": None, "outcome": "offer"}]))
    assert report.rejected == 1
    reason = report.rejects["reason"].iloc[0]
    assert "siren is required and is empty" in reason and "candidate_id is required and is empty" in reason


def test_values_longer_than_the_store_allows_are_rejected(db):
    raw = pd.DataFrame([{"candidate_id": "X" * 80, "kind": "company", "name": "A", "lat": "47.2", "lon": "-1.5"},
                        {"candidate_id": "R-1", "kind": "company", "name": "B", "lat": "47.2", "lon": "-1.5"}])
    report = import_frame(db, "candidates", raw)
    assert report.stored == 1 and report.rejected == 1  # on PostgreSQL too: the good row is stored
    assert "is longer than 64 characters" in report.rejects["reason"].iloc[0]


def test_pole_communes_must_exist_with_the_message_of_a_companys_commune(tmp_path, sqlite_url, capsys):
    poles = write(tmp_path, "p.csv", "pole_id,name,communes\nP-nx,A,99999\nP-nx2,B,44109;44999\n"
                                     "P-mix,C,99999;ABCDE\nP-ok,D,44109\n")
    companies = write(tmp_path, "c.csv", "siren,name,naf,commune\n802649921,A,68.31Z,99999\n")
    assert main(["--db", sqlite_url, "import", "poles", str(poles)]) == 0
    assert "stored 1" in capsys.readouterr().out
    reasons = pd.read_csv(f"{poles}.rejects.csv", dtype=str).set_index("pole_id")["reason"]
    assert main(["--db", sqlite_url, "import", "companies", str(companies)]) == 0
    (company_reason,) = pd.read_csv(f"{companies}.rejects.csv", dtype=str)["reason"]
    assert company_reason == "commune 99999 is not in reprise_data/communes.csv.gz"
    assert reasons["P-nx"] == company_reason
    assert reasons["P-nx2"] == "commune 44999 is not in reprise_data/communes.csv.gz"
    assert reasons["P-mix"] == ("communes has ABCDE, which are not INSEE commune codes (5 characters, 2A/2B for "
                                "Corsica); commune 99999 is not in reprise_data/communes.csv.gz")


def test_codes_a_spreadsheet_altered_are_read_alike_in_every_file(tmp_path, sqlite_url, capsys):
    """``2a004``, ``1053`` (lost zero) and postal code ``1630`` mean the same in companies,
    candidates and poles; a pole's codes are stored once each."""
    companies = write(tmp_path, "c.csv", "siren,name,naf,commune,postal_code\n802649921,A,68.31Z,2a004,\n"
                                         "489032136,B,49.41A,1053,\n837755701,C,56.10A,,1630\n")
    candidates = write(tmp_path, "k.csv", "candidate_id,kind,name,commune,postal_code\nR-1,repreneur,X,2b033,\n"
                                          "R-2,repreneur,Y,,1630\n")
    poles = write(tmp_path, "p.csv", "pole_id,name,communes,departements\nP,Pôle,2a004;2A004;1053,1;01;2a\n")
    for kind, path in (("companies", companies), ("candidates", candidates), ("poles", poles)):
        assert main(["--db", sqlite_url, "import", kind, str(path)]) == 0
        assert "rejected 0" in capsys.readouterr().out, kind
    db = store.connect(sqlite_url)
    got = {r["siren"]: (r["commune"], r["postal_code"], r["departement"]) for r in store.fetch(db, store.companies)}
    assert got == {"802649921": ("2A004", None, "2A"), "489032136": ("01053", None, "01"),
                   "837755701": (None, "01630", "01")}
    cands = {r["candidate_id"]: (r["commune"], r["postal_code"]) for r in store.fetch(db, store.candidates)}
    assert cands == {"R-1": ("2B033", None), "R-2": (None, "01630")}
    (pole,) = store.fetch(db, store.poles)
    assert pole["communes"] == ["2A004", "01053"] and pole["departements"] == ["01", "2A"]
    db.dispose()


@pytest.mark.parametrize("quoted", [False, True])
def test_a_row_with_too_few_cells_is_rejected_alone(tmp_path, sqlite_url, capsys, quoted):
    name = '"Alpha, SARL"' if quoted else "Alpha"
    path = write(tmp_path, "short.csv", "siren;name;naf;postal_code;headcount;procedure\n"
                                        f"802649921;{name};68.31Z;44000;3;redressement\n"
                                        "837755701;Beta;43.32A;44000\n"
                                        "489032136;Gamma;49.41A;44000;;liquidation\n")
    assert main(["--db", sqlite_url, "import", "companies", str(path)]) == 0
    assert "read 3, stored 2 (2 new, 0 updated), rejected 1" in capsys.readouterr().out
    rejects = pd.read_csv(f"{path}.rejects.csv", dtype=str)
    assert rejects["line"].tolist() == ["3"]
    assert rejects["reason"].iat[0] == ("line 3 has 4 cells where the header has 6: every row needs one cell per "
                                        "column (an empty cell, not a missing one)")
    assert rejects["raw_line"].iat[0] == "837755701;Beta;43.32A;44000"
    stored = companies(store.connect(sqlite_url))
    assert sorted(stored) == ["489032136", "802649921"]
    assert stored["489032136"]["procedure"] == "liquidation" and stored["489032136"]["headcount"] is None


def test_a_nul_character_in_a_csv_cell_rejects_that_row_only(tmp_path, db):
    # pandas 3 reads CSV cells as its str dtype, pandas 2's C parser cut a cell at the NUL: either
    # way the row is reported, never stored altered nor sent to PostgreSQL (which refuses NUL)
    path = write(tmp_path, "nul.csv", f"{HEADER}\n{GOOD}\n443061841,A\x00B,68.31Z,,43.21,5.53,3,\n")
    report = import_file(db, "companies", path)
    assert report.stored == 1 and report.rejected == 1
    assert report.rejects["line"].tolist() == [3]
    assert "name contains a NUL character" in report.rejects["reason"].iloc[0]
    assert list(companies(db)) == ["802649921"]
