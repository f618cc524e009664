"""The access matrix as one table: every endpoint × principal × case, exclusion lists and audit
included. A confidential case exists only for the advisors of its poles; to every other key it is
answered exactly like an absent SIREN, and it is never an exclusion reason. Writes stay within an
advisor's poles and are audited."""

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
CASES = {
    "conf_p1": {"siren": "802649921", "procedure": "conciliation", "pole": "p1", "place": NANTES},
    "conf_p2": {"siren": "552100554", "procedure": "conciliation", "pole": "p2", "place": LA_ROCHE},
    "conf_territory_p1": {"siren": "732829320", "procedure": "mandat_ad_hoc", "pole": None, "place": NANTES,
                          "commune": "44109"},
    "open_p1": {"siren": "443061841", "procedure": "redressement", "pole": "p1", "place": NANTES},
    "open_p2": {"siren": "412345670", "procedure": "redressement", "pole": "p2", "place": LA_ROCHE},
}
# conf_p2 is also a takeover candidate: in difficulty for pole p2's advisors, a firm like any other for the rest
CANDIDATES = [
    {"candidate_id": "552100554", "kind": "company", "name": "Menuiserie du Bocage", "naf": "16.23Z",
     "lat": LA_ROCHE[0], "lon": LA_ROCHE[1], "radius_km": 200, "headcount": 30},
    {"candidate_id": "312345671", "kind": "pole_member", "name": "Atelier Bois", "naf": "16.23Z",
     "lat": 47.0, "lon": -1.5, "radius_km": 200, "headcount": 30, "pole": "p1;p2"},
]
ABSENT = "212345672"
PRINCIPALS = ("advisor_p1", "advisor_p2", "analyst", "admin")
SEES = {  # the confidential cases each principal may know of
    "advisor_p1": {"conf_p1", "conf_territory_p1"}, "advisor_p2": {"conf_p2"}, "analyst": set(), "admin": set()}
FOLLOWS = {"advisor_p1": {"conf_p1", "conf_territory_p1", "open_p1"}, "advisor_p2": {"conf_p2", "open_p2"}}


def visible(principal: str, case: str) -> bool:
    return case.startswith("open") or case in SEES[principal]


def record(case: str, **changes) -> dict:
    c = CASES[case]
    return {"siren": c["siren"], "name": f"Case {case}", "naf": "16.23Z", "lat": c["place"][0], "lon": c["place"][1],
            "commune": c.get("commune"), "headcount": 9, "procedure": c["procedure"], "pole": c["pole"], **changes}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'reprise.db'}"
        else:
            url = stack.enter_context(pg_schema(request.getfixturevalue("pg_server")))
        db = store.connect(url)
        import_frame(db, "poles", pd.DataFrame(POLES))
        keys = {p: create_key(db, role=p.split("_")[0], poles=[p[-2:]] if p.startswith("advisor") else None)[1]
                for p in PRINCIPALS}
        create_key(db, role="admin")  # a second admin: the first may be revoked in a test
        client = TestClient(create_app(Settings(database_url=url, models_dir=tmp / "models", index_poll_seconds=0)))
        stack.enter_context(client)
        yield client, db, keys
        db.dispose()


@pytest.fixture
def api(world):
    """Every case and candidate in place before each test (a test may erase or change one)."""
    client, db, keys = world
    with db.begin() as c:
        for t in (store.outcomes, store.companies, store.candidates):
            c.execute(sa.delete(t))
    report = import_frame(db, "companies", pd.DataFrame([record(name) for name in CASES]))
    assert report.rejected == 0, report.rejects
    import_frame(db, "candidates", pd.DataFrame(CANDIDATES))
    client.app.state.live.refresh()

    def call(method: str, path: str, principal: str, **kw):
        return client.request(method, path, headers={"Authorization": f"Bearer {keys[principal]}"}, **kw)
    call.db, call.client, call.keys = db, client, keys
    return call


def same_as_absent(api, method, path, principal, siren, **kw) -> None:
    """The answer for ``siren`` equals the answer for an absent SIREN, once the SIREN is blanked."""
    def blank(r, s):
        return r.status_code, r.headers["content-type"], r.text.replace(s, "X")
    got = api(method, path.format(siren=siren), principal, **kw)
    absent_kw = {k: (v | {"siren": ABSENT} if isinstance(v, dict) and "siren" in v else v) for k, v in kw.items()}
    assert blank(got, siren) == blank(api(method, path.format(siren=ABSENT), principal, **absent_kw), ABSENT)


