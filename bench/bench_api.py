"""Load benchmark of the advisor API: a real uvicorn over 100,000 candidates, loopback only.

32 concurrent keep-alive clients on ``GET /v1/companies/{siren}/matches`` (rotating over
companies in difficulty) and on ``GET /health`` (the framework's ceiling), side by side:
requests/s, p50/p99 latency, errors. The load generator is ``wrk`` when installed (Debian package
``wrk``), else a raw asyncio HTTP/1.1 client. The client shares the 2 cores with the server, so
figures are lower bounds. The plain approach (a pandas cross join with per-pair RapidFuzz calls)
is timed on a few of the same companies, in-process, for the ratio.

    python bench/bench_api.py [--candidates 100000] [--seconds 8] [--workers 1] [--client auto|wrk|asyncio]

The store is built once (import kept out of the timing) and reused from ``--cache``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CLIENTS = 32


def build_store(url: str, n: int, n_companies: int, cache: Path) -> None:
    """``n`` synthetic candidates over the national communes file, and ``n_companies`` companies."""
    from matcher import store
    from matcher.contract.imports import import_file
    from matcher.demo.build import synth_candidates, synth_companies, write_csv

    places = None
    communes = SHARED / "data" / "communes.csv"
    if communes.exists():
        places = pd.read_csv(communes, dtype={"insee_com": str, "code_postal": str, "insee_dep": str})
    db = store.connect(url)
    for kind, frame in (("candidates", synth_candidates(n, places=places)),
                        ("companies", synth_companies(n_companies, places=places))):
        path = write_csv(frame, cache / f"{kind}.csv")  # through the contract's CSV, as a pole would
        print(f"  import {kind}: {import_file(db, kind, path).summary()}", flush=True)
    db.dispose()


def prepare(cache: Path, n: int, n_companies: int) -> tuple[str, list[str], str]:
    """Store URL, SIRENs to query (non-confidential), and a fresh analyst key."""
    from api.security import create_key
    from matcher import store

    path = cache / f"store-{n}-{n_companies}.db"
    url = f"sqlite:///{path}"
    done = path.with_suffix(".done")
    if not done.exists():
        path.unlink(missing_ok=True)
        t = time.perf_counter()
        build_store(url, n, n_companies, cache)
        done.touch()
        print(f"  store built in {time.perf_counter() - t:.0f} s (not timed)", flush=True)
    db = store.connect(url)
    companies = pd.DataFrame(store.fetch(db, store.companies))
    sirens = companies.loc[~companies["confidential"].astype(bool) & (companies["procedure"] != "none"), "siren"]
    key = create_key(db, role="analyst", label="bench_api")[1]
    writer = create_key(db, role="admin", label="bench_api")[1]
    db.dispose()
    return url, sorted(sirens), key, writer


def start_server(url: str, port: int, workers: int, cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "--db", url, "serve", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], cwd=cwd,
                            env={**os.environ, "REPRISE_MODELS_DIR": str(cwd / "models")})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                # the port listens once every worker has loaded its index
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server was not ready within 300 s")


def prime(port: int, paths: list[str], key: str) -> None:
    """Ask once for each path (not timed), so the repeated run reads ranked results from the cache."""
    for path in paths:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()


def timed_writes(port: int, key: str) -> tuple[float, float]:
    """Seconds to create then erase one candidate: each answers once the rebuilt index serves."""
    record = {"candidate_id": "bench-api-write", "kind": "repreneur", "name": "Repreneur de test",
              "naf": "16.23Z", "lat": 47.2, "lon": -1.55}
    times = []
    for method, path, body in (("POST", "/v1/candidates", json.dumps(record).encode()),
                               ("DELETE", "/v1/candidates/bench-api-write", None)):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=300) as r:
            r.read()
        times.append(time.perf_counter() - t)
    return times[0], times[1]


def run_wrk(port: int, paths: list[str], key: str, seconds: float, tmp: Path) -> dict:
    script = tmp / "paths.lua"
    items = ",".join(f'"{p}"' for p in paths)
    # each wrk thread walks its own half of the list, so no path repeats before the list wraps
    script.write_text(f"local paths = {{{items}}}\nlocal n = 0\nfunction setup(thread)\n"
                      f"  thread:set(\"start\", n)\n  n = n + 1\nend\nlocal i = -1\n"
                      f"request = function()\n  if i < 0 then i = start * math.floor(#paths / 2) end\n"
                      f"  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
    out = subprocess.run(["wrk", "-t2", f"-c{CLIENTS}", f"-d{int(seconds)}s", "--latency", "--timeout", "5s",
                          "-H", f"Authorization: Bearer {key}", "-s", str(script), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50"),
            "p99": ms("99"), "requests": requests, "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}


async def _client(port: int, paths: list[str], key: str, stop: float, turn, lat: list, errs: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            path = paths[next(turn) % len(paths)]
            t = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            if not head.startswith(b"HTTP/1.1 200"):
                errs.append(head.split(b"\r\n", 1)[0])
    except (OSError, asyncio.IncompleteReadError) as exc:
        errs.append(repr(exc))
    finally:
        writer.close()


def run_asyncio(port: int, paths: list[str], key: str, seconds: float, tmp: Path) -> dict:
    lat: list[float] = []
    errs: list = []

    async def main() -> float:
        t0 = time.perf_counter()
        turn = itertools.count()  # shared: no path repeats before the list wraps
        await asyncio.gather(*(_client(port, paths, key, t0 + seconds, turn, lat, errs) for c in range(CLIENTS)))
        return time.perf_counter() - t0
    elapsed = asyncio.run(main())
    ms = np.array(lat) * 1000
    return {"rps": len(lat) / elapsed, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "requests": len(lat), "errors": len(errs)}


def plain_seconds_per_query(url: str, sirens: list[str], queries: int = 3) -> float:
    """The plain approach: cross join one company with every candidate in pandas, per-pair RapidFuzz
    on the activity labels, distance, weighted score, top 10."""
    from rapidfuzz import fuzz

    from matcher import store
    from matcher.reference import naf
    db = store.connect(url)
    cands = pd.DataFrame(store.fetch(db, store.candidates))[["candidate_id", "name", "naf", "lat", "lon"]]
    comps = pd.DataFrame(store.fetch(db, store.companies, [store.companies.c.siren.in_(sirens[:queries])]))
    db.dispose()
    label = lambda code: naf.label(code) if isinstance(code, str) and code else ""
    cands["label"] = cands["naf"].map(label)
    t = time.perf_counter()
    for _, company in comps.iterrows():
        pairs = pd.DataFrame([company[["siren", "naf", "lat", "lon"]]]).merge(cands, how="cross", suffixes=("_c", ""))
        text = label(company["naf"])
        pairs["text"] = [fuzz.token_set_ratio(text, other) / 100 for other in pairs["label"]]  # per pair
        la1, lo1, la2, lo2 = (np.radians(pairs[c].astype(float)) for c in ("lat_c", "lon_c", "lat", "lon"))
        h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
        pairs["km"] = 2 * 6371.0088 * np.arcsin(np.sqrt(h))
        pairs["score"] = 0.6 * pairs["text"] + 0.4 * np.clip(1 - pairs["km"] / 100, 0, 1)
        pairs.nlargest(10, "score")
    return (time.perf_counter() - t) / len(comps)


def engine_ms(url: str, sirens: list[str]) -> tuple[float, float]:
    """In-process ``Engine.match`` p50/p99 (one thread) on the same companies: the API's floor."""
    from matcher import store
    from matcher.ranking.engine import Engine
    from matcher.store.records import company_rows
    db = store.connect(url)
    engine = Engine.from_store(db)
    rows = company_rows(db, sirens)
    db.dispose()
    times = []
    for row in rows:
        t = time.perf_counter()
        engine.match(row, top=10)
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=8.0, help="load per run (three runs)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--companies", type=int, default=12_000,
                   help="companies generated; enough that the first-read run never asks for one twice")
    p.add_argument("--client", choices=["auto", "wrk", "asyncio"], default="auto")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "reprise-bench-api")
    args = p.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "asyncio")
    load = run_wrk if client == "wrk" else run_asyncio
    print(f"bench_api: {args.candidates:,} candidates, {CLIENTS} clients, {args.seconds:.0f} s per endpoint, "
          f"{args.workers} worker(s), client {client}", flush=True)
    url, sirens, key, writer = prepare(args.cache, args.candidates, args.companies)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    t = time.perf_counter()
    server = start_server(url, port, args.workers, tmp)
    print(f"  server ready in {time.perf_counter() - t:.1f} s (index built at startup)", flush=True)
    try:
        paths = [f"/v1/companies/{s}/matches?top=10" for s in sirens]
        # cold: every request a company not asked before (the ranking runs); warm: the same 200
        # companies again (ranked results served from the cache; each read still audited)
        results = {"matches": load(port, paths, key, args.seconds, tmp)}
        prime(port, paths[:200], key)
        results["matches, repeated"] = load(port, paths[:200], key, args.seconds, tmp)
        results["health"] = load(port, ["/health"], key, args.seconds, tmp)
        write_s, erase_s = timed_writes(port, writer)
        if results["matches"]["requests"] > len(paths):
            print(f"  warning: the cold pass wrapped around its {len(paths)} companies; "
                  "some of its requests were served from the cache")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    plain = plain_seconds_per_query(url, sirens)
    e50, e99 = engine_ms(url, sirens[:300])
    labels = {"matches": "GET .../matches (each new)", "matches, repeated": "GET .../matches (repeated)",
              "health": "GET /health"}
    print(f"\n{'endpoint':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'errors':>8}")
    for name, r in results.items():
        label = labels[name]
        print(f"{label:<34}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['requests']:>10}{r['errors']:>8}")
    print(f"{'(engine.match in-process, 1 thread)':<34}{1000 / e50:>9.0f}{e50:>9.1f}{e99:>9.1f}")
    m = results["matches"]
    print(f"\nmatches vs /health ceiling: {m['rps'] / results['health']['rps']:.2f} of its req/s")
    print(f"plain approach (pandas cross join + per-pair RapidFuzz, in-process, one query at a time): "
          f"{plain * 1000:.0f} ms per query = {1 / plain:.1f} queries/s; the API (each new) answers "
          f"{m['rps'] * plain:.0f}x as many per second, the engine in-process is {plain * 1000 / e50:.0f}x faster per query")
    for name in ("matches", "matches, repeated"):
        r = results[name]
        ok = r["errors"] == 0 and r["p99"] < 100
        print(f"target (no errors, p99 < 100 ms), {labels[name]}: {'met' if ok else 'NOT met'}")
    print(f"one candidate write answered in {write_s:.1f} s, its erasure in {erase_s:.1f} s "
          f"(each waits for the rebuilt index of {args.candidates:,} candidates)")
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
