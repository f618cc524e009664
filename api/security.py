"""API keys: created at random, stored only as a hash, checked in constant time.

A key reads ``rk_<key_id>.<secret>``: ``key_id`` (12 hex characters) is public and names the key
in lists and the audit log; the secret is 32 random bytes. Only SHA-256 of the whole key is
stored — a slow hash adds nothing for a 256-bit random secret and would cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine as DbEngine

from matcher import store
from matcher.errors import InvalidRecord
from matcher.store import keys, records

ROLES = ("advisor", "analyst", "admin")
PREFIX = "rk_"
_KEY = re.compile(r"rk_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, role and (advisors) poles."""

    key_id: str
    role: str
    poles: frozenset[str] = field(default_factory=frozenset)

    @property
    def author(self) -> str:
        """How outcomes this principal records are signed."""
        return f"key:{self.key_id}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: DbEngine, *, role: str, poles: list[str] | None = None,
               label: str | None = None) -> tuple[dict[str, Any], str]:
    """Store a new key; returns (its public row, the secret key shown once)."""
    poles = sorted({p.strip() for p in poles or [] if p and p.strip()})
    if role not in ROLES:
        raise InvalidRecord(f"role {role!r} is not a role; expected one of {', '.join(ROLES)}")
    if role == "advisor" and not poles:
        raise InvalidRecord("an advisor key needs at least one pole (--pole ID)")
    if role != "advisor" and poles:
        raise InvalidRecord(f"poles apply to advisor keys only; an {role} key has none")  # analyst, admin
    known = {r["pole_id"] for r in records.pole_rows(db)}
    unknown = [p for p in poles if known and p not in known]
    if unknown:
        raise InvalidRecord(f"pole {', '.join(unknown)} is not a stored pole; known poles: {', '.join(sorted(known))}")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}.{secrets.token_urlsafe(32)}"
    row = {"key_id": key_id, "key_hash": hash_key(key), "role": role, "poles": poles,
           "label": label, "created_at": store.now(), "revoked_at": None}
    keys.insert_key(db, row)
    return public(row), key


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A key's row without its hash."""
    return {k: (row.get(k) or [] if k == "poles" else row.get(k))
            for k in ("key_id", "role", "poles", "label", "created_at", "revoked_at")}


def list_keys(db: DbEngine) -> list[dict[str, Any]]:
    return [public(r) for r in keys.key_rows(db)]


def revoke_key(db: DbEngine, key_id: str) -> dict[str, Any] | None:
    """Revoke a key (it stops working at once); None when no such key. Idempotent."""
    row = keys.revoke_key(db, key_id)
    return None if row is None else public(row)


def authenticate(db: DbEngine, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None otherwise."""
    m = _KEY.fullmatch(key or "")
    if not m:
        return None
    row = keys.key_for_check(db, m.group(1))
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(key)) or row.revoked_at is not None:
        return None
    return Principal(key_id=m.group(1), role=row.role, poles=frozenset(row.poles or []))


class KeyCache:
    """Valid keys remembered for ``ttl`` seconds, so most requests skip the key lookup.

    A key revoked through this process's API stops at once; revoked elsewhere (``reprise keys
    revoke``, another worker) it stops within ``ttl``. Only valid keys are kept (by hash), at
    most ``size`` of them.
    """

    def __init__(self, db: DbEngine, *, ttl: float, size: int = 10_000) -> None:
        self.db, self.ttl, self.size = db, ttl, size
        self._items: dict[str, tuple[Principal, float]] = {}

    def cached(self, key: str) -> Principal | None:
        hit = self._items.get(hash_key(key)) if self.ttl > 0 else None
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def authenticate(self, key: str) -> Principal | None:
        principal = authenticate(self.db, key)
        if principal is not None and self.ttl > 0:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[hash_key(key)] = (principal, time.monotonic() + self.ttl)
        return principal

    def forget(self, key_id: str) -> None:
        for digest, (principal, _) in list(self._items.items()):
            if principal.key_id == key_id:
                self._items.pop(digest, None)
