"""The store (SQLAlchemy 2: a SQLite file by default, PostgreSQL by URL).

Every SQL statement of the project lives in this package: the tables (``tables``), opening the
store (``connection``), bulk upserts and reads (``bulk``), and the queries of each stage and
user (``records``, ``scan``, ``access``, ``revision``;
the web application's ``accounts`` and ``cases``).
"""

from matcher.store.bulk import fetch, read_frame, upsert, upsert_frame
from matcher.store.connection import connect, default_url, driver_datetime, now
from matcher.store.tables import (
    api_keys,
    audit,
    candidates,
    companies,
    index_changes,
    matches,
    metadata,
    outcomes,
    poles,
    sessions,
    signals,
    signin_attempts,
    users,
)

__all__ = ["api_keys", "audit", "candidates", "companies", "connect", "default_url", "driver_datetime", "fetch",
           "index_changes", "matches", "metadata", "now", "outcomes", "poles", "read_frame", "sessions", "signals",
           "signin_attempts", "upsert", "upsert_frame", "users"]
