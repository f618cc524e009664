"""RFC 9457 problem details for every error, the request body limit, and the OpenAPI touch-up.

Every 4xx answers ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``
and, for invalid input, ``errors``: one entry per field with the value received.
"""

from __future__ import annotations

import json
import logging
import math
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.contract.identifiers import DEPARTEMENTS
from matcher.contract.specs import OPTION_KINDS
from matcher.errors import RepriseError
from matcher.reference.naf import naf_prefixes
from matcher.store.audit_log import ACTIONS
from matcher.store.connection import unavailable

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://reprise.invalid/problems/"


class Problem(Exception):
    """An error answered as problem+json; ``errors`` lists the fields at fault."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, type_: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers
        self.type_ = type_


def field_error(field: str, value: Any, message: str) -> dict[str, Any]:
    return {"field": field, "value": _safe(value), "message": message}


def invalid(field: str, value: Any, message: str) -> Problem:
    """A 422 naming one field, its value and what is accepted."""
    return Problem(422, message, errors=[field_error(field, value, message)])


def problem_response(status: int, detail: str, *, instance: str | None = None,
                     errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                     type_: str | None = None) -> JSONResponse:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {"type": TYPE_BASE + (type_ or title.lower().replace(" ", "-")),
                            "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _safe(value: Any) -> Any:
    """A JSON-safe, short echo of a received value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "…"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


_UNION_TAG = re.compile(r"(str|int|float|bool|list\[.*\]|dict\[.*\]|union\[.*\]|function-.*)")


def _field(loc: tuple) -> str:
    """``("body", 0, "siren")`` -> ``[0].siren``; ``("query", "top")`` -> ``top``."""
    parts = [p for p in loc[1:] if not (isinstance(p, str) and _UNION_TAG.fullmatch(p))] if len(loc) > 1 else []
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return text or "body"


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errs = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errs):
        e = next(e for e in errs if e.get("type") == "json_invalid")
        pos = e["loc"][1] if len(e["loc"]) > 1 else "?"
        msg = f"body is not valid JSON (error at character {pos}: {e.get('ctx', {}).get('error', e['msg'])})"
        return problem_response(400, msg, instance=request.url.path, type_="malformed-json",
                                errors=[field_error("body", None, msg)])
    by_field: dict[str, list[dict]] = {}
    for e in errs:  # a union type gives one error per member: merge them per field
        by_field.setdefault(_field(tuple(e.get("loc", ()))), []).append(e)
    fields = []
    for name, group in by_field.items():
        msgs = list(dict.fromkeys(str(e.get("msg", "")) for e in group))
        text = msgs[0] if len(msgs) == 1 else "Input should be " + " or ".join(
            m.removeprefix("Input should be ") for m in msgs)
        value = None if group[0].get("type") == "missing" else group[0].get("input")
        fields.append(field_error(name, value, f"{name}: {text}"))
    detail = "; ".join(f["message"] + ("" if f["value"] is None else f" (got {f['value']!r})") for f in fields)
    return problem_response(422, detail, instance=request.url.path, errors=fields, type_="invalid-input")


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc.status, exc.detail, instance=request.url.path, errors=exc.errors,
                            headers=exc.headers, type_=exc.type_)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such path: {request.url.path}"
    return problem_response(exc.status_code, detail, instance=request.url.path,
                            headers=getattr(exc, "headers", None))


async def _on_reprise(request: Request, exc: RepriseError) -> JSONResponse:
    """A user's error raised anywhere in matcher: its class's status, the field and value it names."""
    errors = [field_error(exc.field, exc.value, str(exc))] if exc.field else None
    return problem_response(exc.status, str(exc), instance=request.url.path, errors=errors,
                            type_=type(exc).__name__.lower())


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    known = unavailable(exc)
    if known is not None:
        log.warning("store unavailable on %s %s: %s", request.method, request.url.path, known)
        return problem_response(503, str(known), instance=request.url.path, type_="store-unavailable")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal error; the server log has the details", instance=request.url.path)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RepriseError, _on_reprise)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_error)


