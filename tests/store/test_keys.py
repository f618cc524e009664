"""API keys in the store: the last working admin key is never revoked, even by two admins at once."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from matcher.errors import Conflict
from matcher.store import keys
from matcher.store.connection import now
from matcher.store.tables import api_keys

ROUNDS = 25


def _admin(db) -> str:
    key_id = uuid.uuid4().hex[:12]
    keys.insert_key(db, {"key_id": key_id, "key_hash": uuid.uuid4().hex, "role": "admin", "poles": [],
                         "label": "test", "created_at": now(), "revoked_at": None})
    return key_id


def _working_admins(db) -> int:
    with db.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(api_keys).where(
            api_keys.c.role == "admin", api_keys.c.revoked_at.is_(None))).scalar()


def test_the_last_working_admin_key_is_not_revoked(db):
    a, b = _admin(db), _admin(db)
    assert keys.revoke_key(db, a)["revoked_at"] is not None
    with pytest.raises(Conflict, match=f"key {b} is the last working admin key"):
        keys.revoke_key(db, b)
    assert keys.revoke_key(db, a)["revoked_at"] is not None  # revoking a revoked key again is harmless
    assert keys.revoke_key(db, "nosuchkey") is None
    assert _working_admins(db) == 1


def test_two_admins_revoking_each_other_at_once_leave_one_working(db):
    """Each round: exactly two working admin keys, each revoked by its own thread at the same
    moment. One revocation succeeds, the other is refused (Conflict), one admin key works."""
    survivor = _admin(db)
    for _ in range(ROUNDS):
        x, y = _admin(db), _admin(db)
        keys.revoke_key(db, survivor)
        assert _working_admins(db) == 2
        barrier, outcome = threading.Barrier(2), {}

        def revoke(target: str, barrier: threading.Barrier = barrier, outcome: dict = outcome) -> None:
            barrier.wait()
            try:
                keys.revoke_key(db, target)
                outcome[target] = "revoked"
            except Conflict:
                outcome[target] = "conflict"

        threads = [threading.Thread(target=revoke, args=(k,)) for k in (x, y)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcome.values()) == ["conflict", "revoked"], outcome
        assert _working_admins(db) == 1
        survivor = x if outcome[x] == "conflict" else y
