"""People's accounts for the web application: users, signed-in sessions and sign-in attempts.

Only hashes are stored: the password's (argon2, made by the caller) and the session token's
(SHA-256). A session is valid while it is neither expired nor revoked and its user is not
disabled; every request asks the store, so disabling a user or resetting a password takes
effect at once in every server process.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.connection import now
from matcher.store.tables import sessions, signin_attempts, users

USER_FIELDS = ("user_id", "email", "role", "poles", "created_at", "password_set_at", "disabled_at", "last_seen_at")

# built once: these run on every signed-in request
_SESSION = (sa.select(users.c.user_id, users.c.email, users.c.role, users.c.poles, sessions.c.since,
                      sessions.c.expires_at)
            .select_from(sessions.join(users, users.c.user_id == sessions.c.user_id))
            .where(sessions.c.token_hash == sa.bindparam("token_hash"), sessions.c.revoked_at.is_(None),
                   sessions.c.expires_at > sa.bindparam("now"), users.c.disabled_at.is_(None)))


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A user's row without the password hash (poles as a list)."""
    out = {k: row.get(k) for k in USER_FIELDS}
    out["poles"] = list(out["poles"] or [])
    return out


def insert_user(db: Engine, row: dict[str, Any]) -> None:
    with db.begin() as c:
        c.execute(sa.insert(users), row)


def user_by_email(db: Engine, email: str) -> dict[str, Any] | None:
    """The whole row (with the hash), or None."""
    with db.connect() as c:
        row = c.execute(sa.select(users).where(users.c.email == email)).mappings().first()
    return dict(row) if row else None


def user_rows(db: Engine) -> list[dict[str, Any]]:
    """Every user (without hashes), oldest first."""
    with db.connect() as c:
        rows = c.execute(sa.select(users).order_by(users.c.created_at, users.c.email)).mappings().all()
    return [public(dict(r)) for r in rows]


def set_password(db: Engine, user_id: str, password_hash: str) -> None:
    """Replace the password hash and end every session of the user."""
    at = now()
    with db.begin() as c:
        c.execute(sa.update(users).where(users.c.user_id == user_id)
                  .values(password_hash=password_hash, password_set_at=at))
        _revoke_all(c, user_id, at)


def set_disabled(db: Engine, user_id: str, disabled: bool) -> dt.datetime | None:
    """Disable (ending every session) or enable a user; returns the new ``disabled_at``."""
    at = now() if disabled else None
    with db.begin() as c:
        c.execute(sa.update(users).where(users.c.user_id == user_id).values(disabled_at=at))
        if disabled:
            _revoke_all(c, user_id, at)
    return at


def _revoke_all(conn: sa.Connection, user_id: str, at: dt.datetime) -> None:
    conn.execute(sa.update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                 .values(revoked_at=at))


def open_session(db: Engine, *, token_hash: str, user_id: str, lifetime: dt.timedelta,
                 since: dt.datetime | None) -> dt.datetime:
    """Store a new session (expired ones of the same user are deleted); returns its expiry."""
    at = now()
    with db.begin() as c:
        c.execute(sa.delete(sessions).where(sessions.c.user_id == user_id, sessions.c.expires_at <= at))
        c.execute(sa.insert(sessions), {"token_hash": token_hash, "user_id": user_id, "created_at": at,
                                        "expires_at": at + lifetime, "revoked_at": None, "since": since})
    return at + lifetime


def session_user(db: Engine, token_hash: str) -> dict[str, Any] | None:
    """The user of a valid session (user_id, email, role, poles, since, expires_at), or None."""
    with db.connect() as c:
        row = c.execute(_SESSION, {"token_hash": token_hash, "now": now()}).mappings().first()
    return dict(row) if row else None


def revoke_session(db: Engine, token_hash: str) -> None:
    with db.begin() as c:
        c.execute(sa.update(sessions).where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None))
                  .values(revoked_at=now()))


def mark_seen(db: Engine, user_id: str) -> None:
    """Remember the user's visit: cases updated after it are "new" on the next sign-in."""
    with db.begin() as c:
        c.execute(sa.update(users).where(users.c.user_id == user_id).values(last_seen_at=now()))


def record_attempt(db: Engine, *, email: str, address: str, succeeded: bool, keep: dt.timedelta) -> None:
    """Store one sign-in attempt; attempts older than ``keep`` are deleted on the way."""
    at = now()
    with db.begin() as c:
        c.execute(sa.delete(signin_attempts).where(signin_attempts.c.at < at - keep))
        c.execute(sa.insert(signin_attempts), {"at": at, "email": email[:254], "address": address[:64],
                                               "succeeded": succeeded})


def recent_failures(db: Engine, *, email: str, address: str, window: dt.timedelta) -> tuple[int, int]:
    """Failed attempts within ``window``: for this email, and from this address."""
    t = signin_attempts
    failed = [t.c.at >= now() - window, t.c.succeeded == sa.false()]
    with db.connect() as c:
        by_email = c.execute(sa.select(sa.func.count()).where(*failed, t.c.email == email)).scalar()
        by_address = c.execute(sa.select(sa.func.count()).where(*failed, t.c.address == address)).scalar()
    return int(by_email), int(by_address)
