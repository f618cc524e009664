"""What an attacker or a careful operator tries: bodies that used to break pages, a damaged model,
erasure down to the file, HTTP hygiene, and protocol abuse against a real server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import create_key
from matcher import store
from matcher.cli.main import main
from matcher.contract.imports import import_frame
from matcher.demo import generate
from matcher.learning.registry import Registry
from matcher.settings import Settings
from tests.api.test_api_server import free_port, serving

COMPANY = {"siren": "802649921", "name": "Menuiserie Durand", "naf": "16.23Z", "lat": 47.2184, "lon": -1.5536,
           "headcount": 12, "procedure": "redressement", "pole": "p1"}
POLE = {"pole_id": "p1", "name": "Estuaire", "departements": "44"}


@pytest.fixture
def api(tmp_path):
    url = f"sqlite:///{tmp_path / 'reprise.db'}"
    db = store.connect(url)
    import_frame(db, "poles", pd.DataFrame([POLE]))
    import_frame(db, "companies", pd.DataFrame([COMPANY]))
    keys = {"advisor": create_key(db, role="advisor", poles=["p1"])[1], "admin": create_key(db, role="admin")[1]}
    with TestClient(create_app(Settings(database_url=url, models_dir=tmp_path / "models",
                                        index_poll_seconds=0))) as client:
        def call(method, path, role="advisor", headers=None, **kw):
            return client.request(method, path, headers={"Authorization": f"Bearer {keys[role]}", **(headers or {})},
                                  **kw)
        call.db, call.url, call.path = db, url, tmp_path / "reprise.db"
        yield call
    db.dispose()


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(("body", "field", "words"), [
    ({**COMPANY, "siren": "489032136", "deep": nested(900)}, "body", "nested deeper than 16 levels"),
    ({**COMPANY, "siren": "489032136", "tags": list(range(20_000))}, "body", "at most 10000 are accepted"),
])
def test_bodies_that_used_to_be_stored_then_break_every_page_are_refused(api, body, field, words):
    r = api("POST", "/v1/companies", json=body)
    assert r.status_code == 422 and words in r.text
    assert api("GET", "/v1/companies").status_code == 200
    assert [c["siren"] for c in api("GET", "/v1/companies").json()["items"]] == ["802649921"]


def test_a_lone_surrogate_and_a_huge_number_are_answered_422_on_a_live_connection(api):
    raw = json.dumps({**COMPANY, "name": "a\ud800b"}).encode("ascii")  # json escapes it as \\ud800
    r = api("POST", "/v1/companies", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"
    big = json.dumps({**COMPANY, "headcount": 10**400})
    for path in ("/v1/match", "/v1/companies"):
        r = api("POST", path, content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and "digits" in r.json()["detail"], r.text
    assert api("GET", "/v1/companies/802649921").status_code == 200


def test_answers_are_not_cached_and_methods_are_listed(api):
    r = api("GET", "/v1/companies/802649921/matches")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    r = api("OPTIONS", "/v1/companies/802649921")
    assert r.status_code == 204 and r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    r = api("PATCH", "/v1/companies/802649921")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert r.headers["content-type"] == "application/problem+json"
    head, get = api("HEAD", "/v1/companies/802649921"), api("GET", "/v1/companies/802649921")
    assert head.status_code == get.status_code == 200 and head.content == b""


@pytest.mark.parametrize("path", ["/v1/companies", "/v1/companies/802649921/matches"])
def test_a_misspelt_query_parameter_is_named_not_ignored(api, path):
    r = api("GET", path, params={"departemnt": "35"})
    assert r.status_code == 422 and "'departemnt'" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "departemnt"
    assert api("GET", path, params={"limit" if path == "/v1/companies" else "top": "5"}).status_code == 200


def test_the_store_file_is_readable_by_its_owner_only(api):
    assert stat.S_IMODE(os.stat(api.path).st_mode) == 0o600


def test_erasure_leaves_no_trace_in_the_audit_log_or_the_file(api):
    assert api("GET", "/v1/companies/802649921/matches").status_code == 200
    assert api("DELETE", "/v1/companies/802649921").status_code == 204
    with api.db.connect() as c:
        rows = c.execute(sa.select(store.audit.c.siren, store.audit.c.subject, store.audit.c.action)).all()
    assert rows and all(r.siren is None for r in rows)
    pseudonyms = {r.subject for r in rows if r.action in ("read_matches", "delete_company")}
    assert len(pseudonyms) == 1 and next(iter(pseudonyms)).startswith("erased:")
    api.db.dispose()
    # the store's files and the index snapshot's (a folder beside it)
    data = b"".join(p.read_bytes() for p in api.path.parent.rglob("reprise.db*") if p.is_file())
    data += b"".join(p.read_bytes() for p in api.path.parent.glob("reprise.db.index/**/*") if p.is_file())
    assert b"Menuiserie Durand" not in data and b"802649921" not in data


def test_an_erased_candidate_leaves_the_index_snapshot_files(tmp_path):
    """The snapshot beside the store holds candidates' ids and names: erasing one rewrites it
    and deletes every older generation."""
    url = f"sqlite:///{tmp_path / 'reprise.db'}"
    db = store.connect(url)
    import_frame(db, "poles", pd.DataFrame([POLE]))
    import_frame(db, "companies", pd.DataFrame([COMPANY]))
    import_frame(db, "candidates", pd.DataFrame([
        {"candidate_id": f"R-{i:06d}", "kind": "repreneur", "name": f"Repreneur Zéphyrin-{i}", "lat": 47.2,
         "lon": -1.55} for i in range(30)]))
    admin = create_key(db, role="admin")[1]
    folder = tmp_path / "reprise.db.index"
    settings = Settings(database_url=url, models_dir=tmp_path / "models", index_poll_seconds=0)
    with TestClient(create_app(settings)) as client:
        assert any("Zéphyrin-7".encode() in p.read_bytes() for p in folder.rglob("*.npy"))
        answer = client.request("DELETE", "/v1/candidates/R-000007", headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code == 204
    # the server stopped after the background compaction finished
    data = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert "Zéphyrin-7".encode() not in data and b"R-000007" not in data
    assert "Zéphyrin-8".encode() in data  # the others are still there
    assert len(list(folder.glob("gen-*"))) == 1
    db.dispose()


def test_a_damaged_promoted_model_never_stops_the_server(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    files = generate(tmp_path / "demo", seed=2026)
    db = store.connect(url)
    for kind in ("poles", "companies", "candidates", "outcomes"):
        import_frame(db, kind, pd.read_csv(files[kind], dtype=str, keep_default_na=False))
    models = tmp_path / "models"
    monkeypatch.setenv("REPRISE_MODELS_DIR", str(models))
    assert main(["--db", url, "train", "--promote", "--force", "--max-iter", "20", "--threads", "1"]) == 0
    promoted = Registry(models).promoted_id()
    good = (models / promoted / "model.joblib").read_bytes()
    (models / promoted / "model.joblib").write_bytes(b"not a model")
    admin = create_key(db, role="admin")[1]
    with TestClient(create_app(Settings(database_url=url, models_dir=models, index_poll_seconds=0))) as client:
        ready = client.get("/ready").json()
        assert ready["status"] == "ready" and ready["model_id"] == "transparent"
        assert promoted in ready["model_refused"] and "SHA-256" in ready["model_refused"]
        # the file restored and reloaded: /ready no longer says it is refused
        (models / promoted / "model.joblib").write_bytes(good)
        reload = client.post("/v1/model/reload", headers={"Authorization": f"Bearer {admin}"})
        assert reload.status_code == 200 and reload.json()["model_id"] == promoted
        ready = client.get("/ready").json()
        assert ready["model_id"] == promoted and ready["model_refused"] is None
    db.dispose()
    shutil.rmtree(tmp_path / "demo")


def test_a_slow_or_incomplete_body_is_answered_408(tmp_path, sqlite_url):
    """A body must arrive within REPRISE_BODY_TIMEOUT_SECONDS of its headers: sent in part and then
    nothing, or dripped byte by byte, the request is answered 408 and the connection closed."""
    store.connect(sqlite_url).dispose()
    port = free_port()
    head = b"POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with serving(sqlite_url, tmp_path, port, env={"REPRISE_BODY_TIMEOUT_SECONDS": "1"}) as proc:
        for drip in (False, True):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(head + b"{")
                started = time.monotonic()
                if drip:  # a byte every 0.2 s: never idle, never done in time
                    s.settimeout(0.2)
                    answer = b""
                    while not answer and time.monotonic() - started < 8:
                        with contextlib.suppress(TimeoutError):
                            s.sendall(b" ")
                            answer = s.recv(4096)
                else:
                    answer = s.recv(4096)
                took = time.monotonic() - started
            assert answer.startswith(b"HTTP/1.1 408") and b"application/problem+json" in answer, answer
            assert b"body did not arrive within 1 s" in answer and 0.9 < took < 4
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # a whole body is served as ever
            s.sendall(head.replace(b"100", b"2") + b"{}")
            assert s.recv(4096).startswith(b"HTTP/1.1 401")
        assert proc.poll() is None


def test_protocol_errors_and_slow_headers_are_problem_details(tmp_path, sqlite_url):
    store.connect(sqlite_url).dispose()
    port = free_port()
    with serving(sqlite_url, tmp_path, port, env={"REPRISE_HEADER_TIMEOUT_SECONDS": "1"}) as proc:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GARBAGE \x00\x01 nonsense\r\n\r\n")
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400") and b"application/problem+json" in answer
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
            started = time.monotonic()
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer
        assert time.monotonic() - started < 5
        assert proc.poll() is None
