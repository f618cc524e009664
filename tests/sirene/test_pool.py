"""The SIRENE pool on small generated stock files with INSEE's real columns: who becomes a
candidate and where, the pole's own records, departures, idempotence (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from matcher import store
from matcher.contract.imports import import_frame
from matcher.reference.communes import shipped
from matcher.reference.territories import Territory
from matcher.sirene.pool import import_pool
from matcher.sirene.stock import StockFile
from tests.sirene.stock_files import estab, lambert, siren, stocks, unit

A, SCOP, SCIC, PERSON, REV1, CEASED, MOVED, PARIS, NOCOORD, MEMBER, ORPHAN, NOWHERE, REUNION = (
    siren(10_000_000 + i) for i in range(13))
NANTES = lambert(47.2184, -1.5536)
ST_NAZAIRE = lambert(47.2735, -2.2138)
TERRITORY = Territory(departements=frozenset({"44", "49", "85"}), label="test")


def units_rows(**changes) -> list[dict]:
    rows = {
        A: unit(A, "MENUISERIE DUPONT", naf="16.23Z", band="11"),
        SCOP: unit(SCOP, "ATELIER COOP", legal="5458", ess="O"),
        SCIC: unit(SCIC, "SCIC LES JARDINS DU LOIRET", legal="5599", naf="01.13Z"),
        PERSON: unit(PERSON, "", legal="1000", diffusion="P", nomUniteLegale="[ND]", prenom1UniteLegale="[ND]",
                     band="NN"),
        REV1: unit(REV1, "HOTEL DU PORT", naf="55.1A", nomenclature="NAFRev1", band=""),
        CEASED: unit(CEASED, "ANCIENNE BOULANGERIE", state="C"),
        MOVED: unit(MOVED, "MACONNERIE BRIAND", naf="43.99C", legal="5499"),
        PARIS: unit(PARIS, "CABINET PARISIEN"),
        NOCOORD: unit(NOCOORD, "", legal="1000", prenomUsuelUniteLegale="JEANNE", nomUniteLegale="MARTIN",
                      nomUsageUniteLegale="DURAND"),
        MEMBER: unit(MEMBER, "SARL FRERES LEROUX", naf="43.32A", band="12", legal="5499", ess="O"),
        NOWHERE: unit(NOWHERE, "SANS LIEU"),
    }
    for key, value in changes.items():
        rows[key] = value
    return [r for r in rows.values() if r is not None]


def estab_rows(**changes) -> list[dict]:
    rows = {
        "a": estab(A, "00012", "44109", postal="44000", xy=NANTES),
        "scop": estab(SCOP, "00018", "49007", postal="49000", xy=lambert(47.4784, -0.5632)),
        "scic": estab(SCIC, "00015", "85191", postal="85000", xy=lambert(46.6705, -1.4260)),
        "person": estab(PERSON, "00011", "49007", postal="49000", xy=("[ND]", "[ND]"), diffusion="P"),
        "rev1": estab(REV1, "00010", "44184", postal="44600", xy=ST_NAZAIRE),
        "ceased": estab(CEASED, "00013", "44109", state="F", xy=NANTES),
        # a closed head office in Nantes, its open secondary establishment in Saint-Nazaire
        "moved_head": estab(MOVED, "00014", "44109", state="F", xy=NANTES),
        "moved_2nd": estab(MOVED, "00022", "44184", head=False, postal="44600", xy=ST_NAZAIRE),
        "paris": estab(PARIS, "00016", "75101", xy=lambert(48.8606, 2.3376)),
        "nocoord": estab(NOCOORD, "00017", "85191", postal="85000"),
        "member": estab(MEMBER, "00019", "44109", postal="44000", xy=NANTES),
        "orphan": estab(ORPHAN, "00020", "49007", xy=lambert(47.4784, -0.5632)),
        "nowhere": estab(NOWHERE, "00021", "44999"),
    }
    for key, value in changes.items():
        rows[key] = value
    return [r for r in rows.values() if r is not None]


def run(db, folder, units, estabs, fmt="csv", territory=TERRITORY, day=dt.date(2026, 11, 1)):
    u, e = stocks(folder, units, estabs, fmt)
    return import_pool(db, StockFile.open(u, label="--unites"), StockFile.open(e, label="--etablissements"),
                       territory, shipped(), today=day)


def pool(db) -> pd.DataFrame:
    return store.read_frame(db, store.candidates).set_index("candidate_id")


def declare_member(db):
    """The pole's own record of a member: another kind, declared interests and budget, a place."""
    raw = pd.DataFrame([{"candidate_id": MEMBER, "kind": "pole_member", "name": "Frères Leroux (membre du pôle)",
                         "sought_naf": "43.3;43.9", "budget_eur": "200000", "commune": "49007", "naf": "43.31Z",
                         "pole": "ptce-44", "radius_km": "70"}])
    assert import_frame(db, "candidates", raw, communes=shipped()).stored == 1


