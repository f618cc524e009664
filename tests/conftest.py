"""Shared fixtures: a store on SQLite and on PostgreSQL.

PostgreSQL: the server named by ``REPRISE_TEST_POSTGRES_URL`` (as CI sets it), else a throwaway
server started by pytest-postgresql when PostgreSQL is installed (``pg_ctl``; PostgreSQL refuses
to run as root), else those tests are skipped with one line saying how to run them. Each
PostgreSQL test gets its own schema (dropped afterwards) so test runs never see each other's rows.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.resources
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from matcher import store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("REPRISE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]
HOW_TO_RUN_PG = ("PostgreSQL tests skipped: set REPRISE_TEST_POSTGRES_URL=postgresql+psycopg://user@host/db, "
                 "or install PostgreSQL (pg_ctl) and run the tests as a user other than root")


def fixture_path(*parts: str) -> Path:
    """A file shipped with the tests (tests/fixtures, sources in its README)."""
    path = FIXTURES.joinpath(*parts)
    assert path.exists(), f"{path} is missing from the repository"
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'reprise.db'}"


@pytest.fixture(scope="session")
def pg_server(request) -> str:
    """The URL of a PostgreSQL server for the tests (see the module's docstring)."""
    if PG_URL:
        return PG_URL
    if not shutil.which("pg_ctl") or (hasattr(os, "geteuid") and os.geteuid() == 0):
        pytest.skip(HOW_TO_RUN_PG)
    try:
        proc = request.getfixturevalue("postgresql_proc")  # pytest-postgresql: a throwaway server
    except Exception as exc:
        pytest.skip(f"{HOW_TO_RUN_PG} ({type(exc).__name__}: {exc})")
    return f"postgresql+psycopg://{proc.user}@{proc.host}:{proc.port}/postgres"


@contextlib.contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A URL on ``base`` whose search_path is a fresh schema, dropped afterwards."""
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base)
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server):
    """A PostgreSQL URL whose search_path is a fresh schema; dropped after the test."""
    with pg_schema(pg_server) as url:
        yield url


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
