"""HTTP hygiene around the routes: ``HEAD`` answered wherever ``GET`` is, ``OPTIONS`` answered
with the methods a path allows, a complete ``Allow`` header on every 405, and
``Cache-Control: no-store`` on every answer (they carry cases, some confidential)."""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBED = ("GET", "POST", "PUT", "DELETE", "PATCH")


def allowed_methods(scope: Scope) -> set[str]:
    """Every method some route accepts on this path (HEAD with GET, OPTIONS always); empty when
    no route has this path."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", [])
    methods = {m for m in PROBED
               if any(route.matches({**scope, "method": m})[0] == Match.FULL for route in routes)}
    if "GET" in methods:
        methods.add("HEAD")
    return methods | {"OPTIONS"} if methods else set()


class HttpHygiene:
    """ASGI middleware; see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method = scope["method"]
        if method == "OPTIONS":
            allowed = allowed_methods(scope)
            if allowed:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", ", ".join(sorted(allowed)).encode()),
                                        (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b""})
                return None
        head = method == "HEAD" and "GET" in allowed_methods(scope)
        inner = {**scope, "method": "GET"} if head else scope

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", b"no-store"))
                if message["status"] == 405:
                    headers = [(k, v) for k, v in headers if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(sorted(allowed_methods(scope))).encode()))
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        return await self.app(inner, receive, guarded)
