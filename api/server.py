"""Running the API: one uvicorn process, or several behind one port with connections dealt in turn.

With uvicorn's own ``--workers``, every worker accepts from one shared socket, and the first
event loop to wake takes every pending connection: 32 keep-alive clients connecting at once
often all landed on one worker while the other idled. One ``SO_REUSEPORT`` socket per worker
spreads them by a hash instead, which is random: 20 connections on one worker and 12 on the
other came up in a third of the runs, and the busier worker's queue set the p99 (138 ms against
91 ms for 16/16). So here the supervisor alone accepts, and hands each new connection to the
next worker in turn (``SCM_RIGHTS`` over a Unix socket pair); the worker's uvicorn serves it as
its own. The port listens only once every worker has loaded its index.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import select
import signal
import socket
import time
from typing import Any

import uvicorn

from api.main import create_app
from api.protocol import guarded_http
from matcher.settings import Settings

log = logging.getLogger(__name__)
BACKLOG = 2048
STOP_TIMEOUT_S = 30.0
READY = b"r"


def run(settings: Settings, host: str, port: int, *, workers: int = 1, log_level: str = "info") -> None:
    """Serve until interrupted (SIGINT/SIGTERM); every worker builds the app from ``settings``."""
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False,
                    http=guarded_http(settings.header_timeout_seconds, settings.body_timeout_seconds))
        return
    Supervisor(settings, host, port, workers, log_level).run()


# Imported once by the fork server, before any worker exists: every worker forked from it shares
# these libraries' memory (and the sector inferer's tables) copy-on-write instead of importing
# its own copy (~150 MB a worker); the index itself is a memory-mapped snapshot, shared anyway.
PRELOAD = ["api.preload"]


def worker_context() -> Any:
    """The multiprocessing context API workers start from: a fork server holding ``PRELOAD``
    (safe: it runs no thread and opens no connection), else spawn where fork is unavailable."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def check_free(host: str, port: int) -> None:
    """Raise OSError when the port cannot be bound (in use, or not an address of this host)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class HandedServer(uvicorn.Server):
    """A uvicorn server that listens on nothing and serves the connections its supervisor hands
    it over ``channel``."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the lifespan (index, ranker), no listening socket
        if self.should_exit:
            return
        loop = asyncio.get_running_loop()
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop)
        self.channel.sendall(READY)

    def _protocol(self, loop: asyncio.AbstractEventLoop) -> asyncio.Protocol:
        return self.config.http_protocol_class(config=self.config, server_state=self.server_state,
                                               app_state=self.lifespan.state, _loop=loop)

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(self.channel, 64, 64)
        except (BlockingIOError, InterruptedError):
            return
        if not msg:  # the supervisor is gone: finish what is running, then stop
            loop.remove_reader(self.channel.fileno())
            self.should_exit = True
            return
        for fd in fds:
            conn = socket.socket(fileno=fd)
            loop.create_task(loop.connect_accepted_socket(lambda: self._protocol(loop), conn))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with contextlib.suppress(ValueError, OSError):  # the channel may already be closed
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets)


def _worker(channel: socket.socket, settings: Settings, log_level: str) -> None:
    config = uvicorn.Config(create_app(settings), log_level=log_level, access_log=False,
                            http=guarded_http(settings.header_timeout_seconds, settings.body_timeout_seconds))
    HandedServer(config, channel).run()


class _Worker:
    def __init__(self, ctx: Any, i: int, settings: Settings, log_level: str) -> None:
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = ctx.Process(target=_worker, args=(theirs, settings, log_level), name=f"reprise-api-{i}")
        self.proc.start()
        theirs.close()
        self.ready = False

    def poll_ready(self) -> None:
        if not self.ready and select.select([self.channel], [], [], 0)[0]:
            self.ready = self.channel.recv(1) == READY

    def hand(self, conn: socket.socket) -> bool:
        try:
            socket.send_fds(self.channel, [b"c"], [conn.fileno()])
            return True
        except OSError:  # the worker died: the connection goes to the next one
            self.ready = False
            return False

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
        self.channel.close()


class Supervisor:
    """Starts the workers, deals them the connections in turn, restarts one that dies, and stops
    them all on SIGINT/SIGTERM."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
        self.settings, self.host, self.port, self.n, self.log_level = settings, host, port, workers, log_level
        self.ctx = worker_context()
        self.workers: list[_Worker] = []
        self.stopping = False

    def _stop(self, signum, _frame) -> None:
        self.stopping = True

    def _tend(self) -> None:
        for i, w in enumerate(self.workers):
            if not w.proc.is_alive() and not self.stopping:
                log.warning("API worker %s exited with code %s; starting another", w.proc.name, w.proc.exitcode)
                w.channel.close()
                self.workers[i] = _Worker(self.ctx, i, self.settings, self.log_level)
            else:
                w.poll_ready()

    def run(self) -> None:
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        listener = socket.socket(_family(self.host), socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))  # the port is ours from now on
            self.workers = [_Worker(self.ctx, i, self.settings, self.log_level) for i in range(self.n)]
            while not self.stopping and not all(w.ready for w in self.workers):
                self._tend()
                time.sleep(0.05)
            listener.listen(BACKLOG)
            listener.settimeout(0.5)
            turn, tended = 0, time.monotonic()
            while not self.stopping:
                if time.monotonic() - tended > 0.5:  # under load too: restart a worker that died
                    self._tend()
                    tended = time.monotonic()
                try:
                    conn, _addr = listener.accept()
                except (TimeoutError, InterruptedError):
                    continue
                with conn:
                    for step in range(self.n):
                        w = self.workers[(turn + step) % self.n]
                        if w.ready and w.hand(conn):
                            turn = (turn + step + 1) % self.n
                            break
                    else:  # no worker could take it: the client sees the connection close
                        self._tend()
        finally:
            listener.close()
            for w in self.workers:
                w.stop()
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for w in self.workers:
                w.proc.join(max(0.0, deadline - time.monotonic()))
                if w.proc.is_alive():
                    w.proc.kill()
                    w.proc.join()
            for s, handler in previous.items():
                signal.signal(s, handler)
