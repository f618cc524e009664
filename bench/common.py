"""Shared set-up for benchmarks: generated data on real places, timing helpers, machine facts."""

from __future__ import annotations

import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))


def places() -> pd.DataFrame:
    """Real communes with coordinates and population (../shared/data/communes.csv)."""
    df = pd.read_csv(SHARED / "data" / "communes.csv", dtype=str, keep_default_na=False)
    df = df[(df["lat"] != "") & (df["lng"] != "")]
    return pd.DataFrame({
        "insee": df["insee_com"], "commune": df["commune"], "postal_code": df["code_postal"],
        "departement": df["insee_dep"],
        "lat": df["lat"].astype(float), "lon": df["lng"].astype(float),
        "population": pd.to_numeric(df["population_2021"], errors="coerce").fillna(0),
    }).drop_duplicates("insee").reset_index(drop=True)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "mean": float(ms.mean()), "n": len(ms)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
            f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · {time.strftime('%Y-%m-%d %H:%M')}")


def timed(fn, *args, **kw):
    gc.collect()
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t