MATRIX = [(p, case) for p in PRINCIPALS for case in CASES]


@pytest.mark.parametrize(("principal", "case"), MATRIX)
def test_reading_a_case_and_its_options(api, principal, case):
    siren = CASES[case]["siren"]
    for path in ("/v1/companies/{siren}", "/v1/companies/{siren}/matches"):
        if visible(principal, case):
            assert api("GET", path.format(siren=siren), principal).status_code == 200
        else:
            same_as_absent(api, "GET", path, principal, siren)


@pytest.mark.parametrize(("principal", "case"), MATRIX)
def test_an_audit_row_per_read_and_the_same_one_for_hidden_and_absent(api, principal, case):
    siren = CASES[case]["siren"]
    t = store.audit
    for target in (siren, ABSENT):
        api("GET", f"/v1/companies/{target}/matches", principal)
    with api.db.connect() as c:
        rows = c.execute(sa.select(t.c.siren, t.c.action).where(t.c.siren.in_([siren, ABSENT]))
                         .order_by(t.c.id.desc()).limit(2)).all()
    assert rows[0] == (ABSENT, "not_found_matches")
    assert rows[1] == (siren, "read_matches" if visible(principal, case) else "not_found_matches")
    # the admin's audit listing names no case it may not see, absent or hidden alike
    listed = api("GET", "/v1/audit", "admin", params={"siren": siren}).json()["items"]
    assert bool(listed) == visible("admin", case)


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("how", ["stored case", "profile"])
def test_a_confidential_case_is_never_an_exclusion_reason_for_others(api, principal, how):
    if how == "stored case":
        r = api("GET", f"/v1/companies/{CASES['open_p1']['siren']}/matches", principal,
                params={"explain_exclusions": "true", "top": 100})
    else:
        profile = record("open_p1", siren="443061841")
        r = api("POST", "/v1/match", principal, json=profile, params={"explain_exclusions": "true", "top": 100})
    body = r.json()
    hidden_candidate = CANDIDATES[0]["candidate_id"]
    in_difficulty = {e["candidate_id"] for e in body["exclusions"] if e["reason"] == "in_difficulty"}
    options = {o["candidate_id"] for o in body["options"]}
    if "conf_p2" in SEES[principal]:
        assert in_difficulty == {hidden_candidate} and body["excluded_counts"]["in_difficulty"] == 1
    else:  # a firm like any other: proposed, never said to be in difficulty, never counted as such
        assert hidden_candidate in options and "in_difficulty" not in body["excluded_counts"]
        assert not in_difficulty


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_lists_show_only_visible_cases(api, principal):
    listed = {c["siren"] for c in api("GET", "/v1/companies", principal).json()["items"]}
    assert listed == {CASES[n]["siren"] for n in CASES if visible(principal, n)}
    conciliation = api("GET", "/v1/companies", principal, params={"procedure": "conciliation"}).json()["items"]
    assert {c["siren"] for c in conciliation} == {CASES[n]["siren"] for n in ("conf_p1", "conf_p2")
                                                  if visible(principal, n)}


@pytest.mark.parametrize(("principal", "case"), MATRIX)
def test_recording_an_outcome(api, principal, case):
    siren = CASES[case]["siren"]
    outcome = {"siren": siren, "candidate_id": CANDIDATES[1]["candidate_id"], "outcome": "contacted"}
    r = api("POST", "/v1/outcomes", principal, json=outcome)
    if principal == "admin":
        assert r.status_code == 403
    elif visible(principal, case):
        assert r.status_code == 201, r.text
        assert r.json()["advisor"] == f"key:{api.keys[principal].split('.')[0].removeprefix('rk_')}"
    else:
        same_as_absent(api, "POST", "/v1/outcomes", principal, siren, json=outcome)


