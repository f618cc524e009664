"""`reprise scan`: signals stored, companies created/updated, options ranked once, digests, re-runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from matcher import store
from matcher.cli.main import main
from matcher.reference.communes import shipped as shipped_communes
from matcher.scan.daily import scan_file
from matcher.scan.signals import SIGNAL_COLUMNS
from tests.conftest import fixture_path, write

SAMPLE_2008 = ("bodacc", "pcl_2008_sample.jsonl")
SAMPLE_2026 = ("bodacc", "api_procedures_collectives_2026.json")
ACTIONABLE_2008 = ["443353214", "450189337", "453752099", "487436479", "491969176"]
CANDIDATES = """candidate_id,kind,name,naf,lat,lon,radius_km,headcount,budget_eur
732829304,company,COUVERTURE PICARDE,43.91B,49.85,3.29,60,25,400000
R-17,repreneur,Claire Dubois (ancienne couvreuse),,49.84,3.30,40,,150000
732829312,company,BATI SUD,43.91B,43.6,1.44,50,12,100000
"""
POLES = """pole_id,name,departements
P-AISNE,Pôle Aisne,02
P-GIRONDE,Pôle Gironde,33
"""


@pytest.fixture
def communes(monkeypatch, communes_path):
    path = communes_path
    monkeypatch.setenv("REPRISE_COMMUNES", str(path))
    return path


def scan(db_url, path, *args):
    return main(["--db", db_url, "scan", str(path), *map(str, args)])


def table(db_url, t) -> pd.DataFrame:
    engine = store.connect(db_url)
    try:
        return pd.DataFrame(store.fetch(engine, t))
    finally:
        engine.dispose()


def test_scan_stores_ranks_once_and_a_rerun_creates_nothing(db_url, communes, tmp_path, capsys):
    write(tmp_path, "cands.csv", CANDIDATES)
    assert main(["--db", db_url, "import", "candidates", str(tmp_path / "cands.csv")]) == 0
    sig, mat = tmp_path / "signals.csv", tmp_path / "matches.csv"
    assert scan(db_url, fixture_path(*SAMPLE_2008), "--signals-out", sig, "--matches-out", mat) == 0
    out = capsys.readouterr().out
    assert "read 24" in out and "actionable 5" in out and "rejected 8" in out and "new signals 24" in out
    assert "opening_liquidation 7" in out and "claims 6" in out
    signals = pd.read_csv(sig, dtype=str, keep_default_na=False)
    assert list(signals.columns) == SIGNAL_COLUMNS and len(signals) == 24
    assert (signals["reason"] != "").sum() == 8
    matches = pd.read_csv(mat, dtype={"siren": str})
    assert list(matches.columns) == ["siren", "rank", "candidate_id", "kind", "name", "score", "distance_km",
                                     "trade_link", "explanation"]
    assert sorted(matches["siren"].unique()) == ACTIONABLE_2008
    dumur = matches[matches["siren"] == "487436479"]
    assert {"732829304", "R-17", "employees:487436479"} <= set(dumur["candidate_id"])
    assert "732829312" not in set(dumur["candidate_id"])  # Toulouse: out of its radius
    assert json.loads(dumur["explanation"].iloc[0])  # a JSON object per cell
    companies = table(db_url, store.companies).set_index("siren")
    assert companies.loc["487436479", "procedure"] == "redressement"
    assert companies.loc["487436479", "procedure_date"] == "2007-12-21"
    assert companies.loc["392526760", "procedure"] == "none"  # a closure
    assert "330035353" not in companies.index  # a claims filing alone does not tell the procedure
    assert set(companies["source"]) == {"scan"}
    stored_matches = table(db_url, store.matches)
    assert sorted(stored_matches["siren"].unique()) == ACTIONABLE_2008

    # the same file again: nothing new, nothing re-ranked, the same signals written
    assert scan(db_url, fixture_path(*SAMPLE_2008), "--signals-out", tmp_path / "s2.csv",
                "--matches-out", tmp_path / "m2.csv") == 0
    out = capsys.readouterr().out
    assert "new signals 0" in out and "new companies 0 (0 updated)" in out and "ranked 0 companies" in out
    assert pd.read_csv(tmp_path / "s2.csv", dtype=str, keep_default_na=False).equals(signals)
    assert len(pd.read_csv(tmp_path / "m2.csv")) == 0
    pd.testing.assert_frame_equal(table(db_url, store.matches), stored_matches)
    assert len(table(db_url, store.signals)) == 24


def test_overlapping_file_only_adds_what_is_new(sqlite_url, communes, tmp_path, capsys):
    lines = fixture_path(*SAMPLE_2008).read_text(encoding="utf-8").splitlines()
    first = write(tmp_path, "a.jsonl", "\n".join(lines[:14]))
    second = write(tmp_path, "b.jsonl", "\n".join(lines[8:]))
    assert scan(sqlite_url, first, "--matches-out", tmp_path / "m1.csv") == 0
    assert scan(sqlite_url, second, "--matches-out", tmp_path / "m2.csv") == 0
    out = capsys.readouterr().out.splitlines()
    assert "new signals 14" in out[0] and "new signals 10" in out[1]
    m1 = pd.read_csv(tmp_path / "m1.csv", dtype={"siren": str})
    m2 = pd.read_csv(tmp_path / "m2.csv", dtype={"siren": str})
    assert sorted(m1["siren"].unique()) == ["453752099", "487436479", "491969176"]
    assert sorted(m2["siren"].unique()) == ["443353214", "450189337"]  # record 620 was in both files
    assert len(table(sqlite_url, store.signals)) == 24


class Interrupted(Exception):
    """Stands for the process being killed between two transactions."""


def _stop_after(stage: str, calls: int):
    seen = []

    def progress(name, step, total):
        if name == stage:
            seen.append(step)
            if len(seen) == calls:
                raise Interrupted(name)
    return progress


@pytest.mark.parametrize("stage", ["storing", "ranking"])
def test_a_scan_stopped_halfway_is_consistent_and_a_rerun_completes_it(db_url, tmp_path, stage):
    communes = shipped_communes()
    path = fixture_path(*SAMPLE_2008)
    db = store.connect(db_url)
    with pytest.raises(Interrupted):
        scan_file(db, path, communes=communes, chunk=10, rank_chunk=2, progress=_stop_after(stage, 1))
    stored = pd.DataFrame(store.fetch(db, store.signals))
    companies = pd.DataFrame(store.fetch(db, store.companies))
    if stage == "storing":  # exactly the first chunk, with its companies
        assert len(stored) == 10 and set(companies["siren"]) <= set(stored["siren"].dropna())
        assert not stored["matched"].any() and not store.fetch(db, store.matches)
    else:  # all signals; the first ranking chunk's options stored, every case pending until delivered
        ranked = {r["siren"] for r in store.fetch(db, store.matches)}
        assert ranked == set(ACTIONABLE_2008[:2])
        assert not stored["matched"].any()
    report = scan_file(db, path, communes=communes, chunk=10, rank_chunk=2)
    assert report.new_signals == (14 if stage == "storing" else 0)
    assert sorted(report.matches["siren"].unique()) == ACTIONABLE_2008  # the run writes every case of the day
    clean = store.connect(f"sqlite:///{tmp_path / 'clean.db'}")
    scan_file(clean, path, communes=communes)

    def snapshot(engine, t, drop):
        df = pd.DataFrame(store.fetch(engine, t)).drop(columns=drop)
        return df.sort_values(list(df.columns[:2])).reset_index(drop=True)
    for t, drop in ((store.signals, ["scanned_at"]), (store.companies, ["updated_at"]),
                    (store.matches, ["created_at"])):
        pd.testing.assert_frame_equal(snapshot(db, t, drop), snapshot(clean, t, drop), check_dtype=False)
    db.dispose()
    clean.dispose()


def test_the_shipped_communes_place_every_record_and_a_partial_table_is_completed_later(communes_path,
        sqlite_url, tmp_path, monkeypatch, capsys):
    # a communes file without the Aisne: its announcements are kept with a reason, retried later
    full = pd.read_csv(communes_path, dtype=str, keep_default_na=False)
    partial = write(tmp_path, "communes.csv", full[full["insee_dep"] != "02"].to_csv(index=False))
    monkeypatch.setenv("REPRISE_COMMUNES", str(partial))
    sig = tmp_path / "signals.csv"
    assert scan(sqlite_url, fixture_path(*SAMPLE_2008), "--signals-out", sig) == 0
    signals = pd.read_csv(sig, dtype=str, keep_default_na=False).set_index("record_id")
    assert len(signals) == 24
    assert signals.loc["A200800100611", "reason"] == "postal code 02110 is not in the communes file"
    assert signals.loc["A200800100611", "actionable"] == "False"
    capsys.readouterr()
    monkeypatch.delenv("REPRISE_COMMUNES")  # the table shipped with Reprise
    assert scan(sqlite_url, fixture_path(*SAMPLE_2008), "--signals-out", sig) == 0
    out = capsys.readouterr().out
    assert "new signals 0" in out and "rejected 8" in out
    assert pd.read_csv(sig, dtype=str, keep_default_na=False).set_index("record_id").loc["A200800100611", "reason"] == ""


def test_sirene_gives_sector_and_place(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REPRISE_COMMUNES", raising=False)
    units = write(tmp_path, "StockUniteLegale.csv",
                  "siren,trancheEffectifsUniteLegale,categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale,"
                  "nomenclatureActivitePrincipaleUniteLegale,economieSocialeSolidaireUniteLegale\n"
                  "802649921,11,5499,68.31Z,NAFRev2,O\n")
    estabs = write(tmp_path, "StockEtablissement.csv",
                   "siren,nic,etablissementSiege,etatAdministratifEtablissement,codePostalEtablissement,"
                   "codeCommuneEtablissement,coordonneeLambertAbscisseEtablissement,"
                   "coordonneeLambertOrdonneeEtablissement\n"
                   "802649921,00010,true,A,13260,13022,904000.5,6237000.2\n")
    sig = tmp_path / "signals.csv"
    assert scan(sqlite_url, fixture_path(*SAMPLE_2026), "--sirene-unites", units,
                "--sirene-etablissements", estabs, "--signals-out", sig) == 0
    company = table(sqlite_url, store.companies).set_index("siren").loc["802649921"]
    assert (company["naf"], company["headcount_band"], company["legal_form"], company["ess"]) == \
        ("68.31Z", "11", "5499", True)
    assert (company["commune"], company["procedure"]) == ("13022", "redressement")
    assert 43.1 < company["lat"] < 43.3 and 5.4 < company["lon"] < 5.6  # Cassis, from Lambert-93
    signals = pd.read_csv(sig, dtype=str, keep_default_na=False).set_index("siren")
    assert signals.loc["802649921", "naf"] == "68.31Z"
    # the two others are not in the SIRENE extract: placed by their postal code (shipped communes)
    assert signals.loc["837755701", "reason"] == "" and signals.loc["489032136", "reason"] == ""


def test_digest_per_pole_and_updates_of_known_companies(sqlite_url, communes, tmp_path):
    write(tmp_path, "poles.csv", POLES)
    write(tmp_path, "candidates.csv", CANDIDATES)
    write(tmp_path, "companies.csv",
          "siren,name,naf,postal_code,procedure,procedure_date,pole,headcount\n"
          "491969176,Home Prestations (suivi pôle),43.39Z,02100,conciliation,2007-10-01,P-AISNE,8\n"
          "453752099,A S Construction,41.20A,06110,none,2008-01-05,,\n")
    for kind in ("poles", "candidates", "companies"):
        assert main(["--db", sqlite_url, "import", kind, str(tmp_path / f"{kind}.csv")]) == 0
    assert scan(sqlite_url, fixture_path(*SAMPLE_2008), "--digest-dir", tmp_path / "digest") == 0
    companies = table(sqlite_url, store.companies).set_index("siren")
    home = companies.loc["491969176"]  # imported by the pole: name, pole and source kept
    assert (home["name"], home["pole"], home["source"]) == ("Home Prestations (suivi pôle)", "P-AISNE", "import")
    assert (home["procedure"], bool(home["confidential"])) == ("redressement", False)
    # closed on 2008-01-05 per the pole's file: the older conversion (2007-11-13) does not reopen it
    assert companies.loc["453752099", "procedure"] == "none"
    files = sorted(p.name for p in (tmp_path / "digest").iterdir())
    assert files == ["P-AISNE.md", "P-GIRONDE.md", "unassigned.md"]
    aisne = (tmp_path / "digest" / "P-AISNE.md").read_text(encoding="utf-8")
    assert "DUMUR Yannick (SIREN 487436479)" in aisne and "Home Prestations (suivi pôle)" in aisne
    assert "redressement judiciaire (judgment 2007-12-21)" in aisne and "COUVERTURE PICARDE" in aisne
    assert "sector: “couverture, maçonnerie.”, read as 43.91B" in aisne
    gironde = (tmp_path / "digest" / "P-GIRONDE.md").read_text(encoding="utf-8")
    assert "MATOUCAS" in gironde and "DUMUR" not in gironde
    assert "SOLEA CONSEIL" in (tmp_path / "digest" / "unassigned.md").read_text(encoding="utf-8")


def test_offer_deadline_reaches_company_and_digest(sqlite_url, communes, tmp_path):
    record = json.loads(fixture_path(*SAMPLE_2026).read_text(encoding="utf-8"))["results"][2]
    jug = json.loads(record["jugement"])
    jug["complementJugement"] += " Les offres de reprise doivent être déposées avant le 1er octobre 2026."
    record["jugement"] = json.dumps(jug, ensure_ascii=False)
    path = write(tmp_path, "one.json", json.dumps([record], ensure_ascii=False))
    assert scan(sqlite_url, path, "--digest-dir", tmp_path / "d") == 0
    assert table(sqlite_url, store.companies).loc[0, "offer_deadline"] == "2026-10-01"
    assert "offer deadline: 2026-10-01" in (tmp_path / "d" / "unassigned.md").read_text(encoding="utf-8")


def test_bad_input_is_a_usage_error(sqlite_url, tmp_path, capsys):
    assert scan(sqlite_url, tmp_path / "missing.json") == 2
    assert "does not exist" in capsys.readouterr().err
    assert scan(sqlite_url, fixture_path(*SAMPLE_2026), "--engine", "dask") == 2
    assert "--scheduler" in capsys.readouterr().err


def test_local_worker_processes_rank_like_one(tmp_path):
    """80 openings around Nantes ranked by 2 forked processes: the rows of a single process."""
    from matcher.contract.identifiers import luhn_valid

    nums = pd.Series([f"{i:09d}" for i in range(812000000, 812001000)])
    sirens = list(nums[luhn_valid(nums)][:80])
    template = json.loads(fixture_path(*SAMPLE_2026).read_text(encoding="utf-8"))["results"][2]
    records = []
    for i, siren in enumerate(sirens):
        person = {"typePersonne": "pm", "denomination": f"SOCIETE {i}",
                  "activite": ["menuiserie", "boulangerie", "couverture", "restaurant"][i % 4],
                  "adresseSiegeSocial": {"codePostal": ["44000", "44100", "44200", "44300"][i % 4]}}
        records.append({**template, "id": f"T{i}", "registre": [siren], "cp": "44000",
                        "listepersonnes": json.dumps({"personne": person})})
    path = write(tmp_path, "many.json", json.dumps(records))
    cands = write(tmp_path, "candidates.csv", "candidate_id,kind,name,naf,lat,lon\n" + "\n".join(
        f"P-{i},repreneur,Person {i},{['16.23Z', '10.71C', '43.91B', '56.10A'][i % 4]},"
        f"{47.1 + (i % 7) * 0.03},{-1.7 + (i % 5) * 0.05}" for i in range(60)))
    communes = shipped_communes()
    results = []
    for workers in (1, 2):
        url = f"sqlite:///{tmp_path / f'w{workers}.db'}"
        assert main(["--db", url, "import", "candidates", str(cands)]) == 0
        db = store.connect(url)
        results.append(scan_file(db, path, communes=communes, top=5, workers=workers).matches)
        db.dispose()
    assert results[0]["siren"].nunique() == 80
    pd.testing.assert_frame_equal(results[1], results[0])
