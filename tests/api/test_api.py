"""The advisor API's behaviour through HTTP (FastAPI TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import create_key
from matcher import store
from matcher.cli.main import main
from matcher.contract.imports import import_frame
from matcher.settings import Settings
from matcher.store.records import company_rows

COMPANY = {"siren": "802649921", "name": "Menuiserie Durand", "naf": "16.23Z", "lat": 47.2184,
           "lon": -1.5536, "headcount": 12, "procedure": "redressement", "pole": "p1", "departement_note": "x"}
CANDIDATE = {"candidate_id": "552100554", "kind": "company", "name": "Atelier Bois", "naf": "16.23Z",
             "lat": 47.29, "lon": -1.52, "headcount": 30, "pole": ["p1"]}
OTHER = {"candidate_id": "732829320", "kind": "cooperative", "name": "SCOP Charpente", "naf": "43.91A",
         "lat": 47.25, "lon": -1.60, "headcount": 8, "legal_form": "5458"}


class Api:
    def __init__(self, client: TestClient, db, keys: dict[str, str]) -> None:
        self.client, self.db, self.keys = client, db, keys

    def __call__(self, method: str, path: str, role: str | None = "advisor", **kw):
        headers = kw.pop("headers", {})
        if role:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return self.client.request(method, path, headers=headers, **kw)


def start(db_url: str, tmp_path, **settings) -> tuple[TestClient, object, dict[str, str]]:
    db = store.connect(db_url)
    import_frame(db, "poles", pd.DataFrame([{"pole_id": "p1", "name": "Estuaire", "departements": "44"},
                                            {"pole_id": "p2", "name": "Vendée", "departements": "85"}]))
    keys = {"advisor": create_key(db, role="advisor", poles=["p1"])[1],
            "analyst": create_key(db, role="analyst")[1], "admin": create_key(db, role="admin")[1]}
    options = {"index_poll_seconds": 0, **settings}
    app = create_app(Settings(database_url=db_url, models_dir=tmp_path / "models", **options))
    return TestClient(app), db, keys


@pytest.fixture
def api(db_url, tmp_path):
    client, db, keys = start(db_url, tmp_path)
    with client:
        yield Api(client, db, keys)
    db.dispose()


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_company_create_update_get_delete(api):
    r = api("POST", "/v1/companies", json=COMPANY)
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "api" and r.json()["extra"] == {"departement_note": "x"}
    r = api("POST", "/v1/companies", json={**COMPANY, "name": "Menuiserie Durand SAS"})
    assert r.status_code == 200
    got = api("GET", "/v1/companies/802 649 921").json()
    assert got["name"] == "Menuiserie Durand SAS" and got["procedure"] == "redressement"
    body = problem(api("PUT", "/v1/companies/802649921", json={**COMPANY, "siren": "552100554"}), 422)
    assert body["errors"][0]["field"] == "siren"
    r = api("PUT", "/v1/companies/802649921", json={k: v for k, v in COMPANY.items() if k != "siren"})
    assert r.status_code == 200 and r.json()["siren"] == "802649921"
    assert api("DELETE", "/v1/companies/802649921").status_code == 204
    assert "802649921" in problem(api("GET", "/v1/companies/802649921"), 404)["detail"]
    problem(api("DELETE", "/v1/companies/802649921"), 404)


def test_delete_erases_outcomes_and_stored_matches(api):
    api("POST", "/v1/companies", json=COMPANY)
    api("POST", "/v1/candidates", json=CANDIDATE)
    for cid in ("552100554", "employees:802649921"):
        r = api("POST", "/v1/outcomes", json={"siren": "802649921", "candidate_id": cid, "outcome": "contacted"})
        assert r.status_code == 201, r.text
    store.upsert(api.db, store.matches, [{"siren": "802649921", "rank": 1, "candidate_id": "552100554",
                                          "score": 0.5}])
    store.upsert(api.db, store.signals, [{"record_id": "A1", "siren": "802649921", "name": "DURAND Jean",
                                          "category": "opening_receivership", "actionable": True}])
    assert api("DELETE", "/v1/candidates/552100554").status_code == 204
    assert [o["candidate_id"] for o in store.fetch(api.db, store.outcomes)] == ["employees:802649921"]
    assert store.fetch(api.db, store.matches) == []
    assert api("DELETE", "/v1/companies/802649921").status_code == 204
    assert store.fetch(api.db, store.outcomes) == [] and store.fetch(api.db, store.companies) == []
    assert store.fetch(api.db, store.signals) == []  # announcements naming the firm's owner go too
    problem(api("GET", "/v1/candidates/552100554"), 404)


def test_bulk_gives_the_file_import_messages(api, tmp_path):
    records = [COMPANY, {**COMPANY, "siren": "802649922"}, {**COMPANY, "siren": "552100554", "naf": "99.99Z"},
               {**COMPANY, "siren": "732829320", "lat": None, "lon": None},
               {**COMPANY, "siren": "412345670", "procedure": "faillite", "headcount": -3},
               {**COMPANY, "name": "Menuiserie Durand (corrigé)"}]
    r = api("POST", "/v1/companies/bulk", json=records)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["read"], report["stored"], report["new"], report["rejected"]) == (6, 1, 1, 5)
    path = tmp_path / "companies.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    other = f"sqlite:///{tmp_path / 'file.db'}"
    assert main(["--db", other, "import", "companies", str(path), "--rejects", str(tmp_path / "rej.csv")]) == 0
    from_file = pd.read_csv(tmp_path / "rej.csv")
    assert [x["reason"] for x in report["rejects"]] == from_file["reason"].tolist()
    assert [x["index"] for x in report["rejects"]] == (from_file["line"] - 1).tolist()
    assert "superseded by line 6" in report["rejects"][0]["reason"]
    assert api("GET", "/v1/companies/802649921").json()["name"] == "Menuiserie Durand (corrigé)"


def test_single_write_errors_name_field_and_value(api):
    body = problem(api("POST", "/v1/companies", json={**COMPANY, "naf": "99.99Z"}), 422)
    assert body["errors"] == [{"field": "naf", "value": "99.99Z", "message":
                               "naf 99.99Z is not a NAF rév. 2 sub-class (expected e.g. 43.32A or 4332A)"}]
    body = problem(api("POST", "/v1/candidates", json={**CANDIDATE, "kind": "bank"}), 422)
    assert body["errors"][0]["field"] == "kind" and "bank" in body["detail"]
    body = problem(api("POST", "/v1/companies", json={**COMPANY, "headcount": [1, 2]}), 422)
    assert body["errors"][0]["field"] == "headcount" and len(body["errors"]) == 1
    assert store.fetch(api.db, store.companies) == []


def test_writes_are_in_the_index_before_the_answer(api):
    api("POST", "/v1/companies", json=COMPANY)
    ids = lambda: [o["candidate_id"] for o in api("GET", "/v1/companies/802649921/matches").json()["options"]]
    assert ids() == ["employees:802649921"]
    assert api("POST", "/v1/candidates/bulk", json=[CANDIDATE, OTHER]).json()["stored"] == 2
    assert set(ids()) == {"employees:802649921", "552100554", "732829320"}
    r = api("PUT", "/v1/candidates/552100554", json={**CANDIDATE, "lat": 43.3, "lon": 5.4})  # Marseille
    assert r.status_code == 200
    assert "552100554" not in ids()
    api("DELETE", "/v1/candidates/732829320")
    assert ids() == ["employees:802649921"]
    api("PUT", "/v1/companies/802649921", json={**COMPANY, "headcount": 0})  # a new row: not the cached answer
    assert ids() == []


def test_company_that_is_a_candidate_is_excluded_once_in_difficulty(api):
    api("POST", "/v1/companies", json=COMPANY)
    api("POST", "/v1/candidates/bulk", json=[CANDIDATE])
    assert "552100554" in [o["candidate_id"] for o in api("GET", "/v1/companies/802649921/matches").json()["options"]]
    api("POST", "/v1/companies", json={**COMPANY, "siren": "552100554", "name": "Atelier Bois", "lat": 47.29})
    r = api("GET", "/v1/companies/802649921/matches").json()
    assert "552100554" not in [o["candidate_id"] for o in r["options"]]
    assert r["excluded_counts"]["in_difficulty"] == 1


def test_matches_layout_parameters_and_audit(api):
    api("POST", "/v1/companies", json=COMPANY)
    api("POST", "/v1/candidates/bulk", json=[CANDIDATE, OTHER])
    r = api("GET", "/v1/companies/802649921/matches", params={"top": 2, "explain_exclusions": "true"})
    body = r.json()
    assert body["siren"] == "802649921" and body["model"] == "transparent" and len(body["options"]) == 2
    for rank, option in enumerate(body["options"], start=1):
        assert list(option) == ["siren", "rank", "candidate_id", "kind", "name", "score", "distance_km", "trade_link", "explanation"]
        assert option["rank"] == rank and 0 <= option["score"] <= 1
        assert abs(sum(v for v in option["explanation"].values() if isinstance(v, float)) - option["score"]) < 1e-3
    assert body["exclusions_total"] == len(body["exclusions"])
    r = api("GET", "/v1/companies/802649921/matches", params={"kinds": "cooperative"}, role="analyst")
    assert [o["kind"] for o in r.json()["options"]] == ["cooperative"]
    assert problem(api("GET", "/v1/companies/802649921/matches", params={"kinds": "bank"}), 422)["errors"][0]["field"] == "kinds"
    for top in (0, 101, "ten", "2.5", ""):
        err = problem(api("GET", "/v1/companies/802649921/matches", params={"top": top}), 422)["errors"][0]
        assert err["field"] == "top" and err["value"] in (top, str(top)), err
    problem(api("GET", "/v1/companies/552100554/matches"), 404)
    again = api("GET", "/v1/companies/802649921/matches", params={"top": 2, "explain_exclusions": "true"})
    assert again.json() == body  # served from the cache, and audited all the same
    audit = api("GET", "/v1/audit", role="admin", params={"action": "read_matches"}).json()["items"]
    assert [(a["siren"], a["action"]) for a in audit] == [("802649921", "read_matches")] * 3
    assert len({a["key_id"] for a in audit}) == 2
    err = problem(api("GET", "/v1/companies/802649921/matches", params={"explain_exclusions": "maybe"}), 422)
    assert err["errors"][0]["field"] == "explain_exclusions" and "maybe" in err["detail"]
    for flag, listed in (("YES", True), ("0", False), ("off", False)):
        answer = api("GET", "/v1/companies/802649921/matches", params={"explain_exclusions": flag}).json()
        assert ("exclusions" in answer) is listed


def test_match_a_profile_that_is_not_stored(api):
    api("POST", "/v1/candidates", json=CANDIDATE)
    r = api("POST", "/v1/match", params={"top": 3}, json={**COMPANY, "naf": None, "activity": "menuiserie bois"})
    assert r.status_code == 200, r.text
    assert "552100554" in [o["candidate_id"] for o in r.json()["options"]]
    assert store.fetch(api.db, store.companies) == []
    assert problem(api("POST", "/v1/match", json={**COMPANY, "siren": "12"}), 422)["errors"][0]["field"] == "siren"


def test_outcomes_need_a_stored_company_and_candidate(api):
    api("POST", "/v1/companies", json=COMPANY)
    api("POST", "/v1/candidates", json=CANDIDATE)
    r = api("POST", "/v1/outcomes", role="analyst",
            json={"siren": "802649921", "candidate_id": "552100554", "outcome": "offer", "date": "2026-11-20"})
    assert r.status_code == 201 and r.json()["advisor"].startswith("key:")
    body = problem(api("POST", "/v1/outcomes", json={"siren": "802649921", "candidate_id": "732829320",
                                                     "outcome": "offer"}), 422)
    assert body["detail"] == "candidate_id 732829320 is not a stored candidate; import it first"
    body = problem(api("POST", "/v1/outcomes", json={"siren": "412345670", "candidate_id": "552100554",
                                                     "outcome": "won"}), 422)
    assert "outcome won is not one of" in body["detail"] and "siren 412345670 is not a stored company" in body["detail"]
    problem(api("POST", "/v1/outcomes", role="admin", json={"siren": "802649921", "candidate_id": "552100554",
                                                            "outcome": "offer"}), 403)
    assert problem(api("POST", "/v1/outcomes", json={}), 422)["errors"]


def test_outcome_refusals_are_worded_as_the_file_import(api, tmp_path):
    api("POST", "/v1/companies", json=COMPANY)
    api("POST", "/v1/candidates", json=CANDIDATE)
    rows = [{"siren": "802649921", "candidate_id": "732829320", "outcome": "offer"},
            {"siren": "412345670", "candidate_id": "552100554", "outcome": "won"},
            {"siren": "802649921", "candidate_id": "employees:552100554", "outcome": "takeover"},
            {"siren": "80264992", "candidate_id": "employees:80264992", "outcome": "offer", "date": "2026-13-01"}]
    api_reasons = [api("POST", "/v1/outcomes", json=r).json()["detail"] for r in rows]
    path = tmp_path / "outcomes.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    main(["--db", api.db.url.render_as_string(hide_password=False), "import", "outcomes", str(path),
          "--rejects", str(tmp_path / "rej.csv")])
    assert api_reasons == pd.read_csv(tmp_path / "rej.csv")["reason"].tolist()


def test_lists_filter_and_paginate(api):
    sirens = ["802649921", "552100554", "732829320", "412345670", "312345671"]
    rows = [{**COMPANY, "siren": s, "naf": naf, "procedure": proc, "commune": com, "postal_code": None}
            for s, naf, proc, com in zip(sirens, ["16.23Z", "43.32A", "43.91A", "16.23Z", "56.10A"],
                                         ["redressement", "liquidation", "sauvegarde", "liquidation", "redressement"],
                                         ["44109", "44109", "85191", "85191", "44109"])]
    assert api("POST", "/v1/companies/bulk", json=rows).json()["stored"] == 5
    get = lambda **p: api("GET", "/v1/companies", params=p).json()
    assert [c["siren"] for c in get(procedure="liquidation")["items"]] == ["412345670", "552100554"]
    assert [c["siren"] for c in get(sector="43")["items"]] == ["552100554", "732829320"]
    assert [c["siren"] for c in get(departement="85")["items"]] == ["412345670", "732829320"]
    seen, after = [], None
    while True:
        page = get(limit=2, **({"after": after} if after else {}))
        seen += [c["siren"] for c in page["items"]]
        if not (after := page["next"]):
            break
    assert seen == sorted(sirens)
    assert problem(api("GET", "/v1/companies", params={"sector": "99.9"}), 422)["errors"][0]["field"] == "sector"
    for name in ("sector", "departement"):  # empty is outside the documented values too, not "every value"
        for path in ("/v1/companies", "/v1/candidates"):
            err = problem(api("GET", path, params={name: ""}), 422)["errors"][0]
            assert err["field"] == name and f"{name} is empty" in err["message"]
    assert problem(api("GET", "/v1/companies", params={"limit": 501}), 422)["errors"][0]["field"] == "limit"
    api("POST", "/v1/candidates/bulk", json=[CANDIDATE, OTHER])
    cands = lambda **p: [c["candidate_id"] for c in api("GET", "/v1/candidates", params=p).json()["items"]]
    assert cands(pole="p1") == ["552100554"] and cands(kind="cooperative") == ["732829320"]
    assert cands(sector="43.9") == ["732829320"] and cands(pole="p2") == []
    problem(api("GET", "/v1/candidates", params={"kind": "bank"}), 422)


def test_model_card_and_reload(api):
    card = api("GET", "/v1/model", role="analyst").json()
    assert card["model_id"] == "transparent" and card["kind"] == "transparent"
    assert card["card"]["candidate_weights"]["sector"] == pytest.approx(0.20)
    problem(api("POST", "/v1/model/reload", role="advisor"), 403)
    r = api("POST", "/v1/model/reload", role="admin")
    assert r.status_code == 200 and r.json()["previous_model_id"] == "transparent"


def test_promoted_model_served_reloaded_and_refused(tmp_path):
    """A real `reprise train --promote` on the demo store; reload by POST and by the poller."""
    from matcher.contract.imports import import_file
    from matcher.demo.build import generate
    url, models = f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "models"
    db = store.connect(url)
    for kind, path in generate(tmp_path / "demo", seed=2026).items():
        import_file(db, kind, path, rejects_path=tmp_path / f"{kind}.rejects.csv")
    admin = create_key(db, role="admin")[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPRISE_MODELS_DIR", str(models))
        cli = lambda *args: main(["--db", url, *args])
        assert cli("train", "--promote", "--threads", "1", "--max-iter", "40", "--learning-rate", "0.2") == 0
        model_id = json.loads((models / "registry.json").read_text())["promoted"][-1]
        client = TestClient(create_app(Settings(database_url=url, models_dir=models, index_poll_seconds=0.2)))
        with client:
            auth = {"Authorization": f"Bearer {admin}"}
            card = client.get("/v1/model", headers=auth).json()
            assert (card["model_id"], card["kind"]) == (model_id, "learned") and card["card"]["metrics"]
            siren = next(r["siren"] for r in company_rows(db) if not r["confidential"])
            assert client.get(f"/v1/companies/{siren}/matches", headers=auth).json()["model"] == model_id
            assert cli("models", "rollback") == 0  # the very next answer follows the registry
            assert client.get(f"/v1/companies/{siren}/matches", headers=auth).json()["model"] == "transparent"
            r = client.post("/v1/model/reload", headers=auth).json()
            assert (r["model_id"], r["previous_model_id"]) == ("transparent", "transparent")
            assert cli("models", "promote", model_id) == 0
            assert client.get("/v1/model", headers=auth).json()["model_id"] == model_id
            with open(models / model_id / "model.joblib", "ab") as fh:  # tampered: refused, not loaded
                fh.write(b"x")
            body = problem(client.post("/v1/model/reload", headers=auth), 409)
            assert f"still serving {model_id}" in body["detail"]
            assert client.get(f"/v1/companies/{siren}/matches", headers=auth).status_code == 200
    db.dispose()


def test_health_and_ready_need_no_key(api):
    assert api("GET", "/health", role=None).json() == {"status": "ok"}
    ready = api("GET", "/ready", role=None).json()
    assert ready["status"] == "ready" and ready["candidates"] == 0


def test_bad_requests_are_4xx_problems(api):
    problem(api("GET", "/v1/companies/802649921", role=None), 401)
    assert api("GET", "/v1/companies", role=None).headers["www-authenticate"] == "Bearer"
    problem(api("GET", "/v1/companies", headers={"Authorization": "Bearer rk_000000000000.nope"}, role=None), 401)
    body = problem(api("POST", "/v1/companies", content=b'{"siren": ', headers={"content-type": "application/json"}), 400)
    assert body["errors"][0]["field"] == "body"
    problem(api("POST", "/v1/companies", content=b'{"siren": NaN, "name": "x"}',
                headers={"content-type": "application/json"}), 422)
    problem(api("POST", "/v1/companies", json={**COMPANY, "name": "a\x00b"}), 422)
    problem(api("POST", "/v1/companies", json={**COMPANY, "extra": {"k": "a\x00b"}}), 422)
    problem(api("GET", "/v1/companies/80264%009921"), 400)
    big = json.dumps([COMPANY] * 20000).encode()
    assert "2000000 bytes" in problem(api("POST", "/v1/companies/bulk", content=big,
                                          headers={"content-type": "application/json"}), 413)["detail"]
    streamed = api("POST", "/v1/companies/bulk", content=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]),
                   headers={"content-type": "application/json"})
    problem(streamed, 413)
    body = problem(api("POST", "/v1/companies/bulk", json=[COMPANY] * 1001), 422)
    assert "at most 1000" in body["detail"]
    problem(api("GET", "/v1/nowhere"), 404)
    problem(api("PATCH", "/v1/companies/802649921"), 405)
    problem(api("GET", "/v1/companies/abc"), 422)


def test_keys_cli_and_api(db_url, tmp_path, capsys):
    assert main(["--db", db_url, "keys", "create", "--role", "advisor", "--pole", "p1", "--label", "Léa"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("rk_") and " " not in key
    db = store.connect(db_url)
    stored = store.fetch(db, store.api_keys)[0]
    assert key not in json.dumps(stored, default=str) and stored["key_hash"] != key
    assert main(["--db", db_url, "keys", "create", "--role", "advisor"]) == 2
    assert main(["--db", db_url, "keys", "create", "--role", "analyst", "--pole", "p1"]) == 2
    main(["--db", db_url, "keys", "create", "--role", "admin"])
    admin = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["--db", db_url, "keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert stored["key_id"] in listing and key not in listing and "Léa" in listing
    client = TestClient(create_app(Settings(database_url=db_url, models_dir=tmp_path, index_poll_seconds=0)))
    with client:
        auth = lambda k: {"Authorization": f"Bearer {k}"}
        assert client.get("/v1/companies", headers=auth(key)).status_code == 200
        assert client.get("/v1/keys", headers=auth(key)).status_code == 403
        made = client.post("/v1/keys", headers=auth(admin), json={"role": "analyst"}).json()
        assert client.get("/v1/companies", headers=auth(made["key"])).status_code == 200
        assert {k["key_id"] for k in client.get("/v1/keys", headers=auth(admin)).json()} >= {made["key_id"]}
        assert client.delete(f"/v1/keys/{made['key_id']}", headers=auth(admin)).json()["revoked_at"]
        assert client.get("/v1/companies", headers=auth(made["key"])).status_code == 401
        assert main(["--db", db_url, "keys", "revoke", stored["key_id"]]) == 0
        deadline = time.monotonic() + 6  # another process revoked it: within key_cache_seconds (5)
        while client.get("/v1/companies", headers=auth(key)).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.25)
        assert client.get("/v1/companies", headers=auth(key)).status_code == 401
        assert client.post("/v1/keys", headers=auth(admin), json={"role": "advisor"}).status_code == 422
    assert main(["--db", db_url, "keys", "revoke", "000000000000"]) == 2
    db.dispose()


def test_changes_made_by_another_process_are_picked_up(sqlite_url, tmp_path):
    client, db, keys = start(sqlite_url, tmp_path, index_poll_seconds=0.2)
    with client:
        auth = {"Authorization": f"Bearer {keys['analyst']}"}
        assert client.get("/ready").json()["candidates"] == 0
        import_frame(db, "candidates", pd.DataFrame([CANDIDATE]))  # as `reprise import` would
        deadline = time.monotonic() + 10
        while client.get("/ready").json()["candidates"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get("/ready").json()["candidates"] == 1
        assert client.get("/v1/candidates/552100554", headers=auth).status_code == 200
    db.dispose()