@pytest.mark.parametrize(("principal", "case"), MATRIX)
def test_writing_a_case_stays_within_the_advisors_poles(api, principal, case):
    siren = CASES[case]["siren"]
    before = store.fetch(api.db, store.companies, [store.companies.c.siren == siren])
    # the hijack: moving the case into one's own pole, as confidential
    own_pole = principal[-2:] if principal.startswith("advisor") else "p1"
    r = api("PUT", f"/v1/companies/{siren}", principal, json=record(case, pole=own_pole, procedure="conciliation"))
    if principal not in FOLLOWS:
        assert r.status_code == 403 and "this needs a key with role advisor" in r.json()["detail"]
    elif case in FOLLOWS[principal]:
        assert r.status_code == 200, r.text
        return
    else:  # the same words for another pole's public case and for a case it may not know of
        assert r.status_code == 403 and r.json()["detail"].startswith(f"siren {siren} is not a case of your poles")
    assert store.fetch(api.db, store.companies, [store.companies.c.siren == siren]) == before


@pytest.mark.parametrize(("principal", "case"), MATRIX)
def test_deleting_a_case_stays_within_the_advisors_poles(api, principal, case):
    siren = CASES[case]["siren"]
    r = api("DELETE", f"/v1/companies/{siren}", principal)
    if principal not in FOLLOWS:
        assert r.status_code == 403
    elif case in FOLLOWS[principal]:
        assert r.status_code == 204
        assert store.fetch(api.db, store.companies, [store.companies.c.siren == siren]) == []
        return
    else:
        same_as_absent(api, "DELETE", "/v1/companies/{siren}", principal, siren)
    assert len(store.fetch(api.db, store.companies, [store.companies.c.siren == siren])) == 1


def test_writes_and_deletions_are_audited(api):
    siren = CASES["open_p1"]["siren"]
    assert api("PUT", f"/v1/companies/{siren}", "advisor_p1", json=record("open_p1")).status_code == 200
    assert api("PUT", f"/v1/companies/{CASES['open_p2']['siren']}", "advisor_p1",
               json=record("open_p2", pole="p1")).status_code == 403
    assert api("POST", "/v1/candidates", "admin", json=CANDIDATES[1]).status_code == 200
    assert api("DELETE", f"/v1/companies/{siren}", "advisor_p1").status_code == 204
    actions = [r["action"] for r in reversed(api("GET", "/v1/audit", "admin").json()["items"][:4])]
    assert actions == ["write_company", "refused_write", "write_candidate", "delete_company"]


def _key_id(api, principal: str) -> str:
    return api.keys[principal].split(".")[0].removeprefix("rk_")


def _last_rows(api, n: int) -> list[tuple]:
    t = store.audit
    with api.db.connect() as c:
        rows = c.execute(sa.select(t.c.key_id, t.c.siren, t.c.action, t.c.subject)
                         .order_by(t.c.id.desc()).limit(n)).all()
    return [tuple(r) for r in reversed(rows)]


def test_refused_writes_are_audited_with_the_key_alike_for_hidden_and_absent(api):
    """A 409 on an outcome and every role refusal (403) leave a refused_write row with the key;
    a hidden case's row is the absent SIREN's row."""
    siren, candidate = CASES["open_p1"]["siren"], CANDIDATES[1]["candidate_id"]
    outcome = {"siren": siren, "candidate_id": candidate, "outcome": "offer", "date": "2026-11-20"}
    assert api("POST", "/v1/outcomes", "advisor_p1", json=outcome).status_code == 201
    assert api("POST", "/v1/outcomes", "analyst", json=outcome).status_code == 409
    analyst, advisor = _key_id(api, "analyst"), _key_id(api, "advisor_p1")
    assert _last_rows(api, 1) == [(analyst, siren, "refused_write", candidate)]
    hidden = CASES["conf_p2"]["siren"]
    for target in (hidden, ABSENT):
        r = api("DELETE", f"/v1/companies/{target}", "analyst")
        assert r.status_code == 403 and r.json()["detail"].startswith("an analyst key may not write companies")
    assert _last_rows(api, 2) == [(analyst, hidden, "refused_write", None), (analyst, ABSENT, "refused_write", None)]
    assert api("PUT", f"/v1/companies/{hidden}", "admin", json=record("conf_p2")).status_code == 403
    assert api("DELETE", f"/v1/candidates/{candidate}", "analyst").status_code == 403
    assert api("POST", "/v1/keys", "advisor_p1", json={"role": "analyst"}).status_code == 403
    assert api("POST", "/v1/model/reload", "advisor_p1").status_code == 403
    assert _last_rows(api, 4) == [(_key_id(api, "admin"), hidden, "refused_write", None),
                                  (analyst, None, "refused_write", candidate),
                                  (advisor, None, "refused_write", None), (advisor, None, "refused_write", None)]
    with api.db.connect() as c:
        before = c.execute(sa.select(sa.func.count()).select_from(store.audit)).scalar()
        assert api("GET", "/v1/keys", "advisor_p1").status_code == 403  # a refused read is not a write
        assert c.execute(sa.select(sa.func.count()).select_from(store.audit)).scalar() == before


