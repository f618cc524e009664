"""Output files through the command line (matcher.contract.outputs): a write that fails after the
upfront check (a full disk, ``/dev/full``) is exit 2 naming the option, the path and the system's
reason; it stores nothing (imports) or loses nothing (scan: the re-run writes the day's cases)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matcher import store
from matcher.cli.main import main
from tests.conftest import fixture_path, write

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full (a device whose writes fail: disk full)")
BODACC_2008 = fixture_path("bodacc", "pcl_2008_sample.jsonl")
ACTIONABLE_2008 = ["443353214", "450189337", "453752099", "487436479", "491969176"]
POLES = "pole_id,name,departements\nP-AISNE,Pôle Aisne,02\nP-BAD,Pôle,ZZ\n"
FULL_MESSAGE = "cannot be written: No space left on device"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err
    return code, out, err


def rows(url: str, table) -> pd.DataFrame:
    engine = store.connect(url)
    try:
        return pd.DataFrame(store.fetch(engine, table))
    finally:
        engine.dispose()


@pytest.mark.parametrize("option", ["--matches-out", "--signals-out", "--digest-dir"])
def test_scan_on_a_full_disk_keeps_the_days_cases_for_the_rerun(tmp_path, sqlite_url, capsys, option):
    target = FULL if option != "--digest-dir" else tmp_path / "digests"
    if option == "--digest-dir":  # a digest folder whose files cannot be written: one is a full device
        target.mkdir()
        (target / "unassigned.md").symlink_to(FULL)
    code, _, err = run(capsys, "--db", sqlite_url, "scan", BODACC_2008, option, target)
    assert code == 2, err
    assert f"{option} " in err and FULL_MESSAGE in err and "scan the same file again" in err
    assert err.count("\n") == 1
    assert len(rows(sqlite_url, store.signals)) == 24  # the signals are stored ...
    assert not rows(sqlite_url, store.signals)["matched"].any()  # ... and their cases still pending
    matches = tmp_path / "m.csv"
    code, out, _ = run(capsys, "--db", sqlite_url, "scan", BODACC_2008, "--matches-out", matches)
    assert code == 0 and "new signals 0" in out and "ranked 5 companies" in out
    assert sorted(pd.read_csv(matches, dtype={"siren": str})["siren"].unique()) == ACTIONABLE_2008
    code, out, _ = run(capsys, "--db", sqlite_url, "scan", BODACC_2008, "--matches-out", tmp_path / "again.csv")
    assert code == 0 and "ranked 0 companies" in out  # delivered once: now marked ranked


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, sqlite_url, capsys, monkeypatch):
    matches = tmp_path / "m.csv"
    matches.write_text("earlier\n")
    matches.chmod(0o640)
    assert run(capsys, "--db", sqlite_url, "scan", BODACC_2008, "--matches-out", matches)[0] == 0
    assert (matches.stat().st_mode & 0o777) == 0o640  # replaced, keeping its permissions
    before = matches.read_bytes()
    assert run(capsys, "--db", sqlite_url, "match", "--all", "--out", FULL)[0] == 2
    import matcher.contract.outputs as outputs

    def no_rename(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(outputs.os, "replace", no_rename)
    code, _, err = run(capsys, "--db", sqlite_url, "match", "--all", "--out", matches)
    assert code == 2 and f"--out {matches} {FULL_MESSAGE}" in err
    assert matches.read_bytes() == before and [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.csv")] == []


@pytest.mark.parametrize("argv", [
    ["match", "--all", "--out", FULL],
    ["match", "802649921", "--out", FULL, "--format", "json"],
    ["match", "802649921", "--out", FULL, "--format", "csv"],
])
def test_match_on_a_full_disk(tmp_path, sqlite_url, capsys, argv):
    companies = write(tmp_path, "c.csv", "siren,name,naf,lat,lon,procedure\n802649921,A,68.31Z,47.2,-1.5,redressement\n")
    assert run(capsys, "--db", sqlite_url, "import", "companies", companies)[0] == 0
    code, _, err = run(capsys, "--db", sqlite_url, *argv)
    assert code == 2 and err == f"reprise: error: --out {FULL} {FULL_MESSAGE}\n"


def test_import_whose_rejects_cannot_be_written_stores_nothing(tmp_path, sqlite_url, capsys):
    poles = write(tmp_path, "p.csv", POLES)
    code, _, err = run(capsys, "--db", sqlite_url, "import", "poles", poles, "--rejects", FULL)
    assert code == 2 and err == f"reprise: error: --rejects {FULL} {FULL_MESSAGE}\n"
    assert rows(sqlite_url, store.poles).empty
    texts = write(tmp_path, "t.csv", "id,text\n1,boulangerie\n")
    code, _, err = run(capsys, "--db", sqlite_url, "sectors", "infer", "--in", texts, "--out", FULL)
    assert code == 2 and f"--out {FULL} {FULL_MESSAGE}" in err


def test_rejects_to_standard_output(tmp_path, sqlite_url, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    poles = write(tmp_path, "p.csv", POLES)
    code, out, err = run(capsys, "--db", sqlite_url, "import", "poles", poles, "--rejects", "-")
    assert code == 0 and not (tmp_path / "-").exists()
    assert out.splitlines()[0] == "line,reason,pole_id,name,departements" and out.splitlines()[1].startswith("3,")
    assert err == "poles: read 2, stored 1 (1 new, 0 updated), rejected 1 -> standard output\n"


def test_demo_on_a_full_disk(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPRISE_DATABASE_URL", raising=False)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "matches.csv").symlink_to(FULL)
    code, _, err = run(capsys, "demo", "--dir", "d", "--show", "0")
    assert code == 2 and err == f"reprise: error: --dir d/matches.csv {FULL_MESSAGE}\n"


def test_a_writable_file_in_a_folder_that_takes_no_new_file_is_written_in_place(tmp_path, sqlite_url, capsys,
                                                                                monkeypatch):
    import builtins

    import matcher.contract.outputs as outputs
    rejects = write(tmp_path, "rejects.csv", "old\n")

    def no_new_file(file, mode="r", *args, **kwargs):  # what a read-only folder does to a new file
        if "x" in mode:
            raise PermissionError(13, "Permission denied")
        return builtins.open(file, mode, *args, **kwargs)
    monkeypatch.setattr(outputs, "open", no_new_file, raising=False)
    poles = write(tmp_path, "p.csv", POLES)
    code, out, _ = run(capsys, "--db", sqlite_url, "import", "poles", poles, "--rejects", rejects)
    assert code == 0 and "rejected 1" in out
    assert rejects.read_text().startswith("line,reason,pole_id")
    code, _, err = run(capsys, "--db", sqlite_url, "import", "poles", poles, "--rejects", tmp_path / "new.csv")
    assert code == 2 and err == f"reprise: error: --rejects {tmp_path / 'new.csv'} cannot be written: Permission denied\n"
