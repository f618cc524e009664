"""`reprise serve` runs a real uvicorn on 127.0.0.1 that answers keyed requests (bounded in time)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest

from api.security import create_key
from matcher import store
from matcher.contract.imports import import_frame

COMPANY = {"siren": "802649921", "name": "Menuiserie Durand", "naf": "16.23Z", "lat": 47.2184,
           "lon": -1.5536, "headcount": 12, "procedure": "redressement"}
CANDIDATE = {"candidate_id": "552100554", "kind": "company", "name": "Atelier Bois", "naf": "16.23Z",
             "lat": 47.29, "lon": -1.52, "headcount": 30}
STARTUP_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, key: str | None = None) -> tuple[int, dict, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read()), r.headers["content-type"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers["content-type"]


@pytest.mark.parametrize("workers", [2])
def test_serve_answers_over_http(sqlite_url, tmp_path, workers):
    db = store.connect(sqlite_url)
    import_frame(db, "companies", pd.DataFrame([COMPANY]))
    import_frame(db, "candidates", pd.DataFrame([CANDIDATE]))
    key = create_key(db, role="analyst")[1]
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "REPRISE_MODELS_DIR": str(tmp_path / "models")}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli.main", "--db", sqlite_url, "serve", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if get(f"{base}/ready")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"server not ready within {STARTUP_S} s"
            time.sleep(0.2)
        for _ in range(2 * workers):  # reach every worker
            status, body, ctype = get(f"{base}/v1/companies/802649921/matches?top=5", key)
            assert status == 200 and ctype == "application/json", (body, stop(proc))
            assert [o["candidate_id"] for o in body["options"]] == ["employees:802649921", "552100554"]
        status, body, ctype = get(f"{base}/v1/companies/802649921/matches")
        assert status == 401 and ctype == "application/problem+json"
        assert get(f"{base}/health") == (200, {"status": "ok"}, "application/json")
    finally:
        stop(proc)


@contextlib.contextmanager
def serving(url: str, tmp_path, port: int, *, workers: int = 1, env: dict[str, str] | None = None
            ) -> Iterator[subprocess.Popen]:
    """`reprise serve` on ``port``, ready (its /ready answers 200); stopped afterwards."""
    environ = {**os.environ, "REPRISE_MODELS_DIR": str(tmp_path / "models"), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "--db", url, "serve", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], env=environ, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if get(f"http://127.0.0.1:{port}/ready")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"server not ready within {STARTUP_S} s"
            time.sleep(0.2)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> str:
    """Stop the server; its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read() if not proc.stdout.closed else ""


def test_serve_refuses_a_port_in_use(sqlite_url, tmp_path):
    store.connect(sqlite_url).dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "matcher.cli.main", "--db", sqlite_url, "serve", "--port", str(port),
                              "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                             check=False, env={**os.environ, "REPRISE_MODELS_DIR": str(tmp_path / "models")})
    assert out.returncode == 2, out
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


def test_connections_are_dealt_to_the_workers_in_turn_and_all_stop_together(sqlite_url, tmp_path):
    """The supervisor alone listens, and hands new connections to the workers in turn: 4 kept-alive
    connections end up 2 and 2. An interrupt stops the supervisor and every worker."""
    import http.client

    db = store.connect(sqlite_url)
    import_frame(db, "candidates", pd.DataFrame([CANDIDATE]))
    db.dispose()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli.main", "--db", sqlite_url, "serve", "--port", str(port),
                             "--workers", "2", "--log-level", "warning"], cwd=tmp_path, text=True,
                            env={**os.environ, "REPRISE_MODELS_DIR": str(tmp_path / "models")},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    clients = []
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:  # the port listens once both workers have loaded the index
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, f"not listening within {STARTUP_S} s"
            try:
                if get(f"http://127.0.0.1:{port}/ready")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert tcp_sockets(port, LISTEN) == {proc.pid: 1}  # the supervisor alone listens
        for _ in range(4):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/health")
            assert c.getresponse().read() == b'{"status":"ok"}'
            clients.append(c)  # kept alive: it stays with the worker it was handed to
        held = tcp_sockets(port, ESTABLISHED)
        workers = held.keys() - {os.getpid()}
        assert len(workers) == 2 and proc.pid not in workers, held
        assert sorted(held[w] for w in workers) == [2, 2], held
        assert set(worker_pids(proc.pid)) == workers
        os.kill(min(workers), signal.SIGKILL)  # a worker dies: the supervisor starts another
        while len(set(worker_pids(proc.pid)) - workers) < 1:
            assert time.monotonic() < deadline + STARTUP_S, "no worker replaced the one that died"
            time.sleep(0.2)
        workers |= set(worker_pids(proc.pid))
        for _ in range(4):  # new connections keep being answered while it loads, and after
            assert get(f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        for c in clients:
            c.close()
        stop(proc)
    assert proc.returncode is not None
    assert not any(pid_alive(p) for p in workers), "a worker outlived the supervisor"


LISTEN, ESTABLISHED = "0A", "01"


def worker_pids(parent: int) -> list[int]:
    """The supervisor's worker processes: forked by its fork server (a child running
    ``forkserver``), or spawned children running ``spawn_main`` where there is no fork server."""
    procs = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                procs[int(pid)] = (ppid, fh.read())
        except OSError:
            continue
    servers = {pid for pid, (ppid, cmd) in procs.items() if ppid == parent and b"forkserver" in cmd}
    return [pid for pid, (ppid, cmd) in procs.items()
            if (ppid == parent and b"spawn_main" in cmd) or ppid in servers]


def tcp_sockets(port: int, state: str) -> dict[int, int]:
    """pid -> how many of its TCP sockets on the local port are in ``state`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as fh:
            for line in list(fh)[1:]:
                f = line.split()
                if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == state:
                    inodes.add(f[9])
    held: dict[int, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                held[int(pid)] = held.get(int(pid), 0) + 1
    return held


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


def _trained_before_the_fork(queue) -> None:
    from matcher.reference.sector_model import default_model
    queue.put(default_model.cache_info().currsize)


def test_workers_find_the_sector_model_trained_by_the_fork_server():
    """The fork server trains the sector inferer's model once (``api.preload``): a worker forked
    from it holds it already, shared copy-on-write, instead of training its own (~20 MB each)."""
    from api.server import worker_context
    ctx = worker_context()
    if ctx.get_start_method() != "forkserver":
        pytest.skip("no fork server on this platform: each worker is spawned and trains its own")
    queue = ctx.Queue()
    worker = ctx.Process(target=_trained_before_the_fork, args=(queue,))
    worker.start()
    try:
        assert queue.get(timeout=STARTUP_S) == 1
    finally:
        worker.join(STARTUP_S)