def test_an_outcome_is_signed_by_its_key_and_never_replaced_by_another(api):
    siren = CASES["open_p1"]["siren"]
    outcome = {"siren": siren, "candidate_id": CANDIDATES[1]["candidate_id"], "outcome": "offer",
               "date": "2026-11-20", "note": "offre déposée"}
    assert api("POST", "/v1/outcomes", "advisor_p1", json=outcome).status_code == 201
    r = api("POST", "/v1/outcomes", "analyst", json={**outcome, "note": "replaced"})
    assert r.status_code == 409 and "was recorded by key:" in r.json()["detail"]
    assert api("POST", "/v1/outcomes", "advisor_p1", json={**outcome, "note": "précisée"}).status_code == 200
    r = api("POST", "/v1/outcomes", "analyst", json={**outcome, "date": "2026-11-21", "advisor": "Someone Else"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "advisor"
    (stored,) = store.fetch(api.db, store.outcomes)
    assert stored["note"] == "précisée" and stored["advisor"].startswith("key:")


@pytest.mark.parametrize("case", ["conf_p2", "open_p2"])
def test_a_hidden_case_costs_the_same_statements_as_an_absent_one(api, case):
    """The timing side channel at its root: the same queries run for a hidden and an absent SIREN."""
    engine = api.client.app.state.db
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split())[:60])
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        statements = {}
        for target in (CASES[case]["siren"], ABSENT):
            seen.clear()
            api("GET", f"/v1/companies/{target}/matches", "advisor_p1")
            statements[target] = list(seen)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    hidden, absent = statements[CASES[case]["siren"]], statements[ABSENT]
    if case == "conf_p2":
        assert hidden == absent
    else:
        assert len(hidden) >= len(absent)


def test_the_last_admin_key_is_not_revoked(api):
    keys = api("GET", "/v1/keys", "admin").json()
    admins = [k["key_id"] for k in keys if k["role"] == "admin" and not k["revoked_at"]]
    me = api.keys["admin"].split(".")[0].removeprefix("rk_")
    other = next(k for k in admins if k != me)
    assert api("DELETE", f"/v1/keys/{other}", "admin").status_code == 200
    r = api("DELETE", f"/v1/keys/{me}", "admin")
    assert r.status_code == 409 and "last working admin key" in r.json()["detail"]
    t = store.audit
    with api.db.connect() as c:  # the refusal is audited
        last = c.execute(sa.select(t.c.key_id, t.c.action, t.c.subject).order_by(t.c.id.desc()).limit(1)).one()
    assert tuple(last) == (me, "refused_write", me)


@pytest.mark.parametrize(("principal", "method", "path", "allowed"), [
    *[(p, method, path, p == "admin") for p in PRINCIPALS
      for method, path in [("GET", "/v1/keys"), ("GET", "/v1/audit"), ("POST", "/v1/model/reload")]],
    *[(p, "POST", "/v1/candidates", p != "analyst") for p in PRINCIPALS],
    *[(p, "GET", "/v1/model", True) for p in PRINCIPALS],
    *[(p, "POST", "/v1/match", True) for p in PRINCIPALS],
])
def test_role_rights(api, principal, method, path, allowed):
    body = {"/v1/candidates": CANDIDATES[1], "/v1/match": record("open_p2")}.get(path)
    r = api(method, path, principal, json=body)
    assert (r.status_code < 300) == allowed, r.text
    if not allowed:
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
