"""What a user hits in the first hour, through the command line: every bad input or output path
ends in one clear line and exit 2 (or a reject with its reason), never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from matcher import __version__, store
from matcher.cli import commands
from matcher.cli.main import main
from tests.conftest import write

BODACC_2008 = Path(__file__).resolve().parents[1] / "fixtures" / "bodacc" / "pcl_2008_sample.jsonl"
COMPANIES = "siren,name,naf,lat,lon,headcount\n"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def rows(url: str, table: sa.Table) -> pd.DataFrame:
    return pd.DataFrame(store.fetch(store.connect(url), table))


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"reprise {__version__}"


def test_one_version_number_the_package_metadata_reads_from_the_code():
    import tomllib
    from importlib.metadata import version
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "matcher.__version__"}
    assert version("reprise") == __version__  # what pip show and installers report


def test_infinity_and_absurd_values_are_rejected_with_the_accepted_range(tmp_path, sqlite_url, capsys):
    path = write(tmp_path, "c.csv", COMPANIES + "802649921,A,68.31Z,47.2,-1.5,1e12\n489032136,B,49.41A,47.2,-1.5,inf\n"
                                                "837755701,C,56.10A,47.2,-1.5,12\n")
    code, out, _ = run(capsys, "--db", sqlite_url, "import", "companies", path)
    assert code == 0 and "stored 1" in out and "rejected 2" in out
    reasons = pd.read_csv(f"{path}.rejects.csv", dtype=str).set_index("siren")["reason"]
    assert reasons["802649921"] == "headcount 1e12 is out of range: at most 1 000 000"
    assert reasons["489032136"] == "headcount inf is not a finite number"
    data = [{"siren": "802649921", "name": "A", "naf": "68.31Z", "lat": 47.2, "lon": -1.5, "revenue_eur": float("inf")}]
    path = write(tmp_path, "c.json", json.dumps(data))  # json writes Infinity
    assert "Infinity" in path.read_text()
    code, out, _ = run(capsys, "--db", sqlite_url, "import", "companies", path)
    assert code == 0 and "rejected 1" in out
    assert "revenue_eur inf is not a finite number" in pd.read_csv(f"{path}.rejects.csv")["reason"].iat[0]
    cands = write(tmp_path, "k.csv", "candidate_id,kind,name,lat,lon,radius_km\n552100554,company,X,47.2,-1.5,100000\n")
    assert run(capsys, "--db", sqlite_url, "import", "candidates", cands)[0] == 0
    assert "radius_km 100000 is out of range: at most 2 000" in pd.read_csv(f"{cands}.rejects.csv")["reason"].iat[0]
    out_of_time = write(tmp_path, "o.csv", "siren,candidate_id,outcome,date\n837755701,employees:837755701,offer,2099-01-01\n")
    assert run(capsys, "--db", sqlite_url, "import", "outcomes", out_of_time)[0] == 0
    assert re.fullmatch(r"date 2099-01-01 is out of range: expected a date from 1950-01-01 to \d{4}-\d\d-\d\d",
                        pd.read_csv(f"{out_of_time}.rejects.csv")["reason"].iat[0])


def test_poles_outside_france_are_rejected_and_codes_normalised(tmp_path, sqlite_url, capsys):
    path = write(tmp_path, "p.csv", "pole_id,name,communes,departements,lat,lon,radius_km\n"
                                    "p1,P,2a004;1004,1;2a,,,\np2,Q,,,60.0,2.0,30\n")
    assert run(capsys, "--db", sqlite_url, "import", "poles", path)[0] == 0
    assert "is outside France" in pd.read_csv(f"{path}.rejects.csv")["reason"].iat[0]
    (pole,) = store.fetch(store.connect(sqlite_url), store.poles)
    assert pole["communes"] == ["2A004", "01004"] and pole["departements"] == ["01", "2A"]


def test_a_ragged_row_is_rejected_alone_and_the_rows_after_it_are_intact(tmp_path, sqlite_url, capsys):
    path = write(tmp_path, "r.csv", "siren,name,naf,lat,lon\n802649921,A,68.31Z,47.2,-1.5\n"
                                    "489032136,B,Transport, routier,47.2,-1.5\n837755701,C,56.10A,47.3,-1.6\n")
    code, out, _ = run(capsys, "--db", sqlite_url, "import", "companies", path)
    assert code == 0 and "stored 2" in out and "rejected 1" in out
    rejects = pd.read_csv(f"{path}.rejects.csv", dtype=str)
    assert rejects["line"].tolist() == ["3"] and "has 6 cells where the header has 5" in rejects["reason"].iat[0]
    stored = rows(sqlite_url, store.companies).set_index("siren")
    assert (stored.loc["837755701", "naf"], stored.loc["837755701", "lat"]) == ("56.10A", 47.3)


@pytest.mark.parametrize(("content", "message"), [
    (b"siren;nom;naf\n802649921;Caf\xe9;56.10A\n", "is not UTF-8 (line 2, byte 0xe9); it looks like Windows-1252"),
    (b"siren,nom\n802649921,A\n", "is not a company file: it has no column name, naf/activity, "
                                  "lat+lon/commune/postal_code (it has siren, nom)"),
    (b"siren,name,name\n802649921,A,B\n", "column 'name' appears twice in the header (columns 2 and 3)"),
    (b"", "is empty: expected a header row"),
    ("siren;nom;naf\n802649921;Café;56.10A\n".encode("utf-16"),
     'is UTF-16 (it starts with a UTF-16 byte-order mark, as Excel\'s "Unicode text" does): save it as "CSV UTF-8"'),
    ("siren;nom;naf\n802649921;Cafe;56.10A\n".encode("utf-16-le"), 'is UTF-16 (every other byte is 0): save it as'),
], ids=["cp1252", "no-name-column", "column-twice", "empty", "utf16-bom", "utf16-no-bom"])
def test_a_file_that_cannot_be_read_is_refused_whole_with_what_to_do(tmp_path, sqlite_url, capsys, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    code, _, err = run(capsys, "--db", sqlite_url, "import", "companies", path)
    assert code == 2 and message in err and err.count("\n") == 1
    assert rows(sqlite_url, store.companies).empty


def test_paths_that_are_folders_missing_or_unwritable(tmp_path, sqlite_url, capsys):
    good = write(tmp_path, "c.csv", COMPANIES + "802649921,A,68.31Z,47.2,-1.5,3\n")
    cases = [
        (["import", "companies", tmp_path], "is a folder; give a file"),
        (["import", "companies", tmp_path / "nope.csv"], "does not exist"),
        (["import", "companies", good, "--rejects", tmp_path / "no" / "r.csv"], "--rejects"),
        (["match", "--all", "--out", tmp_path], "--out"),
        (["--db", "mysql://u@h/db", "match", "802649921"], "mysql is not a supported store"),
        (["--db", f"sqlite:///{tmp_path / 'no' / 'x.db'}", "import", "companies", good], "does not exist"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, "--db", sqlite_url, *argv)
        assert code == 2 and message in err, (argv, err)
    assert rows(sqlite_url, store.companies).empty  # the --rejects check came before any row was stored


def test_a_read_only_store_is_said_so(tmp_path, sqlite_url, capsys):
    good = write(tmp_path, "c.csv", COMPANIES + "802649921,A,68.31Z,47.2,-1.5,3\n")
    assert run(capsys, "--db", sqlite_url, "import", "companies", good)[0] == 0
    store.connect(sqlite_url).dispose()
    read_only = f"sqlite:///file:{sqlite_url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    code, _, err = run(capsys, "--db", read_only, "import", "companies", good)
    assert code == 2 and "the store is read-only" in err


def test_match_on_a_store_that_does_not_exist_creates_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    code, _, err = run(capsys, "--db", url, "match", "802649921")
    assert code == 2 and "there is no store at" in err and not (tmp_path / "absent.db").exists()


def test_standard_input(tmp_path, sqlite_url, capsys, monkeypatch):
    import io
    import sys
    monkeypatch.chdir(tmp_path)
    fake = io.TextIOWrapper(io.BytesIO((COMPANIES + "802649921,A,68.31Z,47.2,-1.5,3\n").encode()))
    monkeypatch.setattr(sys, "stdin", fake)
    code, out, _ = run(capsys, "--db", sqlite_url, "import", "companies", "-")
    assert code == 0 and "stored 1" in out and (tmp_path / "stdin.rejects.csv").exists()


def test_an_internal_error_is_reported_as_one_with_its_traceback_in_a_file(capsys, monkeypatch):
    def broken(sub):
        p = sub.add_parser("boom")
        p.set_defaults(handler=lambda args, ctx: 1 / 0)
    monkeypatch.setattr(commands, "BUILT_IN", (*commands.BUILT_IN, broken))
    code, _, err = run(capsys, "boom")
    assert code == 70 and "internal error (ZeroDivisionError" in err and "not in your input" in err
    trace = Path(re.search(r"the traceback is in (\S+)", err).group(1))
    assert "ZeroDivisionError" in trace.read_text()
    code = main(["--debug", "boom"])
    assert code == 70 and "Traceback" in capsys.readouterr().err


def test_demo_twice_starts_afresh_and_refuses_a_filled_store(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPRISE_DATABASE_URL", raising=False)
    for _ in range(2):
        code, out, _ = run(capsys, "demo", "--dir", "d", "--show", "0")
        assert code == 0 and "ranked 230 companies in difficulty against 1500 candidates" in out
    url = f"sqlite:///{tmp_path / 'd' / 'reprise.db'}"
    assert len(rows(url, store.candidates)) == 1500
    code, _, err = run(capsys, "--db", url, "demo", "--dir", "e", "--show", "0")
    assert code == 2 and "already holds 240 companies and 1500 candidates" in err


def test_scan_refuses_what_is_not_a_bodacc_export_and_an_empty_day_is_fine(tmp_path, sqlite_url, capsys):
    companies = write(tmp_path, "c.csv", COMPANIES + "802649921,A,68.31Z,47.2,-1.5,3\n")
    code, _, err = run(capsys, "--db", sqlite_url, "scan", companies)
    assert code == 2 and "is not a BODACC annonces-commerciales export" in err
    assert rows(sqlite_url, store.signals).empty
    empty = write(tmp_path, "day.json", '{"total_count":0,"results":[]}')
    code, out, _ = run(capsys, "--db", sqlite_url, "scan", empty, "--signals-out", tmp_path / "s.csv")
    assert code == 0 and out.startswith("read 0;")


def test_scan_checks_its_outputs_before_storing_so_no_alert_is_lost(tmp_path, sqlite_url, capsys):
    code, _, err = run(capsys, "--db", sqlite_url, "scan", BODACC_2008, "--matches-out", tmp_path / "no" / "m.csv")
    assert code == 2 and "--matches-out" in err
    assert rows(sqlite_url, store.signals).empty
    code, out, _ = run(capsys, "--db", sqlite_url, "scan", BODACC_2008, "--matches-out", tmp_path / "m.csv")
    assert code == 0 and "ranked 5 companies" in out  # the day's cases, not lost by the failed run


def test_a_sirene_extract_without_the_scanned_companies(tmp_path, sqlite_url, capsys):
    units = write(tmp_path, "ul.csv", "siren,activitePrincipaleUniteLegale\n552100554,43.32A\n")
    estabs = write(tmp_path, "et.csv", "siren,nic,etablissementSiege,etatAdministratifEtablissement,"
                                       "codePostalEtablissement,codeCommuneEtablissement\n552100554,00010,true,A,44000,44109\n")
    code, out, _ = run(capsys, "--db", sqlite_url, "scan", BODACC_2008, "--sirene-unites", units,
                       "--sirene-etablissements", estabs)
    assert code == 0 and "read 24" in out


def test_a_refused_input_leaves_no_store_behind(tmp_path, capsys):
    db = tmp_path / "new.db"
    url = f"sqlite:///{db}"
    not_companies = write(tmp_path, "c.csv", "siren,nom\n802649921,A\n")
    for argv in (["import", "companies", not_companies], ["import", "poles", tmp_path / "absent.csv"],
                 ["import", "companies", tmp_path], ["scan", not_companies], ["scan", tmp_path / "absent.json"]):
        code, _, err = run(capsys, "--db", url, *argv)
        assert code == 2 and err.startswith("reprise: error: "), (argv, err)
        assert not db.exists(), argv
    good = write(tmp_path, "g.csv", COMPANIES + "802649921,A,68.31Z,47.2,-1.5,3\n")
    assert run(capsys, "--db", url, "import", "companies", good)[0] == 0 and db.exists()
