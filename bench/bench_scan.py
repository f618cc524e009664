"""The daily scan at national scale: N BODACC announcements against M candidates.

    python bench/bench_scan.py --announcements 60000 --candidates 100000 --plain-sample 5

Generates a JSON Lines file in the open-data layout (nested fields as JSON text, 20% French-text
dates, 10% natural persons without SIREN, a realistic mix of judgments) for companies from
``matcher.demo.build.synth_companies`` on real postal codes (../shared/data/communes.csv), imports the
candidates from ``synth_candidates`` into a SQLite store, then times ``scan_file``:
read + classify + store (announcements/s) and ranking of the newly actionable companies
(companies/s, engine build included), locally and on a ``LocalCluster`` of 2 worker processes,
next to the plain approach (pandas cross join + per-pair RapidFuzz) timed on a sample of the same
companies and extrapolated per company.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED, machine, places, timed
from plain import plain_match, prepare

from matcher import store
from matcher.contract.imports import import_frame
from matcher.contract.specs import DEFAULT_RADIUS_KM
from matcher.demo.build import synth_candidates, synth_companies
from matcher.reference.communes import Communes
from matcher.scan.daily import scan_file

# (famille, nature, share): openings make about 45% of collective-procedure notices.
MIX = [
    ("Jugement d'ouverture", "Jugement d'ouverture de liquidation judiciaire", 0.27),
    ("Jugement d'ouverture", "Jugement d'ouverture d'une procédure de redressement judiciaire", 0.12),
    ("Jugement d'ouverture", "Jugement d'ouverture d'une procédure de sauvegarde", 0.02),
    ("Jugement prononçant", "Jugement de conversion en liquidation judiciaire", 0.04),
    ("Extrait de jugement", "Jugement de plan de redressement", 0.05),
    ("Extrait de jugement", "Jugement arrêtant le plan de cession", 0.02),
    ("Jugement de clôture", "Jugement de clôture pour insuffisance d'actif", 0.22),
    ("Avis de dépôt", "Dépôt de l'état des créances", 0.15),
    ("Extrait de jugement", "Jugement d'interdiction de gérer", 0.03),
    ("Extrait de jugement", "Autre jugement et ordonnance", 0.08),
]
CATCH_ALL_TEXTS = ["Arrête un plan de sauvegarde - Jugement arrêtant le plan de sauvegarde sur 8 ans.",
                   "Jugement remplaçant le mandataire judiciaire.",
                   "Jugement prorogeant la période d'observation de six mois."]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]


def bodacc_file(path: Path, n: int, seed: int, pl: pd.DataFrame) -> int:
    """Write ``n`` announcements about ``0.8 n`` companies; returns the number of companies."""
    rng = np.random.default_rng(seed)
    m = int(n * 0.8)
    comps = synth_companies(m, seed=2, places=pl)
    who = np.concatenate([np.arange(m), rng.integers(0, m, n - m)])
    kind = rng.choice(len(MIX), n, p=np.array([s for *_, s in MIX]) / sum(s for *_, s in MIX))
    day = rng.integers(0, 365, n)
    french = rng.random(n) < 0.2
    natural = rng.random(n) < 0.25
    no_siren = natural & (rng.random(n) < 0.4)
    rows = comps[["siren", "name", "activity", "postal_code"]].astype(object).to_dict("records")
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            c = rows[who[i]]
            d = pd.Timestamp("2026-01-01") + pd.Timedelta(days=int(day[i]))
            date = f"{d.day}\u00a0{MONTHS[d.month - 1]}\u00a0{d.year}" if french[i] else d.date().isoformat()
            famille, nature, _ = MIX[kind[i]]
            complement = CATCH_ALL_TEXTS[i % 3] if "Autre" in nature else nature + "."
            siren = None if no_siren[i] else str(c["siren"])
            activity = c["activity"] if isinstance(c["activity"], str) and c["activity"] else "non précisée"
            person = {"typePersonne": "pp" if natural[i] else "pm", "activite": activity,
                      "adresseSiegeSocial": {"codePostal": c["postal_code"], "ville": "X"}}
            person.update({"nom": str(c["name"]).split()[-1], "prenom": "Jean"} if natural[i]
                          else {"denomination": c["name"]})
            if siren:
                person["numeroImmatriculation"] = {"numeroIdentification": f"{siren[:3]} {siren[3:6]} {siren[6:]}"}
            rec = {"id": f"B{seed}{i:08d}", "familleavis": "collective", "dateparution": d.date().isoformat(),
                   "commercant": c["name"], "cp": c["postal_code"],
                   "registre": [siren, person.get("numeroImmatriculation", {}).get("numeroIdentification")]
                   if siren else None,
                   "listepersonnes": json.dumps({"personne": person}, ensure_ascii=False),
                   "jugement": json.dumps({"type": "initial", "famille": famille, "nature": nature,
                                           "date": date, "complementJugement": complement}, ensure_ascii=False)}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return m


def run_scan(db_path: Path, path: Path, communes: Communes, scheduler=None, workers: int = 1) -> dict:
    db = store.connect(f"sqlite:///{db_path}")
    marks: dict[str, float] = {}

    def progress(stage, step, total):
        marks[stage] = time.perf_counter()
    t0 = time.perf_counter()
    report = scan_file(db, path, communes=communes, top=10, scheduler=scheduler, workers=workers,
                       progress=progress)
    end = time.perf_counter()
    stored = marks.get("storing", end)
    db.dispose()
    return {"report": report, "store_s": stored - t0, "rank_s": end - stored}


def line(name: str, res: dict, plain_per_s: float) -> str:
    rep = res["report"]
    rank_rate = rep.ranked / res["rank_s"] if res["rank_s"] else float("nan")
    return (f"{name:<24}{rep.read / res['store_s']:>14,.0f}{rank_rate:>18,.1f}{rep.ranked:>9,}"
            f"{len(rep.matches):>10,}{rank_rate / plain_per_s:>9.0f}x   "
            f"(store {res['store_s']:.0f}s, rank {res['rank_s']:.0f}s, load {os.getloadavg()[0]:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--announcements", type=int, default=60_000)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--plain-sample", type=int, default=5)
    ap.add_argument("--runs", default="local1,local2,dask", help="comma-separated: local1, local2, dask")
    args = ap.parse_args()
    runs = args.runs.split(",")
    print(machine(), flush=True)
    pl = places()
    communes = Communes.from_file(SHARED / "data" / "communes.csv")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "bodacc.jsonl"
        m, t_gen = timed(bodacc_file, path, args.announcements, 5, pl)
        cands = synth_candidates(args.candidates, seed=1, places=pl)
        base = tmp / "base.db"
        db = store.connect(f"sqlite:///{base}")
        rep, t_imp = timed(import_frame, db, "candidates", cands)
        db.dispose()
        print(f"{args.announcements:,} announcements about {m:,} companies written in {t_gen:.1f}s "
              f"({path.stat().st_size / 2**20:.0f} MB); {rep.stored:,} candidates imported in {t_imp:.1f}s")
        # the plain approach first, on a sample of the same companies, extrapolated per company
        plain_cands = prepare(cands.assign(lat=cands["lat"].astype(float), lon=cands["lon"].astype(float)),
                              DEFAULT_RADIUS_KM)
        sample = synth_companies(args.plain_sample, seed=2, places=pl).to_dict("records")
        t = time.perf_counter()
        for c in sample:
            plain_match({"lat": float(c["lat"]), "lon": float(c["lon"]), "text": c["activity"]}, plain_cands)
        plain_per_s = len(sample) / (time.perf_counter() - t)
        print(f"\n{'run':<24}{'scan ann./s':>14}{'rank companies/s':>18}{'ranked':>9}{'options':>10}"
              f"{'vs plain':>10}")
        print(f"{'plain (cross join+fuzz)':<24}{'':>14}{plain_per_s:>18,.2f}{len(sample):>9}  (a sample of the "
              f"same companies; load {os.getloadavg()[0]:.2f})", flush=True)
        first = None
        for run in runs:
            db_path = tmp / f"{run}.db"
            shutil.copy(base, db_path)
            if run == "dask":
                from distributed import LocalCluster

                from matcher.ranking.distributed import DaskRanker
                from matcher.ranking.engine import Engine
                t = time.perf_counter()
                with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
                    started = time.perf_counter() - t
                    res = run_scan(db_path, path, communes, scheduler=cluster.scheduler_address)
                    # the cluster part alone: the same companies again, engine already on the workers
                    db = store.connect(f"sqlite:///{db_path}")
                    with DaskRanker(Engine.from_store(db), cluster.scheduler_address) as ranker:
                        _, t_warm = timed(ranker.rank, res["report"].cases, top=10)
                    db.dispose()
                print(line("dask LocalCluster(2)", res, plain_per_s) + f" cluster start {started:.1f}s; "
                      f"warm re-rank {len(res['report'].cases) / t_warm:,.1f} companies/s", flush=True)
            else:
                res = run_scan(db_path, path, communes, workers=2 if run == "local2" else 1)
                print(line("local, 2 processes" if run == "local2" else "local, 1 process", res, plain_per_s),
                      flush=True)
            if first is None:
                first = res["report"]
                print("   " + first.summary(), flush=True)
            else:
                print(f"   matches identical to the first run: {res['report'].matches.equals(first.matches)}",
                      flush=True)
            db_path.unlink()
        print(f"extrapolated plain approach for {first.ranked:,} companies: {first.ranked / plain_per_s / 3600:.1f} h")
    print(f"load after run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
