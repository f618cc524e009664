"""The index as snapshot + delta segment answers exactly as a fresh full build, after any writes.

Random writes (new candidates, some tied with existing ones on every feature; changed ones;
deletions; candidates entering and leaving a procedure as companies; poles) go through the
store's own write paths; after each round the segmented engine catches up with ``refresh`` and
every answer (options, scores, explanations, exclusion counts and listings) is compared with an
engine built from scratch from the store, on the full search and on the bounded one.
"""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest

from matcher import store
from matcher.contract.confidentiality import OPERATOR, Viewer
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.ranking import search as search_module
from matcher.ranking.engine import Engine
from matcher.ranking.segments import SegmentedIndex
from matcher.store import changes
from matcher.store.erasure import erase_candidate, erase_company
from matcher.store.records import company_rows, pole_rows


@pytest.fixture
def demo(tmp_path):
    files = generate(tmp_path / "files", candidates=1200, companies=160)
    db = store.connect(f"sqlite:///{tmp_path / 'demo.db'}")
    for kind in ("poles", "companies", "candidates", "outcomes"):
        assert import_file(db, kind, files[kind]).rejected == 0
    yield db, tmp_path / "demo.db.index"
    db.dispose()


def _answers(engine: Engine, companies: list[dict]) -> list:
    out = []
    poles = sorted(engine.poles.rows)
    viewers = [OPERATOR, Viewer(), Viewer(poles=frozenset(poles[:1]))]  # confidential cases: who may know
    for c in companies:
        for top, kinds, explain, limit in ((10, None, False, None), (5, ["cooperative", "employees", "repreneur"],
                                                                     False, None), (10, None, True, 40)):
            for viewer in viewers if explain else viewers[:1]:
                res = engine.match(c, top=top, kinds=kinds, explain_exclusions=explain, exclusions_limit=limit,
                                   viewer=viewer)
                out.append(res.payload(explain=explain))
    return out


def _compare(segmented: Engine, db, rng) -> None:
    fresh = Engine.from_store(db)
    companies = company_rows(db)
    sample = [companies[i] for i in rng.choice(len(companies), size=min(30, len(companies)), replace=False)]
    assert len(segmented.index) == len(fresh.index)
    for shortcut in (20_000, 0):  # every candidate in reach; then linked first with the score bound
        segmented.shortcut_from = fresh.shortcut_from = shortcut
        assert _answers(segmented, sample) == _answers(fresh, sample)
    # and with the posted candidates bounded before their distances are measured, as at national scale
    with patch.multiple(search_module, POSTED_BOUND_FROM=0, POSTED_FIRST=20):
        assert _answers(segmented, sample) == _answers(fresh, sample)


def _write_round(db, rng, stored: list[dict], serial: list[int]) -> None:
    """A few random writes through the store's write paths."""
    by_id = {r["candidate_id"]: r for r in stored}
    fresh = Engine.from_store(db)
    rows = []
    for c in rng.choice(company_rows(db), size=3, replace=False):  # ties with options that are listed
        for o in fresh.match(c, top=4).options:
            if o.candidate_id in by_id:
                serial[0] += 1
                rows.append({**by_id[o.candidate_id], "candidate_id": f"{o.candidate_id[:1]}-{serial[0]:06d}"})
    for _ in range(int(rng.integers(1, 12))):
        src = dict(stored[int(rng.integers(len(stored)))])
        what = rng.random()
        if what < 0.35:  # a new candidate, tied with an existing one on every feature
            serial[0] += 1
            src["candidate_id"] = f"R-T{serial[0]:05d}"
        elif what < 0.55:  # a new candidate somewhere else, another trade
            serial[0] += 1
            src.update(candidate_id=f"R-N{serial[0]:05d}", lat=src["lat"] + rng.normal(0, 0.2),
                       lon=src["lon"] + rng.normal(0, 0.2), naf=rng.choice(["43.32A", "56.10A", "10.71C", None]))
        elif what < 0.8:  # an existing candidate changed
            src.update(radius_km=float(rng.choice([5, 20, 80, 300])), headcount=float(rng.integers(0, 90)),
                       sought_naf=[str(rng.choice(["43", "56.10A", "10.71"]))], ess=bool(rng.random() < 0.5))
        else:
            erase_candidate(db, src["candidate_id"])
            continue
        src["updated_at"] = store.now()
        rows.append(src)
    if rows:
        store.upsert(db, store.candidates, list({r["candidate_id"]: r for r in rows}.values()))
    firms = [r for r in stored if r["kind"] in ("company", "pole_member", "cooperative")]
    firm = firms[int(rng.integers(len(firms)))]
    if rng.random() < 0.5:  # a candidate firm enters a procedure (it is then excluded), or leaves it;
        # a confidential one is excluded only for the viewers who may know of it
        store.upsert(db, store.companies, [{"siren": firm["candidate_id"], "name": firm["name"], "lat": firm["lat"],
                                            "lon": firm["lon"], "procedure": "liquidation",
                                            "confidential": bool(rng.random() < 0.5)}])
    else:
        erase_company(db, firm["candidate_id"])
    if rng.random() < 0.2:  # a pole's territory changes
        pole = dict(pole_rows(db)[0])
        pole["radius_km"] = float(rng.choice([10, 40, 90]))
        store.upsert(db, store.poles, [pole])


def test_segments_answer_as_a_fresh_build_after_random_writes(demo):
    db, folder = demo
    rng = np.random.default_rng(13)
    engine = Engine.open(db, folder)
    assert engine.reader.opened_from == "build" and (folder / "CURRENT").exists()
    other = Engine.open(db, folder)
    serial = [0]
    for step in range(8):
        stored = store.fetch(db, store.candidates)
        _write_round(db, rng, stored, serial)
        assert engine.refresh()
        assert isinstance(engine.index, SegmentedIndex) and engine.reader.revision == changes.revision(db)
        _compare(engine, db, rng)
        if step == 4:  # a compaction in the middle: a new snapshot, then more writes on top of it
            assert engine.reader.compact()
            engine.index, engine.poles = engine.reader.index, engine.reader.poles
            assert engine.reader.delta_size == 0
            _compare(engine, db, rng)
    assert not engine.refresh()  # nothing new: the index did not move
    assert other.refresh()  # another process, still on the first snapshot, whose changes were pruned
    assert other.reader.base_revision == engine.reader.base_revision  # it moved to the new snapshot
    _compare(other, db, rng)
    reopened = Engine.open(db, folder)  # a new process: the snapshot plus the changes since
    assert reopened.reader.opened_from == "snapshot" and reopened.reader.delta_size > 0
    _compare(reopened, db, rng)