class _TooLarge(HTTPException):
    """Raised while the body streams in; FastAPI lets an HTTPException through body parsing."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class RequestGuard:
    """ASGI middleware: 413 above ``max_body_bytes`` (declared or streamed), 400 on NUL in the URL."""

    def __init__(self, app, max_body_bytes: int) -> None:
        self.app, self.max = app, max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        url = unquote(raw.decode("latin-1")) + unquote(scope.get("query_string", b"").decode("latin-1"))
        if "\x00" in url:
            return await self._answer(scope, receive, send, 400, "the URL contains a NUL character")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await self._answer(scope, receive, send, 400, f"Content-Length {length!r} is not a number")
            if int(length) > self.max:
                return await self._answer(scope, receive, send, 413, self._too_large(int(length)))
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max:
                    raise _TooLarge(self._too_large(seen))
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge as exc:
            if not started:
                await problem_response(413, exc.detail, instance=scope.get("path"))(scope, receive, send)

    def _too_large(self, n: int) -> str:
        return f"request body of {n} bytes is over the limit of {self.max} bytes; split it into smaller requests"

    async def _answer(self, scope, receive, send, status: int, detail: str) -> None:
        await problem_response(status, detail, instance=scope.get("path"))(scope, receive, send)


def problem_openapi(app: FastAPI) -> None:
    """Document every 4xx/5xx response as ``application/problem+json`` with the Problem schema."""
    from fastapi.openapi.utils import get_openapi

    from api.schemas import ProblemDetails

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes, tags=app.openapi_tags)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        doc = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas["ProblemDetails"] = doc
        ref = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
        for ops in spec.get("paths", {}).values():
            for op in ops.values():
                for code, resp in op.get("responses", {}).items():
                    if code[:1] in ("4", "5"):
                        resp["content"] = {PROBLEM_JSON: ref}
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        _state_limits(spec, app.state.settings)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi


SIREN_PATTERN = r"^[ ]*([0-9][ ]*){9}$"  # nine digits, spaces allowed; the Luhn check is stated in words


def _state_limits(spec: dict[str, Any], settings: Any) -> None:
    """The limits the code enforces, stated in the schema: ``top`` and ``limit`` maxima (from the
    settings), the SIREN's shape on every path and query parameter named ``siren``."""
    maxima = {"top": settings.max_top, "limit": settings.max_page_size}
    enums = {"sector": naf_prefixes(), "departement": DEPARTEMENTS, "action": list(ACTIONS)}
    for ops in spec.get("paths", {}).values():
        for op in ops.values():
            for param in op.get("parameters", []):
                schema = param.setdefault("schema", {})
                if param["name"] in maxima:
                    schema.update({"minimum": 1, "maximum": maxima[param["name"]]})
                elif param["name"] == "kinds":
                    words = "|".join(OPTION_KINDS)
                    schema.update({"type": "string", "pattern": rf"^ *({words}) *( *, *({words}) *)*$"})
                    schema.pop("anyOf", None)
                elif param["name"] in enums:
                    schema.update({"type": "string", "enum": enums[param["name"]]})
                    schema.pop("anyOf", None)
                elif param["name"] == "siren":
                    schema.update({"pattern": SIREN_PATTERN, "type": "string"})
                    schema.pop("anyOf", None)
                    param["description"] = ("9 digits, spaces allowed; a SIREN that fails the Luhn check is not "
                                            "stored (404 on reads)")


ERROR_DESCRIPTIONS = {
    400: "malformed request: body not valid JSON, NUL character in the URL",
    401: "missing, unknown or revoked API key",
    403: "this key's role (or poles) may not do this",
    404: "no such record, or one this key may not see",
    409: "a conflict: another key's outcome, the last admin key, a promoted model that could not be loaded",
    413: "request body over the size limit",
    422: "invalid input: each field at fault, the value received and what is accepted",
    503: "not ready: the store is unreachable or the index is not loaded",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses (documented as problem+json)."""
    return {code: {"description": ERROR_DESCRIPTIONS[code]} for code in codes}


API_ERRORS = error_responses(400, 401, 403, 413, 422)
