"""Erasure down to the bytes: an erased SIREN or candidate id is in no table and, on SQLite, in
no byte of the store's files, even when its rows spread over many pages of tables and indexes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from matcher import store
from matcher.store import changes
from matcher.store.erasure import erase_candidate, erase_company
from matcher.store.tables import audit, index_changes

SIREN, CANDIDATE = "302200829", "349652495"  # the candidate is a company too: its id is a SIREN
OTHERS = [f"{i:09d}" for i in range(100_000_000, 100_000_000 + 4_000 * 7919, 7919)]


def _filled(db) -> None:
    store.upsert(db, store.companies, [{"siren": SIREN, "name": "Marchand Terrassement", "lat": 47.2, "lon": -1.5,
                                        "procedure": "liquidation"}])
    store.upsert(db, store.candidates, [{"candidate_id": CANDIDATE, "kind": "company", "name": "SCOP Transports",
                                         "lat": 47.1, "lon": -1.4}])
    store.upsert(db, store.candidates, [{"candidate_id": f"R-{i:06d}", "kind": "repreneur", "name": f"R {i}",
                                         "lat": 47.0, "lon": -1.5} for i in range(300)])
    at = dt.datetime(2026, 11, 1)
    rows = []  # 2,000 rows about the case and the candidate among 4,000 others: many index pages
    for i, other in enumerate(OTHERS):
        rows.append({"key_id": "k1", "at": at, "siren": other, "action": "read_matches", "subject": None})
        if i % 2 == 0:
            rows.append({"key_id": "k1", "at": at, "siren": SIREN, "action": "read_matches", "subject": None})
            rows.append({"key_id": "k1", "at": at, "siren": None, "action": "record_outcome", "subject": CANDIDATE})
    with db.begin() as c:
        c.execute(sa.insert(audit), rows)


def _in_tables(db, value: str) -> list[str]:
    found = []
    with db.connect() as c:
        for table in store.metadata.sorted_tables:
            text = [col for col in table.c if isinstance(col.type, sa.String | sa.Text)]
            if text and c.execute(sa.select(sa.func.count()).select_from(table)
                                  .where(sa.or_(*[col == value for col in text]))).scalar():
                found.append(table.name)
    return found


def test_an_erased_record_is_in_no_table(db):
    _filled(db)
    assert erase_company(db, SIREN) and erase_candidate(db, CANDIDATE)
    assert _in_tables(db, SIREN) == [] and _in_tables(db, CANDIDATE) == []
    with db.connect() as c:  # the erasures are logged without the id, and the revision moved
        logged = c.execute(sa.select(index_changes.c.scope, index_changes.c.candidate_id)).all()
    assert all(cid != CANDIDATE for _, cid in logged)
    assert changes.changes_since(db, 0).erased


@pytest.mark.parametrize("written_by", ["this version", "a version without secure_delete"])
def test_an_erased_record_leaves_no_byte_in_the_sqlite_files(tmp_path: Path, written_by):
    """A store written without secure_delete (an older version) keeps stale copies of index cells
    in the unused space of rebalanced pages: the erasure then VACUUMs it."""
    path = tmp_path / "reprise.db"
    url = f"sqlite:///{path}"
    db = store.connect(url)
    if written_by != "this version":
        sa.event.listen(db, "connect", lambda conn, _record: conn.execute("PRAGMA secure_delete=OFF"))
        db.dispose()
    _filled(db)
    with db.connect() as c:
        assert c.exec_driver_sql("PRAGMA page_count").scalar() > 50
    db.dispose()
    db = store.connect(url)
    assert erase_company(db, SIREN) and erase_candidate(db, CANDIDATE)
    db.dispose()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("reprise.db") and p.is_file()]
    data = b"".join(p.read_bytes() for p in files)
    assert SIREN.encode() not in data and CANDIDATE.encode() not in data
    assert b"Marchand Terrassement" not in data and OTHERS[7].encode() in data
