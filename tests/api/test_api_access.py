"""The access matrix, case by case: role × pole × confidentiality, on every company endpoint.

A confidential case is visible to advisors of its pole (its own ``pole``, or the poles whose
territory contains it when that is empty) and to nobody else; to them it does not exist.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import create_key
from matcher import store
from matcher.contract.imports import import_frame
from matcher.settings import Settings
from tests.conftest import BACKENDS, pg_schema

POLES = [{"pole_id": "p1", "name": "Estuaire", "departements": "44"},
         {"pole_id": "p2", "name": "Vendée", "departements": "85"}]
NANTES, LA_ROCHE = (47.2184, -1.5536), (46.6705, -1.4260)
COMPANIES = {
    "conf_p1": {"siren": "802649921", "procedure": "conciliation", "pole": "p1", "place": NANTES},
    "conf_p2": {"siren": "552100554", "procedure": "conciliation", "pole": "p2", "place": LA_ROCHE},
    "conf_territory_p1": {"siren": "732829320", "procedure": "mandat_ad_hoc", "pole": None, "place": NANTES,
                          "commune": "44109"},
    "open_p2": {"siren": "412345670", "procedure": "redressement", "pole": "p2", "place": LA_ROCHE},
}
CANDIDATE = {"candidate_id": "312345671", "kind": "company", "name": "Atelier Bois", "naf": "16.23Z",
             "lat": 47.0, "lon": -1.5, "radius_km": 200, "headcount": 30, "pole": "p1;p2"}
ABSENT = "212345672"

# role -> the companies it sees
SEES = {
    "advisor_p1": {"conf_p1", "conf_territory_p1", "open_p2"},
    "advisor_p2": {"conf_p2", "open_p2"},
    "analyst": {"open_p2"},
    "admin": {"open_p2"},
}
CASES = [(role, name) for role in SEES for name in COMPANIES]


def company_record(name: str) -> dict:
    c = COMPANIES[name]
    return {"siren": c["siren"], "name": f"Case {name}", "naf": "16.23Z", "lat": c["place"][0],
            "lon": c["place"][1], "commune": c.get("commune"), "headcount": 9, "procedure": c["procedure"],
            "pole": c["pole"]}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """One store and app per backend for the whole matrix; keys per role."""
    tmp = tmp_path_factory.mktemp("access")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'reprise.db'}"
        else:
            url = stack.enter_context(pg_schema(request.getfixturevalue("pg_server")))
        yield from _world(url, tmp)


def _world(url, tmp):
    db = store.connect(url)
    import_frame(db, "poles", pd.DataFrame(POLES))
    import_frame(db, "candidates", pd.DataFrame([CANDIDATE]))
    report = import_frame(db, "companies", pd.DataFrame([company_record(n) for n in COMPANIES]))
    assert report.rejected == 0, report.rejects
    rows = store.fetch(db, store.companies)
    keys = {"advisor_p1": create_key(db, role="advisor", poles=["p1"])[1],
            "advisor_p2": create_key(db, role="advisor", poles=["p2"])[1],
            "analyst": create_key(db, role="analyst")[1], "admin": create_key(db, role="admin")[1]}
    client = TestClient(create_app(Settings(database_url=url, models_dir=tmp / "models", index_poll_seconds=0)))
    with client:
        yield client, db, keys, rows
    db.dispose()


@pytest.fixture
def api(world):
    """Every company in place before each case (a case may erase one)."""
    client, db, keys, rows = world
    store.upsert(db, store.companies, rows)

    def call(method: str, path: str, role: str, **kw):
        return client.request(method, path, headers={"Authorization": f"Bearer {keys[role]}"}, **kw)
    call.db = db
    return call


def as_absent(r, siren: str) -> tuple:
    """A response with the SIREN blanked, to compare with the answer for an absent company."""
    body = r.json()
    return r.status_code, r.headers["content-type"], {k: str(v).replace(siren, "X") for k, v in body.items()}


@pytest.mark.parametrize("role,name", CASES)
def test_get_company(api, role, name):
    siren = COMPANIES[name]["siren"]
    r = api("GET", f"/v1/companies/{siren}", role)
    if name in SEES[role]:
        assert r.status_code == 200 and r.json()["siren"] == siren
    else:
        assert as_absent(r, siren) == as_absent(api("GET", f"/v1/companies/{ABSENT}", role), ABSENT)


@pytest.mark.parametrize("role,name", CASES)
def test_matches_and_audit(api, role, name):
    siren = COMPANIES[name]["siren"]
    r = api("GET", f"/v1/companies/{siren}/matches", role)
    t = store.audit
    with api.db.connect() as c:
        last = c.execute(sa.select(t.c.action).where(t.c.siren == siren).order_by(t.c.id.desc())).scalars().first()
    if name in SEES[role]:
        assert r.status_code == 200 and r.json()["siren"] == siren and last == "read_matches"
    else:
        assert as_absent(r, siren) == as_absent(api("GET", f"/v1/companies/{ABSENT}/matches", role), ABSENT)
        assert last == "denied_matches"


@pytest.mark.parametrize("role", SEES)
def test_lists_show_only_visible_cases(api, role):
    listed = {c["siren"] for c in api("GET", "/v1/companies", role).json()["items"]}
    assert listed == {COMPANIES[n]["siren"] for n in SEES[role]}
    in_p1 = {c["siren"] for c in api("GET", "/v1/companies", role, params={"pole": "p1"}).json()["items"]}
    assert in_p1 == {COMPANIES[n]["siren"] for n in SEES[role] if n in ("conf_p1", "conf_territory_p1")}
    conciliation = api("GET", "/v1/companies", role, params={"procedure": "conciliation"}).json()["items"]
    assert {c["siren"] for c in conciliation} == {COMPANIES[n]["siren"] for n in SEES[role] if n.startswith("conf_p")}


@pytest.mark.parametrize("role,name", CASES)
def test_record_outcome(api, role, name):
    siren = COMPANIES[name]["siren"]
    outcome = {"siren": siren, "candidate_id": CANDIDATE["candidate_id"], "outcome": "contacted"}
    r = api("POST", "/v1/outcomes", role, json=outcome)
    if role == "admin":
        assert r.status_code == 403
    elif name in SEES[role]:
        assert r.status_code == 201, r.text
    else:
        absent = api("POST", "/v1/outcomes", role, json={**outcome, "siren": ABSENT})
        assert as_absent(r, siren) == as_absent(absent, ABSENT)


@pytest.mark.parametrize("role,name", CASES)
def test_write_company(api, role, name):
    siren = COMPANIES[name]["siren"]
    r = api("PUT", f"/v1/companies/{siren}", role, json=company_record(name))
    if role == "analyst":
        assert r.status_code == 403
    elif name in SEES[role]:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403 and "advisors of their pole" in r.json()["detail"]


@pytest.mark.parametrize("role,name", CASES)
def test_erase_company(api, role, name):
    siren = COMPANIES[name]["siren"]
    r = api("DELETE", f"/v1/companies/{siren}", role)
    if role == "analyst":
        assert r.status_code == 403
    elif name in SEES[role]:
        assert r.status_code == 204
        assert store.fetch(api.db, store.companies, [store.companies.c.siren == siren]) == []
    else:
        assert as_absent(r, siren) == as_absent(api("DELETE", f"/v1/companies/{ABSENT}", role), ABSENT)
        assert len(store.fetch(api.db, store.companies, [store.companies.c.siren == siren])) == 1


@pytest.mark.parametrize("role", SEES)
def test_advisors_create_confidential_cases_of_their_poles_only(api, role):
    record = {**company_record("conf_p1"), "siren": ABSENT}
    r = api("POST", "/v1/companies", role, json=record)
    assert r.status_code == (201 if role == "advisor_p1" else 403), r.text
    with api.db.begin() as c:
        c.execute(sa.delete(store.companies).where(store.companies.c.siren == ABSENT))


@pytest.mark.parametrize("role,path,method,allowed", [
    (role, path, method, role == "admin")
    for role in SEES for method, path in [("GET", "/v1/keys"), ("GET", "/v1/audit"), ("POST", "/v1/model/reload")]
] + [(role, "/v1/candidates", "POST", role.startswith("advisor") or role == "admin") for role in SEES]
  + [(role, "/v1/model", "GET", True) for role in SEES]
  + [(role, "/v1/match", "POST", True) for role in SEES])
def test_role_rights(api, role, path, method, allowed):
    body = {"/v1/candidates": CANDIDATE, "/v1/match": company_record("conf_p2")}.get(path)
    r = api(method, path, role, json=body)
    assert (r.status_code < 300) == allowed, r.text
    if not allowed:
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
