"""What a worker waits for before answering: ranked answers for every change, store-read answers
only for a change of the poles (the rest is taken in in the background)."""

from __future__ import annotations

import time

import pandas as pd

from api.live_engine import LiveEngine
from matcher import store
from matcher.contract.imports import import_frame
from matcher.learning.registry import Registry
from matcher.store.changes import revision

POLE = {"pole_id": "p1", "name": "Estuaire", "departements": "44"}


def candidates(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame([{"candidate_id": f"C{start + i:06d}", "kind": "company", "name": f"Atelier {start + i}",
                          "naf": "16.23Z", "lat": 47.2 + i * 1e-4, "lon": -1.5, "headcount": 5} for i in range(n)])


def test_store_reads_wait_only_for_the_poles_ranked_answers_for_everything(sqlite_url, tmp_path):
    db = store.connect(sqlite_url)
    import_frame(db, "poles", pd.DataFrame([POLE]))
    import_frame(db, "candidates", candidates(50))
    live = LiveEngine(db, registry=Registry(tmp_path / "models"))
    live.load()
    try:
        served = live.serving.signature
        # another process imports candidates: a store-read answer does not wait for the index...
        other = store.connect(sqlite_url)
        import_frame(other, "candidates", candidates(2000, start=50))
        live.catch_up(index=False)
        assert live._refreshing is not None  # taken in in the background
        # ...a ranked answer does: the index holds the import before it ranks
        live.catch_up()
        assert live.serving.signature == revision(db) > served
        assert len(live.engine.index) == 2050
        # a change of the poles applies before any answer (who may see a case depends on them)
        import_frame(other, "poles", pd.DataFrame([{**POLE, "departements": "44;85"}]))
        live.catch_up(index=False)
        assert live.serving.signature == revision(db)
        assert live.engine.poles.rows["p1"]["departements"] == ["44", "85"]
        # the background refresh ends with the index current
        import_frame(other, "candidates", candidates(10, start=5000))
        live.catch_up(index=False)
        deadline = time.monotonic() + 60
        while live.serving.signature != revision(db):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(live.engine.index) == 2060
        other.dispose()
    finally:
        live.stop()
        db.dispose()
