"""The candidate pool's writes from SIRENE: upserts of what the register says, and departures.

Both happen in one transaction with the index's change log (``matcher.store.changes``), so a
reader sees the pool before or after an import, never half of it, and drops the candidates that
left (the index reads only ``left_pool IS NULL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.bulk import read_frame, upsert_frame
from matcher.store.changes import IN_CHUNKS, log_write
from matcher.store.tables import candidates

POOL_COLUMNS = ["candidate_id", "kind", "name", "naf", "lat", "lon", "commune", "postal_code", "departement",
                "headcount", "legal_form", "ess", "source", "left_pool"]


def pool_frame(db: Engine) -> pd.DataFrame:
    """Every stored candidate's fields that SIRENE may write, with its ``source`` and ``left_pool``."""
    return read_frame(db, candidates, columns=POOL_COLUMNS)


def write_pool(db: Engine, frames: Iterable[pd.DataFrame], leaving: Mapping[str, str], *, at: str) -> None:
    """Upsert each frame (its own columns: a pole's record gets only the refreshed ones; frames may
    be made as they are consumed) and mark ``leaving`` (candidate id -> reason) as out of the pool
    since ``at``, in one transaction."""
    with db.begin() as conn:
        for frame in frames:
            if len(frame):
                upsert_frame(db, candidates, frame, conn=conn)
        ids = sorted(leaving)
        by_reason: dict[str, list[str]] = {}
        for cid in ids:
            by_reason.setdefault(leaving[cid], []).append(cid)
        for reason, group in by_reason.items():
            for lo in range(0, len(group), IN_CHUNKS):
                conn.execute(sa.update(candidates).where(candidates.c.candidate_id.in_(group[lo:lo + IN_CHUNKS]))
                             .values(left_pool=reason, left_at=at))
        if ids:
            log_write(conn, candidates, ids)
