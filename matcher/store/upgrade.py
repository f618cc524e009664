"""Bringing a store made by an earlier version up to the current tables.

New tables are created by ``metadata.create_all``; a column added to an existing table is added
here (``ALTER TABLE … ADD COLUMN``), so a pole's store keeps its data across versions. Only
additive changes are made this way: a column is never dropped or retyped.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateColumn

from matcher.store.tables import metadata

log = logging.getLogger(__name__)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the columns the current tables have and the store lacks; returns ``table.column`` added."""
    inspector = sa.inspect(engine)
    added: list[str] = []
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                if not column.nullable and column.server_default is None:
                    raise RuntimeError(f"column {table.name}.{column.name} cannot be added to an existing store: "
                                       "it is NOT NULL without a server default")
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                conn.execute(sa.text(f"ALTER TABLE {engine.dialect.identifier_preparer.quote(table.name)} "
                                     f"ADD COLUMN {ddl}"))
                added.append(f"{table.name}.{column.name}")
    if added:
        log.info("store upgraded: added %s", ", ".join(added))
    return added
