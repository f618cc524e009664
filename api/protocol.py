"""The HTTP connection: uvicorn's httptools protocol with limits on the time a client may take
to send a request's headers and then its body (a slow client otherwise holds a connection for
ever), and protocol errors answered as problem details like every other error."""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_S = 10.0  # to send a request line and its headers, from the connection or the first byte
BODY_TIMEOUT_S = 30.0  # to send the whole body, from the end of the headers
PROBLEM_JSON = b"application/problem+json"


def problem_bytes(status: int, title: str, detail: str) -> bytes:
    body = json.dumps({"type": f"https://reprise.invalid/problems/{title.lower().replace(' ', '-')}",
                       "title": title, "status": status, "detail": detail}).encode("utf-8")
    head = (f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class GuardedHttp(HttpToolsProtocol):
    """A connection that must deliver each request's headers within ``HEADER_TIMEOUT_S``, then
    its body within ``BODY_TIMEOUT_S`` (both totals: a client dripping bytes gets no more time)."""

    header_timeout_s = HEADER_TIMEOUT_S
    body_timeout_s = BODY_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._disarm_body()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._disarm_body()  # until the message is complete (at once for a request without a body)
        self._body_timer = self.loop.call_later(self.body_timeout_s, self._body_too_slow)

    def on_message_complete(self) -> None:
        self._disarm_body()
        super().on_message_complete()

    def _disarm_body(self) -> None:
        timer = getattr(self, "_body_timer", None)
        if timer is not None:
            timer.cancel()
            self._body_timer = None

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:  # the application waits for the body
            self.transport.write(problem_bytes(408, "Request Timeout", f"the request's body did not arrive "
                                               f"within {self.body_timeout_s:g} s"))
        self.transport.close()  # answered already: only the rest of the body is awaited, in vain

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        self.transport.write(problem_bytes(400, "Bad Request", f"the request is not valid HTTP: {msg}"))
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served: its headers came in time
        if not self.transport.is_closing():
            self.transport.write(problem_bytes(408, "Request Timeout", f"the request's headers did not arrive "
                                               f"within {self.header_timeout_s:g} s"))
            self.transport.close()


def guarded_http(header_timeout_s: float, body_timeout_s: float = BODY_TIMEOUT_S) -> type[GuardedHttp]:
    """The protocol class with these timeouts (uvicorn instantiates the class itself)."""
    return type("GuardedHttp", (GuardedHttp,), {"header_timeout_s": header_timeout_s,
                                                "body_timeout_s": body_timeout_s})