@pytest.mark.parametrize("fmt", ["csv", "zip", "parquet"])
def test_who_becomes_a_candidate_and_where(db, tmp_path, fmt):
    declare_member(db)
    report = run(db, tmp_path / fmt, units_rows(), estab_rows(), fmt)
    got = pool(db)
    assert sorted(got.index) == sorted([A, SCOP, SCIC, PERSON, REV1, MOVED, NOCOORD, MEMBER])
    a = got.loc[A]
    assert (a["kind"], a["name"], a["naf"], a["headcount"], a["legal_form"], a["ess"], a["source"]) == (
        "company", "MENUISERIE DUPONT", "16.23Z", 14, "5710", False, "sirene")
    assert (a["lat"], a["lon"]) == (pytest.approx(47.2184, abs=1e-4), pytest.approx(-1.5536, abs=1e-4))
    assert (a["commune"], a["departement"]) == ("44109", "44") and pd.isna(a["radius_km"])  # the kind's default
    assert got.loc[SCOP, "kind"] == "cooperative" and got.loc[SCOP, "ess"] in (True,)
    assert got.loc[SCIC, "kind"] == "cooperative"  # named in the denomination
    person = got.loc[PERSON]
    assert person["name"] == "Entrepreneur individuel (non diffusible)" and "[ND]" not in person["name"]
    centre = shipped().by_insee.loc["49007"]
    assert (person["lat"], person["lon"], person["headcount"]) == (centre["lat"], centre["lon"], 0)
    assert pd.isna(got.loc[REV1, "naf"]) and pd.isna(got.loc[REV1, "headcount"])  # NAF rév. 1 is not read as rév. 2
    assert got.loc[MOVED, "commune"] == "44184"  # the open secondary establishment, not the closed head office
    assert got.loc[MOVED, "lat"] == pytest.approx(47.2735, abs=1e-4)
    assert got.loc[NOCOORD, "name"] == "JEANNE DURAND"
    assert got.loc[NOCOORD, "lat"] == shipped().by_insee.loc["85191", "lat"]
    member = got.loc[MEMBER]  # refreshed from SIRENE, keeps what the pole declared
    assert (member["kind"], member["name"], member["sought_naf"], member["budget_eur"], member["pole"],
            member["radius_km"], member["source"]) == (
        "pole_member", "Frères Leroux (membre du pôle)", ["43.3", "43.9"], 200000, ["ptce-44"], 70, "import")
    assert (member["naf"], member["headcount"], member["commune"]) == ("43.32A", 34, "44109")
    assert (member["legal_form"], member["ess"]) == ("5499", True)  # empty in the pole's record: filled
    assert (report.establishments_read, report.in_territory, report.units_in_territory) == (13, 10, 9)
    assert (report.new, report.updated, report.unchanged) == (7, 1, 0)
    assert dict(report.rejected) == {"no place": 1, "not in the units file": 1}
    reasons = report.rejects.set_index("siren")["reason"]
    assert reasons[NOWHERE] == "commune 44999 is not in reprise_data/communes.csv.gz"
    assert ORPHAN in reasons[ORPHAN] and "no row in the units file" in reasons[ORPHAN]
    # its line in the units file (the header is line 1), its row number in a Parquet file
    assert report.rejects.set_index("siren").loc[NOWHERE, "line"] == (11 if fmt == "parquet" else 12)


def test_next_month_closures_leave_the_pool_and_reimporting_changes_nothing(db, tmp_path):
    declare_member(db)
    run(db, tmp_path / "m1", units_rows(), estab_rows())
    store.upsert(db, store.companies, [{"siren": "802649921", "name": "Client", "lat": 47.2, "lon": -1.55,
                                        "procedure": "redressement", "confidential": False, "naf": "16.23Z"}])
    store.upsert(db, store.outcomes, [{"siren": "802649921", "candidate_id": A, "outcome": "contacted", "date": ""}])
    revision = store.changes.revision(db)
    again = run(db, tmp_path / "m1b", units_rows(), estab_rows())
    assert (again.new, again.updated, again.unchanged, sum(again.left.values())) == (0, 0, 8, 0)
    assert store.changes.revision(db) == revision  # nothing written, nothing for the index to re-read
    later = run(db, tmp_path / "m2", units_rows(**{A: unit(A, "MENUISERIE DUPONT", state="C"),
                                                   MEMBER: unit(MEMBER, "SARL FRERES LEROUX", state="C"),
                                                   REV1: None}),
                estab_rows(moved_2nd=estab(MOVED, "00022", "44184", head=False, state="F"), rev1=None),
                day=dt.date(2026, 12, 1))
    assert dict(later.left) == {"ceased": 2, "closed": 1, "not_in_register": 1}
    got = pool(db)
    assert got.loc[[A, MEMBER, MOVED, REV1], "left_pool"].tolist() == ["ceased", "ceased", "closed", "not_in_register"]
    assert set(got.loc[[A, MOVED], "left_at"]) == {"2026-12-01"}
    assert pd.isna(got.loc[SCOP, "left_pool"])
    assert len(store.fetch(db, store.outcomes)) == 1  # outcomes are kept
    repeat = run(db, tmp_path / "m2b", units_rows(**{A: unit(A, "MENUISERIE DUPONT", state="C"),
                                                    MEMBER: unit(MEMBER, "SARL FRERES LEROUX", state="C"),
                                                    REV1: None}),
                 estab_rows(moved_2nd=estab(MOVED, "00022", "44184", head=False, state="F"), rev1=None))
    assert (repeat.new, repeat.updated, sum(repeat.left.values())) == (0, 0, 0)
    back = run(db, tmp_path / "m3", units_rows(), estab_rows())  # reopened: back in the pool
    assert back.updated == 4 and pool(db).loc[[A, MEMBER, MOVED, REV1], "left_pool"].isna().all()


