"""Persistence with SQLAlchemy 2: a SQLite file by default, PostgreSQL by URL.

All tables live here so every stage (imports, scan, API, training) shares one schema.
Upserts are dialect-native (``INSERT … ON CONFLICT``), batched, inside one transaction per call.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

metadata = sa.MetaData()
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

poles = sa.Table(
    "poles", metadata,
    sa.Column("pole_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("departements", JSON), sa.Column("communes", JSON),
    sa.Column("lat", sa.Float), sa.Column("lon", sa.Float), sa.Column("radius_km", sa.Float),
    sa.Column("cooperative_support", sa.Boolean),
    sa.Column("extra", JSON),
)

companies = sa.Table(
    "companies", metadata,
    sa.Column("siren", sa.String(9), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("naf", sa.String(6)), sa.Column("activity", sa.Text),
    sa.Column("lat", sa.Float, nullable=False), sa.Column("lon", sa.Float, nullable=False),
    sa.Column("commune", sa.String(5)), sa.Column("postal_code", sa.String(5)),
    sa.Column("departement", sa.String(3)),
    sa.Column("headcount", sa.Float), sa.Column("headcount_band", sa.String(2)),
    sa.Column("revenue_eur", sa.Float),
    sa.Column("procedure", sa.String(16), nullable=False, server_default="none"),
    sa.Column("procedure_date", sa.String(10)), sa.Column("offer_deadline", sa.String(10)),
    sa.Column("pole", sa.String(64), index=True),
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("ess", sa.Boolean), sa.Column("legal_form", sa.String(4)),
    sa.Column("description", sa.Text),
    sa.Column("source", sa.String(16), nullable=False, server_default="import"),
    sa.Column("extra", JSON),
    sa.Column("updated_at", sa.DateTime),
)

candidates = sa.Table(
    "candidates", metadata,
    sa.Column("candidate_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("naf", sa.String(6)),
    sa.Column("sought_naf", JSON), sa.Column("sought_activity", sa.Text),
    sa.Column("experience_naf", JSON),
    sa.Column("lat", sa.Float, nullable=False), sa.Column("lon", sa.Float, nullable=False),
    sa.Column("commune", sa.String(5)), sa.Column("postal_code", sa.String(5)),
    sa.Column("departement", sa.String(3)),
    sa.Column("radius_km", sa.Float), sa.Column("headcount", sa.Float),
    sa.Column("revenue_eur", sa.Float), sa.Column("budget_eur", sa.Float),
    sa.Column("max_target_headcount", sa.Float), sa.Column("legal_form", sa.String(4)),
    sa.Column("ess", sa.Boolean), sa.Column("esus", sa.Boolean),
    sa.Column("pole", JSON), sa.Column("partners", JSON),
    sa.Column("trains_apprentices", sa.Boolean),
    sa.Column("extra", JSON),
    sa.Column("updated_at", sa.DateTime),
)

outcomes = sa.Table(
    "outcomes", metadata,
    sa.Column("siren", sa.String(9), primary_key=True),
    sa.Column("candidate_id", sa.String(74), primary_key=True),
    sa.Column("outcome", sa.String(12), primary_key=True),
    sa.Column("date", sa.String(10), primary_key=True, server_default=""),  # "" when unknown
    sa.Column("advisor", sa.Text), sa.Column("note", sa.Text),
    sa.Column("extra", JSON),
    sa.Column("recorded_at", sa.DateTime),
)

signals = sa.Table(
    "signals", metadata,
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("siren", sa.String(9), index=True), sa.Column("name", sa.Text),
    sa.Column("category", sa.String(24), nullable=False),
    sa.Column("procedure", sa.String(16)), sa.Column("actionable", sa.Boolean, nullable=False),
    sa.Column("judgment_date", sa.String(10)), sa.Column("publication_date", sa.String(10)),
    sa.Column("postal_code", sa.String(5)), sa.Column("activity", sa.Text),
    sa.Column("naf", sa.String(6)), sa.Column("reason", sa.Text),
    sa.Column("matched", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scanned_at", sa.DateTime),
)

matches = sa.Table(
    "matches", metadata,
    sa.Column("siren", sa.String(9), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("candidate_id", sa.String(74), nullable=False),
    sa.Column("kind", sa.String(16)), sa.Column("name", sa.Text),
    sa.Column("score", sa.Float), sa.Column("distance_km", sa.Float),
    sa.Column("explanation", JSON), sa.Column("model_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("poles", JSON), sa.Column("label", sa.Text),
    sa.Column("created_at", sa.DateTime), sa.Column("revoked_at", sa.DateTime),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(32), index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("siren", sa.String(9), index=True),
    sa.Column("action", sa.String(32), nullable=False),
)


def default_url() -> str:
    return "sqlite:///reprise.db"


def connect(url: str) -> Engine:
    """Open the store at ``url`` and create missing tables."""
    try:
        engine = sa.create_engine(url, future=True)
    except sa.exc.ArgumentError as exc:
        raise ValueError(
            f"database URL {url!r} is not understood; expected sqlite:///path.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from exc
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # WAL lets the API read while a scan writes
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    try:
        metadata.create_all(engine)
    except sa.exc.OperationalError as exc:
        raise ConnectionError(f"cannot open the store at {engine.url!r}: {exc.orig}") from exc
    return engine


def _insert(engine: Engine, table: sa.Table):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _upsert_sql(engine: Engine, table: sa.Table, cols: list[str]) -> tuple[str, list[str], bool, set[str]]:
    keys = [c.name for c in table.primary_key.columns]
    stmt = _insert(engine, table)
    update = {c: stmt.excluded[c] for c in cols if c not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=update) if update else \
        stmt.on_conflict_do_nothing(index_elements=keys)
    compiled = stmt.compile(dialect=engine.dialect, column_keys=cols)
    json_cols = {c for c in cols if isinstance(table.c[c].type, (sa.JSON, postgresql.JSONB))}
    order = list(compiled.positiontup) if compiled.positional else cols
    return str(compiled), order, bool(compiled.positional), json_cols


def upsert(engine: Engine, table: sa.Table, rows: Sequence[dict[str, Any]], *, batch: int = 10000,
           conn: sa.Connection | None = None) -> int:
    """Insert or update ``rows`` (dicts) by primary key; returns the number of rows written."""
    if not rows:
        return 0
    cols = list(rows[0].keys())
    columns = {c: [r.get(c) for r in rows] for c in cols}
    return _write(engine, table, cols, columns, len(rows), batch=batch, conn=conn)


def upsert_frame(engine: Engine, table: sa.Table, frame: Any, *, batch: int = 20000,
                 conn: sa.Connection | None = None) -> int:
    """Insert or update the rows of a DataFrame (NaN -> NULL), column by column.

    The statement is compiled once and rows reach the driver's ``executemany`` as tuples, JSON
    serialised once per distinct value: SQLAlchemy's per-row processing costs 5× more at 1M rows.
    """
    if len(frame) == 0:
        return 0
    cols = [c for c in frame.columns if c in table.c]
    columns = {c: frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in cols}
    return _write(engine, table, cols, columns, len(frame), batch=batch, conn=conn)


def _write(engine, table, cols, columns, n, *, batch, conn) -> int:
    sql, order, positional, json_cols = _upsert_sql(engine, table, cols)
    for c in json_cols & set(cols):
        cache: dict = {}
        out = []
        for v in columns[c]:
            if v is None:
                out.append(None)
                continue
            key = tuple(v) if isinstance(v, list) else (json.dumps(v, sort_keys=True) if isinstance(v, dict) else v)
            if key not in cache:
                cache[key] = json.dumps(v, ensure_ascii=False)
            out.append(cache[key])
        columns[c] = out
    for c in cols:
        if isinstance(table.c[c].type, sa.DateTime):
            conv: dict = {}
            columns[c] = [conv[v] if v in conv else conv.setdefault(v, driver_datetime(v, engine.dialect.name))
                          for v in columns[c]]
    tuples = list(zip(*[columns[c] for c in order]))
    params = tuples if positional else [dict(zip(order, t)) for t in tuples]

    def run(c: sa.Connection) -> None:
        for i in range(0, n, batch):
            c.exec_driver_sql(sql, params[i:i + batch])

    if conn is not None:
        run(conn)
    else:
        with engine.begin() as c:
            run(c)
    return n


def driver_datetime(value: Any, dialect: str) -> Any:
    """A datetime as the driver wants it (SQLite: SQLAlchemy's text form)."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if dialect == "sqlite" and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def read_frame(engine: Engine, table: sa.Table, where: Iterable[Any] = ()) -> Any:
    """A whole table (or a filtered part) as a DataFrame, JSON decoded once per distinct value."""
    import pandas as pd
    stmt = sa.select(table).where(*where)
    compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    with engine.connect() as c:
        cur = c.exec_driver_sql(str(compiled))
        data = cur.fetchall()
        names = [d[0] for d in cur.cursor.description] if cur.cursor is not None else list(cur.keys())
    frame = pd.DataFrame.from_records(data, columns=names) if data else pd.DataFrame(columns=[col.name for col in table.c])
    for col in table.c:
        if isinstance(col.type, (sa.JSON, postgresql.JSONB)) and len(frame):
            values = frame[col.name].tolist()
            cache: dict = {}
            out = []
            for v in values:
                if isinstance(v, str):
                    if v not in cache:
                        cache[v] = json.loads(v)
                    out.append(cache[v])
                else:
                    out.append(v)  # None, or already decoded by the driver (psycopg jsonb)
            frame[col.name] = pd.Series(out, index=frame.index, dtype=object)
        elif isinstance(col.type, sa.Boolean) and len(frame) and engine.dialect.name == "sqlite":
            frame[col.name] = frame[col.name].map({1: True, 0: False, None: None}).astype(object)
    return frame


def insert_new(engine: Engine, table: sa.Table, rows: Sequence[dict[str, Any]],
               conn: sa.Connection | None = None) -> None:
    """Insert rows whose key is not yet stored; leave stored ones untouched."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    stmt = _insert(engine, table).on_conflict_do_nothing(index_elements=keys)
    if conn is not None:
        conn.execute(stmt, list(rows))
    else:
        with engine.begin() as c:
            c.execute(stmt, list(rows))


def fetch(engine: Engine, table: sa.Table, where: Iterable[Any] = ()) -> list[dict[str, Any]]:
    with engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(sa.select(table).where(*where))]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
