"""People's accounts: create, list, disable, enable, reset a password, and check a sign-in.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
option: 64 MiB, 3 passes); only the hash is stored. Roles and poles are the API keys' own.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine as DbEngine

from api.security import ROLES
from matcher import store
from matcher.errors import InvalidRecord, NotFound
from matcher.store import accounts

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
HASHER = PasswordHasher()
# verified against when the email is unknown, so the answer takes as long as for a known one
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    clean = normalize_email(email)
    if not EMAIL.fullmatch(clean) or len(clean) > 254:
        raise InvalidRecord(f"email {email!r} is not an email address (expected name@domain.fr)")
    return clean


def check_password(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRecord(f"the password has {len(password)} characters; at least {MIN_PASSWORD} are needed")
    if len(password) > MAX_PASSWORD:
        raise InvalidRecord(f"the password has {len(password)} characters; at most {MAX_PASSWORD} are accepted")
    if normalize_email(password) == email:
        raise InvalidRecord("the password may not be the email address")


def check_role_poles(db: DbEngine, role: str, poles: list[str] | None) -> list[str]:
    """The poles of an account with this role, checked as for API keys."""
    clean = sorted({p.strip() for p in poles or [] if p and p.strip()})
    if role not in ROLES:
        raise InvalidRecord(f"role {role!r} is not a role; expected one of {', '.join(ROLES)}")
    if role == "advisor" and not clean:
        raise InvalidRecord("an advisor needs at least one pole (--pole ID)")
    if role != "advisor" and clean:
        raise InvalidRecord(f"poles apply to advisors only; an {role} has none")
    known = {r["pole_id"] for r in store.fetch(db, store.poles)}
    unknown = [p for p in clean if known and p not in known]
    if unknown:
        raise InvalidRecord(f"pole {', '.join(unknown)} is not a stored pole; known poles: {', '.join(sorted(known))}")
    return clean


def create_user(db: DbEngine, *, email: str, password: str, role: str,
                poles: list[str] | None = None) -> dict[str, Any]:
    """Store a new account; returns its public row."""
    email = check_email(email)
    clean_poles = check_role_poles(db, role, poles)
    check_password(password, email)
    if accounts.user_by_email(db, email) is not None:
        raise InvalidRecord(f"email {email} already has an account; see `reprise users list`")
    at = store.now()
    row = {"user_id": secrets.token_hex(4), "email": email, "password_hash": HASHER.hash(password), "role": role,
           "poles": clean_poles, "created_at": at, "password_set_at": at, "disabled_at": None, "last_seen_at": None}
    accounts.insert_user(db, row)
    return accounts.public(row)


def list_users(db: DbEngine) -> list[dict[str, Any]]:
    return accounts.user_rows(db)


def _user(db: DbEngine, email: str) -> dict[str, Any]:
    row = accounts.user_by_email(db, normalize_email(email))
    if row is None:
        raise NotFound(f"email {email} has no account; see `reprise users list`")
    return row


def set_disabled(db: DbEngine, email: str, disabled: bool) -> dict[str, Any]:
    """Disable (signed out everywhere at once) or enable an account; returns its public row."""
    row = _user(db, email)
    row["disabled_at"] = accounts.set_disabled(db, row["user_id"], disabled)
    return accounts.public(row)


def reset_password(db: DbEngine, email: str, password: str) -> dict[str, Any]:
    """Set a new password; every session of the account ends."""
    row = _user(db, email)
    check_password(password, row["email"])
    accounts.set_password(db, row["user_id"], HASHER.hash(password))
    return accounts.public(row)


def verify(db: DbEngine, email: str, password: str) -> dict[str, Any] | None:
    """The account (public row) when the email and password match an enabled account, else None."""
    row = accounts.user_by_email(db, normalize_email(email))
    try:
        HASHER.verify(row["password_hash"] if row else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row["disabled_at"] is not None:
        return None
    if HASHER.check_needs_rehash(row["password_hash"]):  # parameters raised since it was hashed
        accounts.set_password(db, row["user_id"], HASHER.hash(password))
    return accounts.public(row)
