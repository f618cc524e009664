"""Shared fixtures: a store on SQLite and, when REPRISE_TEST_POSTGRES_URL is set, on PostgreSQL.

Each PostgreSQL test gets its own schema (dropped afterwards) so test runs never see each
other's rows.
"""

from __future__ import annotations

import gzip
import importlib.resources
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from matcher import store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("REPRISE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="REPRISE_TEST_POSTGRES_URL is not set"))]


def fixture_path(*parts: str) -> Path:
    """A file shipped with the tests (tests/fixtures, sources in its README)."""
    path = FIXTURES.joinpath(*parts)
    assert path.exists(), f"{path} is missing from the repository"
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'reprise.db'}"


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema; dropped after the test."""
    if not PG_URL:
        pytest.skip("REPRISE_TEST_POSTGRES_URL is not set")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> str:
    """Parametrised over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reprise.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(db_url):
    engine = store.connect(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def communes_path(tmp_path_factory) -> Path:
    """The shipped communes table as a plain CSV file, as a user would give REPRISE_COMMUNES."""
    path = tmp_path_factory.mktemp("communes") / "communes.csv"
    with importlib.resources.files("reprise_data").joinpath("communes.csv.gz").open("rb") as fh:
        path.write_bytes(gzip.decompress(fh.read()))
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
