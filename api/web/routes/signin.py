"""Signing in (email and password) and out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.web import session
from api.web.accounts import normalize_email, verify
from api.web.render import page

router = APIRouter(include_in_schema=False)


def _local(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(request: Request, *, status: int = 200, email: str = "", error: str = "", notice: str = "",
          target: str = "/", headers: dict[str, str] | None = None) -> Response:
    token, fresh = session.signin_token(request)
    response = page(request, "signin.html", {"title": "Connexion", "email": email, "error": error,
                                             "notice": notice, "suite": target, "csrf": token}, status=status)
    if fresh:
        session.set_signin_cookie(request, response, token)
    response.headers.update(headers or {})
    return response


@router.get("/connexion")
def signin_form(request: Request) -> Response:
    target = _local(request.query_params.get("suite"))
    if session.current_user(request) is not None:
        return RedirectResponse(target, status_code=303)
    notice = "Vous êtes déconnecté·e." if "sortie" in request.query_params else ""
    return _form(request, notice=notice, target=target)


@router.post("/connexion")
def signin(request: Request, email: str = Form(""), password: str = Form(""), csrf: str = Form(""),
           suite: str = Form("/")) -> Response:
    target = _local(suite)
    if not session.signin_token_ok(request, csrf):
        return _form(request, status=400, email=email, target=target,
                     error="Le formulaire a expiré. Saisissez à nouveau votre adresse et votre mot de passe.")
    address = normalize_email(email)
    if session.too_many_failures(request, address):
        minutes = int(request.app.state.settings.signin_window_minutes)
        return _form(request, status=429, email=email, target=target, headers={"Retry-After": str(minutes * 60)},
                     error=f"Trop de tentatives de connexion ont échoué. Réessayez dans {minutes} minutes.")
    user = verify(request.app.state.db, address, password) if address and password else None
    session.record_attempt(request, address, user is not None)
    if user is None:
        return _form(request, status=401, email=email, target=target,
                     error="Adresse électronique ou mot de passe incorrect.")
    response = RedirectResponse(target, status_code=303)
    session.start(request, response, user)
    return response


@router.post("/deconnexion")
def signout(request: Request, csrf: str = Form("")) -> Response:
    user = session.current_user(request)
    response = RedirectResponse("/connexion?sortie=1", status_code=303)
    if user is not None:
        session.check_csrf(user, csrf)
        session.end(request, response, user)
    return response
