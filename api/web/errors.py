"""Errors of the web pages answered as French HTML pages; the JSON API keeps its problem details.

The API's exception handlers stay in charge of its own paths (``/v1``, ``/health``, ``/ready``,
the OpenAPI pages); every other path is the web application's.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
API_PATHS = ("/v1/", "/v1", "/health", "/ready", "/docs", "/redoc", "/openapi.json")


class WebError(Exception):
    """An error page: status, title and a sentence saying what to do."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class SignInRequired(Exception):
    """Not signed in: go to the sign-in form, then back to ``target``."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def is_web(path: str) -> bool:
    return not any(path == p or path.startswith(p.rstrip("/") + "/") for p in API_PATHS)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    from api.web.render import page
    return page(request, "error.html", {"title": title, "detail": detail}, status=status)


def install(app: FastAPI) -> None:
    """Web handlers for web paths; the API's handlers, found already installed, for the rest."""
    api = dict(app.exception_handlers)

    async def on_web_error(request: Request, exc: WebError) -> Response:
        return error_page(request, exc.status, exc.title, exc.detail)

    async def on_sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/connexion?suite={quote(exc.target, safe='/')}", status_code=303)

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_web(request.url.path):
            return await api[StarletteHTTPException](request, exc)
        if exc.status_code == 404:
            return error_page(request, 404, "Page introuvable", "Cette adresse ne correspond à aucune page. "
                              "Revenez au tableau de bord.")
        if exc.status_code == 405:
            return error_page(request, 405, "Action impossible", "Cette page ne s'utilise pas ainsi.")
        return error_page(request, exc.status_code, "Erreur", str(exc.detail))

    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        if not is_web(request.url.path):
            return await api[RequestValidationError](request, exc)
        return error_page(request, 400, "Demande invalide", "La demande n'a pas pu être lue. Revenez à la page "
                          "précédente et recommencez.")

    async def on_error(request: Request, exc: Exception) -> Response:
        if not is_web(request.url.path):
            return await api[Exception](request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_page(request, 500, "Erreur interne", "Une erreur inattendue s'est produite ; elle est "
                          "consignée dans le journal du serveur. Réessayez dans un instant.")

    app.add_exception_handler(WebError, on_web_error)
    app.add_exception_handler(SignInRequired, on_sign_in)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(Exception, on_error)