def test_utm_coordinates_overseas(db, tmp_path):
    sid = siren(20_000_001)
    run(db, tmp_path, [unit(sid, "DISTILLERIE DU NORD")],
        [estab(sid, "00011", "97411", postal="97400", xy=("338811.2", "7690101.4"))],
        territory=Territory(departements=frozenset({"974"})))
    row = pool(db).loc[sid]
    assert (row["lat"], row["lon"]) == (pytest.approx(-20.8823, abs=1e-3), pytest.approx(55.4504, abs=1e-3))
    assert row["departement"] == "974"


def test_a_circle_territory_is_tested_on_the_point(db, tmp_path):
    inside, outside = siren(30_000_001), siren(30_000_002)
    # both in Nantes' commune; one point 1 km from the centre, the other 12 km away in the same commune code
    run(db, tmp_path, [unit(inside, "DEDANS"), unit(outside, "DEHORS")],
        [estab(inside, "00011", "44109", xy=lambert(47.2184, -1.5536)),
         estab(outside, "00011", "44109", xy=lambert(47.2184, -1.3936))],
        territory=Territory(circles=((47.2184, -1.5536, 5.0),)))
    assert list(pool(db).index) == [inside]


@pytest.mark.parametrize("logged", ["by id", "as everything"])
def test_a_running_index_drops_the_candidates_that_leave(db, tmp_path, monkeypatch, logged):
    """What the API's engine does between two answers: refresh from the change log (a few ids,
    or "all" for a large import, which rebuilds from the pool)."""
    from matcher.ranking.reader import IndexReader
    from matcher.store import changes
    run(db, tmp_path / "m1", units_rows(), estab_rows())
    reader = IndexReader(db, tmp_path / "index").open()
    assert reader.index.positions_of([A, SCOP]).min() >= 0 and len(reader.index) == 8
    if logged == "as everything":
        monkeypatch.setattr(changes, "LIST_LIMIT", 0)
    run(db, tmp_path / "m2", units_rows(**{A: unit(A, "MENUISERIE DUPONT", state="C")}), estab_rows())
    assert reader.refresh()
    assert reader.index.positions_of([A]).tolist() == [-1] and reader.index.positions_of([SCOP]).min() >= 0
    assert len(reader.index) == 7
    assert IndexReader(db, tmp_path / "index").open().index.positions_of([A]).tolist() == [-1]  # a new process


def test_progress_is_reported_as_the_files_are_read(db, tmp_path):
    u, e = stocks(tmp_path, units_rows(), estab_rows(), "zip")
    seen: dict[str, list[int]] = {"establishments": [], "units": []}
    import_pool(db, StockFile.open(u, label="--unites"), StockFile.open(e, label="--etablissements"), TERRITORY,
                shipped(), progress={k: v.append for k, v in seen.items()})
    assert seen["establishments"] and seen["units"]
    assert 0 < seen["establishments"][-1] <= e.stat().st_size  # compressed bytes read of the zip


def test_a_file_without_the_territory_never_empties_the_pool(db, tmp_path):
    from matcher.errors import InputFileError
    run(db, tmp_path / "m1", units_rows(), estab_rows())
    with pytest.raises(InputFileError, match=r"holds no active establishment in the territory .* nothing was changed"):
        run(db, tmp_path / "m2", units_rows(), [estab(PARIS, "00016", "75101")])
    assert pool(db)["left_pool"].isna().all()
    empty = run(db, tmp_path / "m3", [], [], territory=Territory(departements=frozenset({"2A"})))
    assert (empty.in_territory, empty.stored, sum(empty.left.values())) == (0, 0, 0)  # a territory never imported


def test_chunks_give_the_same_pool_as_one_pass(db, tmp_path, monkeypatch):
    from matcher.sirene import pool as pool_module
    declare_member(db)
    monkeypatch.setattr(pool_module, "CHUNK", 3)
    report = run(db, tmp_path, units_rows(), estab_rows())
    assert (report.new, report.updated, dict(report.rejected)) == (7, 1, {"no place": 1, "not in the units file": 1})
    assert sorted(pool(db).index) == sorted([A, SCOP, SCIC, PERSON, REV1, MOVED, NOCOORD, MEMBER])
    assert list(report.rejects.columns)[:3] == ["file", "line", "reason"]
