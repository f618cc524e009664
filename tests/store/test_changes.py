"""The store's revision: every write the index is built from is logged in its own transaction."""

from __future__ import annotations

import pandas as pd
import pytest

from matcher import store
from matcher.contract.imports import import_frame
from matcher.store import changes
from matcher.store.erasure import erase_candidate, erase_company

CANDIDATE = {"candidate_id": "R-000001", "kind": "repreneur", "name": "Ana Roy", "lat": 47.2, "lon": -1.55}


def test_every_write_path_moves_the_revision_with_what_changed(db):
    assert changes.revision(db) == 0 and not changes.changes_since(db, 0)
    store.upsert(db, store.candidates, [CANDIDATE, {**CANDIDATE, "candidate_id": "443061841", "kind": "company"}])
    r1 = changes.revision(db)
    assert changes.changes_since(db, 0).candidate_ids == {"R-000001", "443061841"}
    # a company that is also a candidate: its procedure changes the index (it is then excluded)
    store.upsert(db, store.companies, [{"siren": "443061841", "name": "X", "lat": 47.0, "lon": -1.5,
                                        "procedure": "liquidation"},
                                       {"siren": "732829320", "name": "Y", "lat": 47.0, "lon": -1.5,
                                        "procedure": "liquidation"}])
    r2 = changes.revision(db)
    assert r2 > r1 and changes.changes_since(db, r1).candidate_ids == {"443061841"}
    store.upsert(db, store.companies, [{"siren": "732829320", "name": "Y2", "lat": 47.0, "lon": -1.5,
                                        "procedure": "none"}])
    assert changes.revision(db) == r2  # not a candidate: the index does not change
    assert erase_company(db, "443061841")
    assert changes.changes_since(db, r2).candidate_ids == {"443061841"}
    r3 = changes.revision(db)
    assert erase_candidate(db, "R-000001")
    erased = changes.changes_since(db, r3)  # logged without the id: readers drop what is no longer stored
    assert erased.erased and not erased.candidate_ids and changes.stored_candidate_ids(db) == {"443061841"}
    r4 = changes.revision(db)
    assert not erase_candidate(db, "R-404")
    assert changes.revision(db) == r4  # nothing deleted, nothing logged
    store.upsert(db, store.poles, [{"pole_id": "P1", "name": "Pôle"}])
    found = changes.changes_since(db, r4)
    assert found.poles and not found.candidate_ids and not found.everything


def test_a_national_import_is_logged_as_everything(db, monkeypatch):
    monkeypatch.setattr(changes, "LIST_LIMIT", 5)
    frame = pd.DataFrame([{**CANDIDATE, "candidate_id": f"R-{i:06d}"} for i in range(8)])
    report = import_frame(db, "candidates", frame)
    assert report.stored == 8
    found = changes.changes_since(db, 0)
    assert found.everything and not found.candidate_ids


def test_marks_tell_a_store_from_another_and_forgetting_keeps_the_revision(db):
    store.upsert(db, store.candidates, [CANDIDATE])
    store.upsert(db, store.candidates, [{**CANDIDATE, "name": "Ana Roy-Le Goff"}])
    rev = changes.revision(db)
    assert changes.mark(db, rev) is not None and changes.mark(db, rev + 1) is None
    assert changes.horizon(db) == 0
    assert changes.forget_before(db, rev) == 1  # the last row stays: the revision never goes back
    assert changes.revision(db) == rev and changes.horizon(db) == rev - 1


@pytest.mark.parametrize("rows", [1, 3])
def test_a_failed_write_logs_nothing(db, rows):
    bad = [{**CANDIDATE, "candidate_id": f"R-{i}"} for i in range(rows)] + [{**CANDIDATE, "candidate_id": None}]
    with pytest.raises(Exception):  # noqa: B017 - the driver's own integrity error
        store.upsert(db, store.candidates, bad)
    assert changes.revision(db) == 0
