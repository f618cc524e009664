"""The API after `reprise import sirene`: a candidate that left the pool is no longer proposed nor
listed, its record says why, and a pole that writes it back takes it over."""

from __future__ import annotations

import datetime as dt

from matcher.reference.communes import shipped
from matcher.reference.territories import Territory
from matcher.sirene.pool import import_pool
from matcher.sirene.stock import StockFile
from tests.api.test_api import COMPANY, api  # noqa: F401 - the fixture
from tests.sirene.stock_files import stocks, unit
from tests.sirene.test_pool import SCOP, A, estab_rows, units_rows


def sirene(api, folder, units):  # noqa: F811
    u, e = stocks(folder, units, estab_rows())
    return import_pool(api.db, StockFile.open(u, label="--unites"), StockFile.open(e, label="--etablissements"),
                       Territory(departements=frozenset({"44", "49", "85"})), shipped(), today=dt.date(2026, 12, 1))


def test_a_candidate_that_left_the_pool_is_no_longer_proposed(api, tmp_path):  # noqa: F811
    assert api("POST", "/v1/companies", json=COMPANY).status_code == 201
    sirene(api, tmp_path / "m1", units_rows())
    first = api("GET", "/v1/companies/802649921/matches?top=50").json()
    assert "options" in first, first
    proposed = {o["candidate_id"] for o in first["options"]}
    assert {A, SCOP} <= proposed
    report = sirene(api, tmp_path / "m2", units_rows(**{A: unit(A, "MENUISERIE DUPONT", state="C")}))
    assert dict(report.left) == {"ceased": 1}
    answer = api("GET", "/v1/companies/802649921/matches?top=50&explain_exclusions=true").json()
    seen = {o["candidate_id"] for o in answer["options"]} | {e["candidate_id"] for e in answer.get("exclusions", [])}
    assert A not in seen and SCOP in seen
    listed = {c["candidate_id"] for c in api("GET", "/v1/candidates?limit=100").json()["items"]}
    assert A not in listed and SCOP in listed
    record = api("GET", f"/v1/candidates/{A}").json()
    assert (record["left_pool"], record["left_at"], record["source"]) == ("ceased", "2026-12-01", "sirene")
    # the pole writes it back as its own member: in the pool again, and its record is the pole's
    body = {"candidate_id": A, "kind": "pole_member", "name": "Dupont (repreneur)", "commune": "44109"}
    assert api("PUT", f"/v1/candidates/{A}", json=body).status_code == 200
    back = api("GET", f"/v1/candidates/{A}").json()
    assert (back["left_pool"], back["source"], back["kind"]) == (None, "import", "pole_member")
    assert A in {o["candidate_id"] for o in api("GET", "/v1/companies/802649921/matches?top=50").json()["options"]}
