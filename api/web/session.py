"""Signed-in sessions: the cookie, the store lookup on every request, CSRF tokens, sign-in limits.

The cookie holds a random token (32 bytes); the store keeps only its SHA-256, with an expiry.
Each request looks the session up, so a sign-out, a disabled account or a reset password ends
it at once in every process. The CSRF token of a session is an HMAC of its token: every form
carries it and every POST is checked against it. The sign-in form, before any session, is
protected by a double-submit token (a random cookie repeated in the form).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from api.web.errors import SignInRequired, WebError
from matcher.store import accounts

COOKIE = "reprise_session"
SIGNIN_COOKIE = "reprise_signin"
SIGNIN_COOKIE_SECONDS = 3600


@dataclass(frozen=True)
class WebUser:
    """The signed-in person: account, role, poles, and their session's token hash and CSRF token."""

    user_id: str
    email: str
    role: str
    poles: frozenset[str]
    since: dt.datetime | None  # their previous visit, when this session began
    token_hash: str
    csrf: str

    @property
    def actor(self) -> str:
        """How the audit log names this user (the id of `reprise users list`)."""
        return f"user:{self.user_id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(token: str) -> str:
    return hmac.new(token.encode("utf-8"), b"reprise csrf", hashlib.sha256).hexdigest()


def current_user(request: Request) -> WebUser | None:
    """The user of the request's session cookie, or None (no cookie, expired, revoked, disabled)."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    row = accounts.session_user(request.app.state.db, digest)
    if row is None:
        return None
    return WebUser(user_id=row["user_id"], email=row["email"], role=row["role"],
                   poles=frozenset(row["poles"] or []), since=row["since"], token_hash=digest,
                   csrf=csrf_token(token))


def signed_in(request: Request, *, roles: tuple[str, ...] | None = None) -> WebUser:
    """The signed-in user, else a redirect to the sign-in form (back here afterwards); a user of
    another role gets a 403 page."""
    user = current_user(request)
    if user is not None:
        request.app.state.live.catch_up(index=False)  # another worker's writes apply before this page
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    if roles is not None and user.role not in roles:
        raise WebError(403, "Accès réservé",
                       f"Cette page est réservée aux rôles : {', '.join(roles)}. Votre rôle : {user.role}.")
    return user


def check_csrf(user: WebUser, sent: Any) -> None:
    if not isinstance(sent, str) or not hmac.compare_digest(sent, user.csrf):
        raise WebError(403, "Formulaire expiré", "Le formulaire n'a pas pu être vérifié (jeton de sécurité "
                       "absent ou périmé). Rechargez la page et recommencez.")


def start(request: Request, response: Response, user: dict[str, Any]) -> None:
    """Open a session for ``user`` (public row) and set its cookie on ``response``."""
    settings = request.app.state.settings
    previous = request.cookies.get(COOKIE)
    if previous and len(previous) <= 100:  # a new sign-in ends the session this browser had
        accounts.revoke_session(request.app.state.db, token_hash(previous))
    token = secrets.token_urlsafe(32)
    lifetime = dt.timedelta(hours=settings.session_hours)
    accounts.open_session(request.app.state.db, token_hash=token_hash(token), user_id=user["user_id"],
                          lifetime=lifetime, since=user.get("last_seen_at"))
    set_cookie(request, response, COOKIE, token, int(lifetime.total_seconds()), samesite="lax")
    response.delete_cookie(SIGNIN_COOKIE, path="/connexion")


def end(request: Request, response: Response, user: WebUser) -> None:
    accounts.revoke_session(request.app.state.db, user.token_hash)
    response.delete_cookie(COOKIE, path="/")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int, *,
               samesite: str, path: str = "/") -> None:
    # Secure whenever the client reached us over HTTPS (directly, or through a trusted proxy
    # whose X-Forwarded-Proto uvicorn applies): the browser then never sends it in clear
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite=samesite,
                        secure=request.url.scheme == "https")


def signin_token(request: Request) -> tuple[str, bool]:
    """The sign-in form's double-submit token: the cookie's, or a new one (True: set it with
    :func:`set_signin_cookie`)."""
    token = request.cookies.get(SIGNIN_COOKIE)
    if token and len(token) <= 100:
        return token, False
    return secrets.token_urlsafe(24), True


def set_signin_cookie(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, SIGNIN_COOKIE, token, SIGNIN_COOKIE_SECONDS, samesite="strict", path="/connexion")


def signin_token_ok(request: Request, sent: Any) -> bool:
    cookie = request.cookies.get(SIGNIN_COOKIE)
    return bool(cookie) and isinstance(sent, str) and hmac.compare_digest(cookie, sent)


def too_many_failures(request: Request, email: str) -> bool:
    """Whether sign-in is refused for now: too many recent failures for this email or address."""
    s = request.app.state.settings
    by_email, by_address = accounts.recent_failures(request.app.state.db, email=email, address=client(request),
                                                    window=dt.timedelta(minutes=s.signin_window_minutes))
    return by_email >= s.signin_failures_per_email or by_address >= s.signin_failures_per_address


def record_attempt(request: Request, email: str, succeeded: bool) -> None:
    s = request.app.state.settings
    accounts.record_attempt(request.app.state.db, email=email, address=client(request), succeeded=succeeded,
                            keep=dt.timedelta(minutes=s.signin_window_minutes) * 4)


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
