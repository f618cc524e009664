"""The linked-first search skips the grid cells its bound rules out, and still gives the list
that scoring every candidate in reach gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from matcher import store
from matcher.contract.imports import import_frame
from matcher.ranking import search as search_module
from matcher.ranking.engine import Engine
from matcher.ranking.score import TransparentScorer
from matcher.store.records import company_rows

NANTES = (47.218, -1.554)
COMPANY = {"siren": "802649921", "name": "Menuiserie Durand", "naf": "43.32A", "lat": NANTES[0], "lon": NANTES[1],
           "headcount": "1", "revenue_eur": "600000", "procedure": "redressement"}


def _at(km: float, bearing_deg: float) -> tuple[float, float]:
    """A point ``km`` from Nantes on a bearing (flat earth: close enough at these distances)."""
    b = math.radians(bearing_deg)
    return (NANTES[0] + km * math.cos(b) / 111.2,
            NANTES[1] + km * math.sin(b) / (111.2 * math.cos(math.radians(NANTES[0]))))


def _firm(cid: str, km: float, bearing: float, naf: str, *, strong: bool, esus: bool | None = None,
          radius: str = "100") -> dict:
    lat, lon = _at(km, bearing)
    row = {"candidate_id": cid, "kind": "company", "name": f"Firm {cid}", "lat": lat, "lon": lon, "naf": naf,
           "radius_km": radius, "headcount": "20" if strong else "2"}
    if strong:
        row |= {"budget_eur": "400000", "trains_apprentices": "true"}
    if esus if esus is not None else strong:
        row["esus"] = "true"
    return row


def _posted() -> dict:
    lat, lon = _at(200, 120)  # tied by a declared interest, far away: scored whatever its distance
    return {"candidate_id": "R-1", "kind": "repreneur", "name": "Ana", "lat": lat, "lon": lon, "radius_km": "400",
            "sought_naf": "43.32A", "budget_eur": "900000"}


FAR = [f"F{i:03d}" for i in range(80)]


def _pruned() -> list[dict]:
    """The best firms next door; 80 of the trade's own and its neighbours' 13-14.5 km away (radius
    14 km: in reach, in grid cells 7.5 km wide), near the axes so no cell touching a box a few km
    around the company holds them. Their bound rules them out."""
    rows = [_firm(f"N{i}", 0.3, 90 * i, "43.32A", strong=True) for i in range(3)]
    rows += [_firm("N3", 0.1, 45, "43.32A", strong=True), _firm("V", 1.0, 10, "16.23Z", strong=True)]
    rng = np.random.default_rng(7)
    for i, cid in enumerate(FAR):
        bearing = 90 * (i % 4) + float(rng.uniform(-15, 15))
        rows.append(_firm(cid, float(rng.uniform(13, 14.5)), bearing, "43.32A" if i % 2 else "16.23Z",
                          strong=bool(i % 3), radius="14"))
    return [*rows, _posted()]


def _beyond_ring() -> list[dict]:
    """Next door, firms a little weaker than one 4 km away, which enters the list from beyond the
    first ring when the bound lets it be read."""
    rows = [_firm(f"N{i}", 0.3, 90 * i, "43.32A", strong=True, esus=False) for i in range(3)]
    return [*rows, _firm("B4", 4.0, 200, "43.32A", strong=True), _posted()]


class _NoBound(TransparentScorer):
    @property
    def bound(self):
        return None


@pytest.fixture
def territory(sqlite_url, request):
    db = store.connect(sqlite_url)
    assert import_frame(db, "companies", pd.DataFrame([COMPANY])).rejected == 0
    report = import_frame(db, "candidates", pd.DataFrame(request.param()))
    assert report.rejected == 0, report.rejects.to_dict("records")
    yield db
    db.dispose()


def _lists(db, monkeypatch, ring_km: float):
    monkeypatch.setattr(search_module, "RING_KM", ring_km)
    bounded, full = Engine.from_store(db), Engine.from_store(db, scorer=_NoBound())
    bounded.shortcut_from = 0  # the linked-first search, as at scale
    measured: list[np.ndarray] = [np.zeros(0, np.int64)]
    plain = bounded.index._in_reach

    def recording(lat, lon, cand, limit):
        measured.append(np.asarray(cand, dtype=np.int64))
        return plain(lat, lon, cand, limit)

    bounded.index._in_reach = recording
    company = company_rows(db)[0]
    a, b = bounded.match(company, top=3), full.match(company, top=3)
    return a, b, {str(bounded.index.ids[p]) for p in np.concatenate(measured)}


@pytest.mark.parametrize("territory", [_pruned], indirect=True)
@pytest.mark.parametrize("ring_km", [3.0, 0.5])
def test_cells_out_of_reach_are_never_read_and_the_list_is_exact(territory, monkeypatch, ring_km):
    a, b, read = _lists(territory, monkeypatch, ring_km)
    assert [o.as_dict() for o in a.options] == [o.as_dict() for o in b.options]
    assert {"N3", "R-1"} <= read
    assert not set(FAR) & read  # none of the distant firms' distances was even measured
    assert a.excluded_counts["not_scored"] >= len(FAR)


@pytest.mark.parametrize("territory", [_beyond_ring], indirect=True)
def test_a_candidate_beyond_the_ring_is_read_and_a_bound_too_low_would_miss_it(territory, monkeypatch):
    """With the trade's bound 0.05 too low, the firm 4 km away is not scored and the list is wrong:
    the exactness checked here depends on the bound being right."""
    a, b, _ = _lists(territory, monkeypatch, 3.0)
    assert "B4" in [o.candidate_id for o in b.options]
    assert [o.as_dict() for o in a.options] == [o.as_dict() for o in b.options]
    real = TransparentScorer.trade_bound
    monkeypatch.setattr(TransparentScorer, "trade_bound", lambda self, q, **kw: real(self, q, **kw) - 0.05)
    a, b, _ = _lists(territory, monkeypatch, 3.0)
    assert "B4" not in [o.candidate_id for o in a.options]
    assert [o.as_dict() for o in a.options] != [o.as_dict() for o in b.options]
