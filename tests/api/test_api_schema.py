"""Schemathesis against the app's own OpenAPI schema: no 5xx, every response as documented.

Bounded: a few generated requests per operation (valid and invalid ones), on a small store.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from api.main import create_app
from api.security import create_key
from matcher import store
from matcher.contract.imports import import_frame
from matcher.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, unsupported_method, allow_header_conformance]
# Record bodies follow the contract's rules (Luhn, NAF codes that exist, places in France), which a
# JSON schema cannot state in full: schema-valid bodies may get a 422 naming the rule. Every
# operation without a body must accept every request its schema allows.
EXAMPLES = 10
KEYS: dict[str, str] = {}
TMP = Path(tempfile.mkdtemp(prefix="reprise-schema-"))
URL = f"sqlite:///{TMP / 'reprise.db'}"
# The app's lifespan starts with the first generated request, after the fixture below filled the store.
APP = create_app(Settings(database_url=URL, models_dir=TMP / "models", index_poll_seconds=0, max_body_bytes=50_000))
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES)
# the coverage phase sends ~200 boundary cases per write operation: too slow for the suite's budget
schema.config.phases.update(phases=["examples", "fuzzing"])
# an over-size body is rejected with 413, which the check's default list lacks
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses, "413"]


@pytest.fixture(scope="module", autouse=True)
def small_store():
    db = store.connect(URL)
    import_frame(db, "poles", pd.DataFrame([{"pole_id": "p1", "name": "Estuaire", "departements": "44"}]))
    import_frame(db, "companies", pd.DataFrame([
        {"siren": "802649921", "name": "Menuiserie Durand", "naf": "16.23Z", "lat": 47.2184, "lon": -1.5536,
         "headcount": 12, "procedure": "redressement", "pole": "p1"},
        {"siren": "552100554", "name": "Garage du Port", "naf": "45.20A", "lat": 47.28, "lon": -2.2,
         "procedure": "conciliation", "pole": "p1"}]))
    import_frame(db, "candidates", pd.DataFrame([
        {"candidate_id": "732829320", "kind": "company", "name": "Atelier Bois", "naf": "16.23Z",
         "lat": 47.29, "lon": -1.52, "headcount": 30, "pole": "p1"}]))
    KEYS["admin"] = create_key(db, role="admin")[1]
    KEYS["advisor"] = create_key(db, role="advisor", poles=["p1"])[1]
    db.dispose()
    yield
    shutil.rmtree(TMP, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_as_documented(case):
    # an advisor key for the operations it may use, so they run past the role check
    role = "admin" if case.path.startswith(("/v1/keys", "/v1/audit", "/v1/model/reload")) else "advisor"
    checks = CHECKS if case.body is not NOT_SET else [*CHECKS, positive_data_acceptance]
    case.call_and_validate(headers={"Authorization": f"Bearer {KEYS[role]}"}, checks=checks)


def test_the_schema_documents_problem_details():
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    for path, ops in spec["paths"].items():
        for op in ops.values():
            errors = {code: r for code, r in op["responses"].items() if code.startswith("4")}
            assert errors, path
            assert all(list(r["content"]) == ["application/problem+json"] for r in errors.values()), path
    assert spec["components"]["schemas"]["CompanyIn"]["examples"]
    docs = TestClient(create_app(Settings(database_url="sqlite://"))).get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
