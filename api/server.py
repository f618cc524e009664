"""Running the API: one uvicorn process, or several sharing the port through ``SO_REUSEPORT``.

With uvicorn's own ``--workers``, every worker accepts from one shared socket, and the first
event loop to wake takes every pending connection: 32 keep-alive clients connecting at once
often all land on one worker while the other idles (measured: half the runs served at one
core's rate). Here each worker process binds its own socket to the same port with
``SO_REUSEPORT``, so the kernel spreads new connections across the workers, and a worker only
receives connections once its index is loaded and it listens.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import socket
import time

import uvicorn

log = logging.getLogger(__name__)
APP = "api.main:create_app"
BACKLOG = 2048
STOP_TIMEOUT_S = 30.0


def run(host: str, port: int, *, workers: int = 1, log_level: str = "info") -> None:
    """Serve until interrupted (SIGINT/SIGTERM); the app reads its settings from the environment."""
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level,
                    access_log=False)
        return
    Supervisor(host, port, workers, log_level).run()


def check_free(host: str, port: int) -> None:
    """Raise OSError when anything listens on the port already: sockets with ``SO_REUSEPORT``
    would otherwise share it silently with another server."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, port))


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bound(host: str, port: int) -> socket.socket:
    """A socket bound to the shared port, not yet listening: the event loop starts listening
    once the app's lifespan has loaded the index, so the kernel never hands a connection to a
    worker still building it."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, log_level: str) -> None:
    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=False, backlog=BACKLOG)
    uvicorn.Server(config).run(sockets=[_bound(host, port)])


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all on SIGINT/SIGTERM."""

    def __init__(self, host: str, port: int, workers: int, log_level: str) -> None:
        self.host, self.port, self.workers, self.log_level = host, port, workers, log_level
        self.ctx = mp.get_context("spawn")
        self.procs: list[mp.Process] = []
        self.stopping = False

    def _start(self, i: int):
        p = self.ctx.Process(target=_worker, args=(self.host, self.port, self.log_level),
                             name=f"reprise-api-{i}")
        p.start()
        return p

    def _stop(self, signum, _frame) -> None:
        self.stopping = True
        for p in self.procs:
            if p.is_alive():
                p.terminate()  # uvicorn shuts down gracefully on SIGTERM

    def run(self) -> None:
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.procs = [self._start(i) for i in range(self.workers)]
            while not self.stopping:
                for i, p in enumerate(self.procs):
                    if not p.is_alive() and not self.stopping:
                        log.warning("API worker %s exited with code %s; starting another", p.name, p.exitcode)
                        self.procs[i] = self._start(i)
                time.sleep(0.5)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for p in self.procs:
                p.join(max(0.0, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
