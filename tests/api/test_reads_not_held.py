"""A request waiting for the store's writer or for the index does not hold the others.

A process serves requests on one thread by default (``threads``): a ranking that waited there
for an import's write lock (its audit row) or for the rebuild the import calls for held every
request of the process, plain store reads included, for seconds (bench/RESULTS.md, issue 16).
Each test holds what an import holds — SQLite's write lock, the index snapshot folder's lock —
starts a ranking that must wait for it, and asks for a case from the store meanwhile: it is
answered while the lock is still held, and the ranking then answers, audited and fresh.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import create_key
from matcher import store
from matcher.contract.imports import import_frame
from matcher.settings import Settings
from matcher.store import changes
from matcher.store.audit_log import read_audit

SIREN = "802649921"
COMPANY = {"siren": SIREN, "name": "Menuiserie Durand", "naf": "16.23Z", "lat": 47.2184, "lon": -1.5536,
           "headcount": 12, "procedure": "redressement", "pole": "p1"}
GUARD_S = 60  # only against a hang: the answers asked for come in milliseconds once nothing holds them


def candidates(name: str, n: int = 12) -> pd.DataFrame:
    return pd.DataFrame([{"candidate_id": f"R-{i:04d}", "kind": "repreneur", "name": f"{name} {i}",
                          "sought_naf": "16", "lat": 47.22 + i * 1e-3, "lon": -1.55, "budget_eur": 400_000}
                         for i in range(n)])


@pytest.fixture
def served(sqlite_url, tmp_path):
    db = store.connect(sqlite_url)
    import_frame(db, "poles", pd.DataFrame([{"pole_id": "p1", "name": "Estuaire", "departements": "44"}]))
    import_frame(db, "companies", pd.DataFrame([COMPANY]))
    import_frame(db, "candidates", candidates("Avant"))
    key = create_key(db, role="advisor", poles=["p1"])[1]
    settings = Settings(database_url=sqlite_url, models_dir=tmp_path / "models", index_poll_seconds=0, threads=1)
    app = create_app(settings)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get(f"/v1/companies/{SIREN}/matches", headers=headers).status_code == 200
        yield app, client, headers, db, settings
    db.dispose()


def in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["response"] = fn()
        except Exception as exc:  # e.g. "database is locked" once SQLite's busy timeout is out
            out["error"] = exc
        finally:
            out["done"] = True
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_a_store_read_is_answered_while_a_ranking_waits_for_the_write_lock_for_its_audit_row(served):
    app, client, headers, db, settings = served
    audit, writing = app.state.audit, threading.Event()
    record = audit.record

    def announced(*args, **kw):  # the real audit write, announced when it starts
        writing.set()
        return record(*args, **kw)
    audit.record = announced
    import_tx = sqlite3.connect(str(settings.database_url).removeprefix("sqlite:///"), isolation_level=None)
    import_tx.execute("BEGIN IMMEDIATE")  # an import's write transaction: SQLite's write lock, held
    try:
        ranking, ranked = in_thread(lambda: client.get(f"/v1/companies/{SIREN}/matches", headers=headers))
        assert writing.wait(GUARD_S)  # the ranking is writing its audit row: it waits for the lock
        reading, read = in_thread(lambda: client.get(f"/v1/companies/{SIREN}", headers=headers))
        reading.join(GUARD_S)
        answered_while_locked = read.get("done", False) and not ranked.get("done", False)
    finally:
        import_tx.execute("ROLLBACK")
        import_tx.close()
    ranking.join(GUARD_S)
    reading.join(GUARD_S)
    assert answered_while_locked, "the store read waited for the ranking, which waited for the write lock"
    assert read["response"].status_code == 200 and read["response"].json()["siren"] == SIREN
    # the ranking answered once its row was written: no audit row lost
    assert ranked["response"].status_code == 200
    rows, _ = read_audit(db, siren=SIREN, action="read_matches")
    assert len(rows) == 2


def test_a_store_read_is_answered_while_a_ranking_waits_for_the_index_to_take_in_an_import(served, monkeypatch):
    app, client, headers, _db, settings = served
    monkeypatch.setattr(changes, "LIST_LIMIT", 5)  # this import is "too large to list": every worker rebuilds
    folder_lock = open(settings.index_dir() / ".lock", "w")
    fcntl.flock(folder_lock, fcntl.LOCK_EX)  # as the command line holds it while it writes the new snapshot
    try:
        other = store.connect(settings.database_url)  # the command line's import, committed
        import_frame(other, "candidates", candidates("Après"))
        other.dispose()
        live = app.state.live
        ranking, ranked = in_thread(lambda: client.get(f"/v1/companies/{SIREN}/matches", headers=headers))
        while not live._build.locked():  # the ranking's catch-up is rebuilding: it waits for the folder
            assert ranking.is_alive(), ranked
            ranking.join(0.01)
        reading, read = in_thread(lambda: client.get(f"/v1/companies/{SIREN}", headers=headers))
        reading.join(GUARD_S)
        answered_while_rebuilding = read.get("done", False) and not ranked.get("done", False)
    finally:
        fcntl.flock(folder_lock, fcntl.LOCK_UN)
        folder_lock.close()
    ranking.join(GUARD_S)
    reading.join(GUARD_S)
    assert answered_while_rebuilding, "the store read waited for the ranking, which waited for the index"
    assert read["response"].status_code == 200 and read["response"].json()["siren"] == SIREN
    # the ranking waited for the import: never a stale answer
    options = ranked["response"].json()["options"]
    assert {o["name"].split()[0] for o in options if o["candidate_id"].startswith("R-")} == {"Après"}
