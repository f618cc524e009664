"""`reprise import sirene` and `reprise export` through the command line: from the two INSEE
files to a ranked list, next month's closures, bad options, and exports that re-import."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from matcher import store
from matcher.cli.main import main
from tests.conftest import write
from tests.sirene.stock_files import estab, stocks, unit
from tests.sirene.test_pool import MEMBER, SCOP, A, estab_rows, units_rows

CLIENT = "802649921"  # a joinery in receivership in Nantes: A (a joinery in Nantes) is its natural buyer


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def options(capsys, url, *more) -> dict[str, str]:
    code, out, _ = run(capsys, "--db", url, "match", CLIENT, "--format", "json", "--top", "50", *more)
    assert code == 0
    answer = json.loads(out)
    return {o["candidate_id"]: o["kind"] for o in answer["options"]} | {
        e["candidate_id"]: "excluded" for e in answer.get("exclusions", [])}


@pytest.fixture
def url(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRISE_INDEX_PATH", str(tmp_path / "index"))
    return db_url


def test_two_files_to_a_ranked_list_then_closures_next_month(url, tmp_path, capsys):
    companies = write(tmp_path, "cases.csv", "siren,name,naf,commune,procedure,headcount\n"
                                             f"{CLIENT},Menuiserie en difficulté,16.23Z,44109,redressement,8\n")
    assert run(capsys, "--db", url, "import", "companies", companies)[0] == 0
    u, e = stocks(tmp_path / "m1", units_rows(), estab_rows())
    code, out, err = run(capsys, "--db", url, "import", "sirene", "--unites", u, "--etablissements", e,
                         "--departements", "44,49,85")
    assert code == 0, err
    assert out.startswith("sirene: read 13 establishments and ") and "stored 8 (8 new, 0 updated, 0 unchanged)" in out
    assert "left the pool 0; rejected 2 (no place 1, not in the units file 1) -> " in out
    rejects = pd.read_csv(f"{e}.rejects.csv", dtype=str)
    assert list(rejects.columns) == ["file", "line", "reason", "siren", "siret", "name", "commune", "postal_code"]
    ranked = options(capsys, url)
    assert ranked[A] == "company" and ranked[SCOP] == "cooperative"
    outcomes = write(tmp_path, "o.csv", f"siren,candidate_id,outcome\n{CLIENT},{A},contacted\n")
    assert run(capsys, "--db", url, "import", "outcomes", outcomes)[0] == 0

    u2, e2 = stocks(tmp_path / "m2", units_rows(**{A: unit(A, "MENUISERIE DUPONT", state="C")}),
                    estab_rows(a=estab(A, "00012", "44109", state="F")))
    code, out, _ = run(capsys, "--db", url, "import", "sirene", "--unites", u2, "--etablissements", e2,
                       "--departements", "44,49,85", "--rejects", tmp_path / "r.csv")
    assert code == 0 and "left the pool 1 (ceased 1)" in out and "stored 0 (0 new" in out
    after = options(capsys, url, "--explain-exclusions")
    assert A not in after and SCOP in after  # not proposed, not even as an exclusion
    assert len(store.fetch(store.connect(url), store.outcomes)) == 1  # its outcome is kept
    code, out, _ = run(capsys, "--db", url, "import", "sirene", "--unites", u2, "--etablissements", e2,
                       "--departements", "44,49,85", "--rejects", tmp_path / "r.csv", "--strict")
    assert code == 1 and "stored 0 (0 new, 0 updated, 7 unchanged); left the pool 0;" in out  # --strict: rejects


def test_the_territory_of_a_pole(url, tmp_path, capsys):
    poles = write(tmp_path, "poles.csv", "pole_id,name,departements\nptce-49,Pôle Anjou,49\n")
    assert run(capsys, "--db", url, "import", "poles", poles)[0] == 0
    u, e = stocks(tmp_path, units_rows(), estab_rows(), "parquet")
    code, out, _ = run(capsys, "--db", url, "import", "sirene", "--unites", u, "--etablissements", e,
                       "--pole", "ptce-49")
    assert code == 0 and "stored 2 (2 new" in out  # the SCOP and the person in Angers; the orphan rejected
    code, out, err = run(capsys, "--db", url, "import", "sirene", "--unites", u, "--etablissements", e,
                         "--pole", "ptce-49", "--rejects", "-")
    assert code == 0 and out.startswith("file,line,reason,siren") and "no row in the units file" in out
    assert err.startswith("sirene: read") and "-> standard output" in err
    assert sorted(r["departement"] for r in store.fetch(store.connect(url), store.candidates)) == ["49", "49"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--departements", "44"], "needs --unites FILE (StockUniteLegale) and --etablissements FILE"),
    (["--unites", "U", "--etablissements", "E"], "needs the territory: --departements CODES"),
    (["--unites", "U", "--etablissements", "E", "--departements", "44", "--pole", "p"], "not both"),
    (["--unites", "U", "--etablissements", "E", "--departements", "44,4X"], "4X is not a département code"),
    (["--unites", "U", "--etablissements", "E", "--pole", "nope"], "--pole nope is not a stored pole"),
    (["--unites", "missing.csv", "--etablissements", "E", "--departements", "44"], "--unites missing.csv does not"),
])
def test_bad_options_say_what_is_accepted(sqlite_url, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    stocks(tmp_path, units_rows(), estab_rows())
    (tmp_path / "U").write_bytes((tmp_path / "StockUniteLegale_utf8.csv").read_bytes())
    (tmp_path / "E").write_bytes((tmp_path / "StockEtablissement_utf8.csv").read_bytes())
    code, _, err = run(capsys, "--db", sqlite_url, "import", "sirene", *argv)
    assert code == 2 and err.startswith("reprise: error: ") and message in err, err


def test_a_file_that_is_not_a_stock_file_is_refused_by_column_name(sqlite_url, tmp_path, capsys):
    u, _ = stocks(tmp_path, units_rows(), estab_rows())
    other = write(tmp_path, "e.csv", "siren;commune\n802649921;44109\n")
    code, _, err = run(capsys, "--db", sqlite_url, "import", "sirene", "--unites", u, "--etablissements", other,
                       "--departements", "44")
    assert code == 2 and "is not a StockEtablissement file: it has no column nic, etablissementSiege" in err
    code, _, err = run(capsys, "--db", sqlite_url, "import", "companies", "--departements", "44")
    assert code == 2 and "import companies needs a FILE" in err


def _records(url: str, table) -> pd.DataFrame:
    frame = store.read_frame(store.connect(url), table).drop(columns=["updated_at"])
    key = "candidate_id" if table is store.candidates else "siren"
    frame = frame.sort_values(key).reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)  # NULL reads as None or NaN depending on the store


def test_exports_reimport_to_the_same_records(url, tmp_path, capsys, sqlite_url):
    cases = write(tmp_path, "cases.csv", "siren,name,naf,lat,lon,procedure,headcount_band,pole,confidential,note\n"
                                         f"{CLIENT},Menuiserie,16.23Z,47.218437,-1.553621,conciliation,11,p1,,"
                                         "à voir\n"
                                         "552100554,Autre,43.32A,47.1,-1.4,none,,,false,\n")
    assert run(capsys, "--db", url, "import", "companies", cases)[0] == 0
    members = write(tmp_path, "m.csv", "candidate_id,kind,name,commune,sought_naf,budget_eur,pole,partners\n"
                                       f"{MEMBER},pole_member,Leroux,49007,43.3;43.9,200000.5,p1;p2,{CLIENT}\n"
                                       "rep-1,repreneur,Jeanne,85191,,,,\n")
    assert run(capsys, "--db", url, "import", "candidates", members)[0] == 0
    u, e = stocks(tmp_path, units_rows(), estab_rows(), "zip")
    assert run(capsys, "--db", url, "import", "sirene", "--unites", u, "--etablissements", e,
               "--departements", "44,49,85")[0] == 0
    before = {t.name: _records(url, t) for t in (store.candidates, store.companies)}
    for kind in ("candidates", "companies"):
        out = tmp_path / f"{kind}.csv"
        code, _, err = run(capsys, "--db", url, "export", kind, "--out", out)
        assert code == 0 and f"{kind}: exported {len(before[kind])}" in err
        code, summary, _ = run(capsys, "--db", url, "import", kind, out)
        assert code == 0 and f"stored {len(before[kind])} (0 new," in summary and "rejected 0" in summary
        fresh = f"sqlite:///{tmp_path / f'fresh-{kind}.db'}"
        assert run(capsys, "--db", fresh, "import", kind, out)[0] == 0
        if kind == "companies":
            pd.testing.assert_frame_equal(_records(fresh, store.companies), before[kind], check_dtype=False)
        else:
            pd.testing.assert_frame_equal(_records(fresh, store.candidates), before[kind], check_dtype=False)
    for t in (store.candidates, store.companies):
        pd.testing.assert_frame_equal(_records(url, t), before[t.name], check_dtype=False)
    header = (tmp_path / "candidates.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["candidate_id", "kind", "name"] and "source" in header
    exported = pd.read_csv(tmp_path / "companies.csv", dtype=str).set_index("siren")
    assert exported.loc[CLIENT, "note"] == "à voir"  # a column outside the contract, kept in extra


def test_candidates_that_left_are_not_exported(sqlite_url, tmp_path, capsys):
    u, e = stocks(tmp_path / "m1", units_rows(), estab_rows())
    run(capsys, "--db", sqlite_url, "import", "sirene", "--unites", u, "--etablissements", e, "--departements", "44")
    u, e = stocks(tmp_path / "m2", units_rows(**{A: unit(A, "X", state="C")}), estab_rows())
    run(capsys, "--db", sqlite_url, "import", "sirene", "--unites", u, "--etablissements", e, "--departements", "44")
    out = tmp_path / "c.csv"
    assert run(capsys, "--db", sqlite_url, "export", "candidates", "--out", out)[0] == 0
    assert A not in set(pd.read_csv(out, dtype=str)["candidate_id"])
    assert dt.date.today().isoformat() == store.fetch(store.connect(sqlite_url), store.candidates,
                                                      [store.candidates.c.candidate_id == A])[0]["left_at"]
