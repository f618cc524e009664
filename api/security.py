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
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine as DbEngine

from matcher import store

ROLES = ("advisor", "analyst", "admin")
PREFIX = "rk_"
_KEY = re.compile(r"rk_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, role and (advisors) poles."""

    key_id: str
    role: str
    poles: frozenset[str] = field(default_factory=frozenset)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: DbEngine, *, role: str, poles: list[str] | None = None,
               label: str | None = None) -> tuple[dict[str, Any], str]:
    """Store a new key; returns (its public row, the secret key shown once)."""
    poles = sorted({p.strip() for p in poles or [] if p and p.strip()})
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not a role; expected one of {', '.join(ROLES)}")
    if role == "advisor" and not poles:
        raise ValueError("an advisor key needs at least one pole (--pole ID)")
    if role != "advisor" and poles:
        raise ValueError(f"poles apply to advisor keys only; a {role} key has none")
    known = {r["pole_id"] for r in store.fetch(db, store.poles)}
    unknown = [p for p in poles if known and p not in known]
    if unknown:
        raise ValueError(f"pole {', '.join(unknown)} is not a stored pole; known poles: {', '.join(sorted(known))}")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}.{secrets.token_urlsafe(32)}"
    row = {"key_id": key_id, "key_hash": hash_key(key), "role": role, "poles": poles,
           "label": label, "created_at": store.now(), "revoked_at": None}
    with db.begin() as c:
        c.execute(sa.insert(store.api_keys), row)
    return public(row), key


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A key's row without its hash."""
    return {k: (row.get(k) or [] if k == "poles" else row.get(k))
            for k in ("key_id", "role", "poles", "label", "created_at", "revoked_at")}


def list_keys(db: DbEngine) -> list[dict[str, Any]]:
    rows = store.fetch(db, store.api_keys)
    return [public(r) for r in sorted(rows, key=lambda r: (r["created_at"] or store.now(), r["key_id"]))]


def revoke_key(db: DbEngine, key_id: str) -> dict[str, Any] | None:
    """Revoke a key (it stops working at once); None when no such key. Idempotent."""
    t = store.api_keys
    with db.begin() as c:
        row = c.execute(sa.select(t).where(t.c.key_id == key_id)).mappings().first()
        if row is None:
            return None
        row = dict(row)
        if row["revoked_at"] is None:
            row["revoked_at"] = store.now()
            c.execute(sa.update(t).where(t.c.key_id == key_id).values(revoked_at=row["revoked_at"]))
    return public(row)


def authenticate(db: DbEngine, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None otherwise."""
    m = _KEY.fullmatch(key or "")
    if not m:
        return None
    t = store.api_keys
    with db.connect() as c:
        row = c.execute(sa.select(t.c.key_hash, t.c.role, t.c.poles, t.c.revoked_at)
                        .where(t.c.key_id == m.group(1))).first()
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(key)) or row.revoked_at is not None:
        return None
    return Principal(key_id=m.group(1), role=row.role, poles=frozenset(row.poles or []))
