"""Two `reprise serve` workers on one store: a write, an erasure, a revocation or a model change made through one
worker (or the command line) applies in every worker before its next answer — no poll, no wait.

Every request opens a new connection, and the supervisor deals new connections to the workers in
turn, so each round of reads reaches both workers (checked: two different worker pids answer).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pandas as pd

from api.security import create_key
from matcher import store
from matcher.contract.imports import import_frame
from tests.api.test_api_server import COMPANY, free_port, serving

CANDIDATE = {"candidate_id": "552100554", "kind": "company", "name": "Atelier Bois", "naf": "16.23Z",
             "lat": 47.29, "lon": -1.52, "headcount": 30}
NEWCOMER = {"kind": "company", "name": "Scierie Neuve", "naf": "16.23Z", "lat": 47.25, "lon": -1.55,
            "headcount": 25}
NEW_ID = "443061841"
ROUND = 6  # new connections per round: three to each worker


def call(method: str, url: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def option_ids(base: str, key: str) -> list[set[str]]:
    """The candidates proposed for the company, once per new connection."""
    out = []
    for _ in range(ROUND):
        status, body = call("GET", f"{base}/v1/companies/{COMPANY['siren']}/matches?top=20", key)
        assert status == 200, body
        out.append({o["candidate_id"] for o in body["options"]})
    return out


def test_every_worker_applies_a_change_before_its_next_answer(sqlite_url, tmp_path):
    db = store.connect(sqlite_url)
    import_frame(db, "poles", pd.DataFrame([{"pole_id": "p1", "name": "Estuaire", "departements": "44"}]))
    import_frame(db, "companies", pd.DataFrame([COMPANY]))
    import_frame(db, "candidates", pd.DataFrame([CANDIDATE]))
    advisor = create_key(db, role="advisor", poles=["p1"])
    admin = create_key(db, role="admin")[1]
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(sqlite_url, tmp_path, port, workers=2, env={"REPRISE_INDEX_POLL_SECONDS": "0"}) as proc:
        key = advisor[1]
        assert all(CANDIDATE["candidate_id"] in ids for ids in option_ids(base, key))
        assert len(answering_workers(proc.pid, port)) == 2

        # a candidate written through one worker is proposed by both on their next answer
        status, body = call("PUT", f"{base}/v1/candidates/{NEW_ID}", key, NEWCOMER)
        assert status in (200, 201), body
        assert all(NEW_ID in ids for ids in option_ids(base, key))

        # the same firm entering a procedure: no longer an option anywhere
        company = {**COMPANY, "siren": NEW_ID, "name": "Scierie Neuve", "lat": 47.25, "lon": -1.55,
                   "procedure": "liquidation", "pole": "p1"}
        status, body = call("PUT", f"{base}/v1/companies/{NEW_ID}", key, company)
        assert status in (200, 201), body
        assert not any(NEW_ID in ids for ids in option_ids(base, key))

        # an erasure: gone from every worker's answers at once
        status, body = call("DELETE", f"{base}/v1/candidates/{CANDIDATE['candidate_id']}", key)
        assert status == 204, body
        assert not any(CANDIDATE["candidate_id"] in ids for ids in option_ids(base, key))

        # a revocation from the command line: refused by every worker on the next request
        out = subprocess.run([sys.executable, "-m", "matcher.cli", "--db", sqlite_url, "keys", "revoke",
                              advisor[0]["key_id"]], check=False, capture_output=True, text=True, cwd=tmp_path,
                             env={**os.environ, "REPRISE_MODELS_DIR": str(tmp_path / "models")})
        assert out.returncode == 0, out.stderr
        for _ in range(ROUND):
            status, _ = call("GET", f"{base}/v1/companies/{COMPANY['siren']}/matches", key)
            assert status == 401
            assert call("GET", f"{base}/v1/companies/{COMPANY['siren']}", admin)[0] == 200


def answering_workers(supervisor: int, port: int) -> set[int]:
    """The worker pids holding a connection to the port, observed over a round of kept-alive
    connections (each new connection goes to the next worker)."""
    import http.client

    from tests.api.test_api_server import ESTABLISHED, tcp_sockets

    clients = []
    try:
        for _ in range(4):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/health")
            c.getresponse().read()
            clients.append(c)
        return set(tcp_sockets(port, ESTABLISHED)) - {os.getpid(), supervisor}
    finally:
        for c in clients:
            c.close()


def test_every_worker_follows_a_model_promotion_and_rollback_before_its_next_answer(tmp_path, monkeypatch):
    """A model promoted or rolled back from the command line (no reload request) is the model of
    every worker's next answer."""
    from matcher.cli import main
    from matcher.contract.imports import import_file
    from matcher.demo.build import generate
    from matcher.store.records import company_rows

    url, models = f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "models"
    db = store.connect(url)
    for kind, path in generate(tmp_path / "demo", seed=2026).items():
        import_file(db, kind, path, rejects_path=tmp_path / f"{kind}.rejects.csv")
    admin = create_key(db, role="admin")[1]
    siren = next(r["siren"] for r in company_rows(db) if not r["confidential"])
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def models_answering() -> set[str]:
        served = set()
        for _ in range(ROUND):
            status, body = call("GET", f"{base}/v1/companies/{siren}/matches?top=5", admin)
            assert status == 200, body
            served.add(body["model"])
        return served

    monkeypatch.setenv("REPRISE_MODELS_DIR", str(models))
    cli = lambda *args: main(["--db", url, *args])
    with serving(url, tmp_path, port, workers=2, env={"REPRISE_INDEX_POLL_SECONDS": "0"}):
        assert models_answering() == {"transparent"}
        assert cli("train", "--promote", "--threads", "1", "--max-iter", "30", "--learning-rate", "0.2") == 0
        model_id = json.loads((models / "registry.json").read_text())["promoted"][-1]
        assert models_answering() == {model_id}
        assert cli("models", "rollback") == 0
        assert models_answering() == {"transparent"}
