"""`reprise serve` runs a real uvicorn on 127.0.0.1 that answers keyed requests (bounded in time)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest

from api.security import create_key
from matcher import store
from matcher.imports import import_frame

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
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "--db", sqlite_url, "serve", "--port", str(port),
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
