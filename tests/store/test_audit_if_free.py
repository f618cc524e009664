"""An audit row written at once when the store's writer is free, and never half-written when it
is not: the request thread then leaves the row to a thread that may wait (api/routes/matches.py)."""

from __future__ import annotations

import sqlite3

from matcher import store
from matcher.store.audit_log import READ_MATCHES, AuditLog, read_audit


def test_a_row_is_written_at_once_when_free_and_left_to_a_waiting_writer_when_the_lock_is_held(sqlite_url):
    db = store.connect(sqlite_url)
    audit = AuditLog(db)
    assert audit.record_if_free("k1", "802649921", READ_MATCHES)
    importing = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    importing.execute("BEGIN IMMEDIATE")  # an import's write transaction holds SQLite's write lock
    try:
        assert not audit.record_if_free("k1", "552100554", READ_MATCHES)  # gave up at once, stored nothing
    finally:
        importing.execute("ROLLBACK")
        importing.close()
    audit.record("k1", "552100554", READ_MATCHES)  # what the route then does, outside its request thread
    rows, _ = read_audit(db, key_id="k1")
    assert [r["siren"] for r in rows] == ["552100554", "802649921"]
    # the connection that gave up waits again as before for the next writer (its busy timeout is back)
    with db.connect() as c:
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    db.dispose()
