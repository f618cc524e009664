"""Ranking on a Dask LocalCluster (2 worker processes) gives the local rows, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matcher import store
from matcher.cli.main import main
from matcher.contract.identifiers import luhn_valid
from matcher.ranking.batch import match_all
from matcher.ranking.engine import Engine
from matcher.scan.daily import scan_file
from matcher.store.records import company_rows
from tests.conftest import fixture_path

distributed = pytest.importorskip("distributed")

TRADES = ["43.91B", "43.32A", "56.10A", "25.62B", "47.21Z", "41.20A", "96.02A", "10.71C"]
ACTIVITIES = ["couverture, zinguerie", "menuiserie bois", "boulangerie pâtisserie", "restaurant traditionnel",
              "usinage de pièces", "salon de coiffure"]
KINDS = ["company", "pole_member", "cooperative", "repreneur", "employee_group"]


def sirens(n: int, start: int) -> list[str]:
    nums = pd.Series([f"{i:09d}" for i in range(start, start + 12 * n)])
    return list(nums[luhn_valid(nums)][:n])


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cl:
        yield cl


@pytest.fixture
def populated(sqlite_url, tmp_path):
    """A store with 400 candidates and 60 companies in difficulty around the Loire estuary."""
    rng = np.random.default_rng(7)
    n = 400
    kind = rng.choice(KINDS, n)
    firm = np.isin(kind, ["company", "pole_member", "cooperative"])
    ids = np.array([f"P-{i}" for i in range(n)], dtype=object)
    ids[firm] = sirens(int(firm.sum()), 500000000)
    cand = pd.DataFrame({
        "candidate_id": ids, "kind": kind, "name": [f"Candidate {i}" for i in range(n)],
        "naf": rng.choice(TRADES, n),
        "sought_naf": rng.choice(["43", "56.10A;56.30Z", "", "25.62"], n),
        "sought_activity": rng.choice(["", "reprise de boulangerie", "entreprise de couverture"], n),
        "lat": 47.2 + rng.normal(0, 0.3, n), "lon": -1.55 + rng.normal(0, 0.4, n),
        "headcount": rng.integers(0, 60, n), "budget_eur": rng.integers(20, 900, n) * 1000,
    })
    m = 60
    comp = pd.DataFrame({
        "siren": sirens(m, 700000000), "name": [f"Company {i}" for i in range(m)],
        "naf": np.where(rng.random(m) < 0.3, "", rng.choice(TRADES, m)),
        "activity": rng.choice(ACTIVITIES, m),
        "lat": 47.2 + rng.normal(0, 0.3, m), "lon": -1.55 + rng.normal(0, 0.4, m),
        "headcount": rng.integers(0, 40, m),
        "procedure": rng.choice(["sauvegarde", "redressement", "liquidation"], m),
    })
    cand.to_csv(tmp_path / "candidates.csv", index=False)
    comp.to_csv(tmp_path / "companies.csv", index=False)
    for kind in ("candidates", "companies"):
        assert main(["--db", sqlite_url, "import", kind, str(tmp_path / f"{kind}.csv")]) == 0
    return sqlite_url


def test_match_all_dask_equals_local_row_for_row(populated, cluster):
    from matcher.ranking.distributed import match_all_dask

    db = store.connect(populated)
    engine = Engine.from_store(db)
    companies = company_rows(db)
    local = match_all(engine, companies, top=5)
    with distributed.Client(cluster) as client:
        remote = match_all_dask(engine, companies, top=5, kinds=None, scheduler=client, timeout=120)
        pd.testing.assert_frame_equal(remote, local)
        kinds = ["company", "employees"]
        pd.testing.assert_frame_equal(match_all_dask(engine, companies, top=3, kinds=kinds, scheduler=client,
                                                     timeout=120),
                                      match_all(engine, companies, top=3, kinds=kinds))
    assert len(local) > len(companies) and local["siren"].nunique() == len(companies)
    db.dispose()


def test_dask_workers_open_the_snapshot_from_its_path(populated, cluster, tmp_path):
    """An engine over a snapshot reaches the workers as the snapshot's path (plus the delta of
    changes since, by value): each worker maps the files instead of receiving the arrays."""
    from matcher.ranking.distributed import match_all_dask

    db = store.connect(populated)
    engine = Engine.open(db, tmp_path / "index")
    store.upsert(db, store.candidates, [{**store.fetch(db, store.candidates)[0], "candidate_id": "R-NEW01"}])
    assert engine.refresh()  # a delta segment on top of the snapshot
    companies = company_rows(db)
    with distributed.Client(cluster) as client:
        remote = match_all_dask(engine, companies, top=5, kinds=None, scheduler=client, timeout=120)
        opened = client.run(_generations_opened)
    pd.testing.assert_frame_equal(remote, match_all(Engine.from_store(db), companies, top=5))
    assert opened and all(n >= 1 for n in opened.values())  # each worker mapped the snapshot itself
    db.dispose()


def _generations_opened() -> int:
    from matcher.ranking.snapshot import open_generation
    return open_generation.cache_info().currsize


def test_cli_match_all_on_dask_writes_the_local_file(populated, cluster, tmp_path):
    assert main(["--db", populated, "match", "--all", "--top", "4", "--out", str(tmp_path / "local.csv")]) == 0
    assert main(["--db", populated, "match", "--all", "--top", "4", "--out", str(tmp_path / "dask.csv"),
                 "--engine", "dask", "--scheduler", cluster.scheduler_address]) == 0
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_scan_on_dask_ranks_like_local(populated, cluster, tmp_path):
    from matcher.reference.communes import shipped as shipped_communes

    communes = shipped_communes()
    path = fixture_path("bodacc", "pcl_2008_sample.jsonl")
    clean = store.connect(f"sqlite:///{tmp_path / 'local.db'}")
    local = scan_file(clean, path, communes=communes, top=5)
    db = store.connect(f"sqlite:///{tmp_path / 'dask.db'}")
    remote = scan_file(db, path, communes=communes, top=5, scheduler=cluster.scheduler_address, rank_chunk=2)
    pd.testing.assert_frame_equal(remote.matches, local.matches)
    assert remote.ranked == local.ranked == 5
    clean.dispose()
    db.dispose()


def test_unreachable_scheduler_is_a_usage_error(sqlite_url, monkeypatch, capsys, communes_path):
    monkeypatch.setenv("REPRISE_COMMUNES", str(communes_path))
    path = fixture_path("bodacc", "pcl_2008_sample.jsonl")
    assert main(["--db", sqlite_url, "scan", str(path), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in capsys.readouterr().err


def test_match_all_with_an_unreachable_scheduler_is_a_usage_error(sqlite_url, tmp_path, capsys):
    import pandas as pd

    from matcher import store
    from matcher.contract.imports import import_frame
    db = store.connect(sqlite_url)
    import_frame(db, "companies", pd.DataFrame([{"siren": "802649921", "name": "A", "naf": "68.31Z",
                                                 "lat": "43.2", "lon": "5.5", "procedure": "redressement"}]))
    code = main(["--db", sqlite_url, "match", "--all", "--out", str(tmp_path / "m.csv"),
                 "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in capsys.readouterr().err
