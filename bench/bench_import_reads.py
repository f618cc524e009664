"""Reads during a 60,000-row import, two workers: are answers held, and are they fresh?

    python bench/bench_import_reads.py --base /tmp/imp-base --work /tmp/imp-run --code TREE --label after --run 1
    python bench/bench_import_reads.py --table /tmp/imp-run/*.json     # the RESULTS.md table

Set-up (once, cached in ``--base``): the demo territory (`reprise demo`, default seed) plus 60,000
repreneurs ``R-7…`` near case CASE, an advisor key of its pole. Each run: a fresh copy of that
store and its index snapshot; ``reprise serve --workers 2`` of the code tree ``--code`` (its own
``python -m matcher.cli``); for ``--seconds`` (and at least 15 s after the import ended), on a new
connection per request: 2 threads read the case from the store (``GET /v1/companies/CASE``), 2 rank
it (``…/matches?top=10``), 1 asks ``/health`` (the event loop alone), and a probe ranks it every
0.2 s with ``top=100`` (which holds imported repreneurs). At ``--import-at`` s, ``reprise import
candidates`` of the same 60,000 rows renamed ``Imp rK N`` (all updates). The commit is when a
read-only connection polling every 50 ms first sees the new store revision.

Reported per endpoint, by the request's start: p50/p99/max before the import, during it (to the
commit) and in the 10 s after; the longest time with no answer (from the import's start); the
first probe answer holding the new names (s after the commit) and the probe answers begun after
the commit that still held an old name (stale). ``--spy store`` dumps the workers' stacks with
py-spy whenever a store read has waited over 0.3 s (the evidence of where they wait).
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASE = "407360882"  # the demo's case 407360882 (49.41B, Vendée) with the default seed
N = 60_000
PORT = 18990
ENDPOINTS = {"store": f"/v1/companies/{CASE}", "ranked": f"/v1/companies/{CASE}/matches?top=10",
             "health": "/health"}
PROBE = f"/v1/companies/{CASE}/matches?top=100"


def cli(code: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(code), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], cwd=code, env=env, check=True,
                          capture_output=True, text=True, **kw)


def repreneurs(name: str, seed: int = 7) -> list[dict]:
    """60,000 repreneurs within ~60 km of the case; one in a hundred seeks its trade (49)."""
    rng = np.random.default_rng(seed)
    lat = 46.99507 + rng.uniform(-0.5, 0.5, N)
    lon = -0.95175 + rng.uniform(-0.7, 0.7, N)
    naf = rng.choice(["10", "25", "41", "43", "45", "47", "56", "62", "81"], N)
    naf[rng.random(N) < 0.01] = "49"
    budget = rng.integers(50, 2000, N) * 1000
    return [{"candidate_id": f"R-7{i:05d}", "kind": "repreneur", "name": f"{name} {i}", "sought_naf": naf[i],
             "lat": round(float(lat[i]), 5), "lon": round(float(lon[i]), 5), "budget_eur": int(budget[i])}
            for i in range(N)]


def write_csv(path: Path, rows: list[dict]) -> None:
    import csv
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def setup(base: Path) -> dict:
    facts_file = base / "facts.json"
    if facts_file.exists():
        return json.loads(facts_file.read_text())
    base.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{base / 'reprise.db'}"
    cli(ROOT, "--db", url, "demo", "--dir", str(base / "demo-files"), "--show", "0")
    write_csv(base / "repreneurs.csv", repreneurs("Rep"))
    cli(ROOT, "--db", url, "import", "candidates", str(base / "repreneurs.csv"))
    sys.path.insert(0, str(ROOT))
    from api.security import create_key
    from matcher import store
    db = store.connect(url)
    with db.begin() as c:
        pole = c.exec_driver_sql("SELECT pole FROM companies WHERE siren = ?", (CASE,)).scalar()
    key = create_key(db, role="advisor", poles=[pole], label="bench_import_reads")[1]
    with db.begin() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    facts = {"key": key, "pole": pole}
    facts_file.write_text(json.dumps(facts))
    return facts


class Clients:
    """Readers on new connections; every answer kept as (endpoint, start, end, status, names)."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key, self.t0 = port, key, time.monotonic()
        self.answers: list[tuple] = []
        self.stop = threading.Event()
        self.in_flight: dict[int, tuple[str, float]] = {}

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", path, headers={} if path == "/health" else {"Authorization": f"Bearer {self.key}"})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def loop(self, name: str, path: str, pause: float = 0.0) -> None:
        me = threading.get_ident()
        while not self.stop.is_set():
            start = time.monotonic() - self.t0
            self.in_flight[me] = (name, start)
            try:
                status, body = self.get(path)
            except OSError as exc:
                status, body = -1, str(exc).encode()
            end = time.monotonic() - self.t0
            self.in_flight.pop(me, None)
            names = None
            if name == "probe" and status == 200:
                names = sorted({o["name"].split(" ")[0] for o in json.loads(body)["options"]
                                if str(o.get("candidate_id", "")).startswith("R-7")})
            self.answers.append((name, start, end, status, names))
            if pause:
                time.sleep(pause)

    def start(self) -> list[threading.Thread]:
        plan = [("store", ENDPOINTS["store"], 0.0)] * 2 + [("ranked", ENDPOINTS["ranked"], 0.0)] * 2 + \
               [("health", ENDPOINTS["health"], 0.0), ("probe", PROBE, 0.2)]
        threads = [threading.Thread(target=self.loop, args=p, daemon=True) for p in plan]
        for t in threads:
            t.start()
        return threads


def watch_commit(db_file: Path, clients: Clients, out: dict) -> None:
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    first = conn.execute("SELECT max(revision) FROM index_changes").fetchone()[0]
    while not clients.stop.is_set():
        rev = conn.execute("SELECT max(revision) FROM index_changes").fetchone()[0]
        if rev != first:
            out["commit"] = time.monotonic() - clients.t0
            return
        time.sleep(0.05)


def spy(clients: Clients, server: subprocess.Popen, folder: Path, endpoint: str) -> None:
    """py-spy dumps of every server process while a request to ``endpoint`` has waited over 0.3 s."""
    last = 0.0
    while not clients.stop.is_set():
        now = time.monotonic() - clients.t0
        waiting = [s for n, s in list(clients.in_flight.values()) if n == endpoint and now - s > 0.3]
        if waiting and now - last > 0.4:
            last = now
            kids, todo = [], [str(server.pid)]
            while todo:  # the workers are the fork server's children
                found = subprocess.run(["pgrep", "-P", todo.pop()], capture_output=True, text=True).stdout.split()
                kids += found
                todo += found
            with open(folder / f"spy-{now:07.2f}.txt", "w") as fh:
                for pid in kids:
                    fh.write(f"=== pid {pid} at +{now:.2f} s, {endpoint} request waiting {now - min(waiting):.2f} s\n")
                    fh.write(subprocess.run(["py-spy", "dump", "--pid", pid], capture_output=True, text=True).stdout)
        time.sleep(0.1)


def run(args) -> dict:
    facts = setup(Path(args.base))
    work = Path(args.work) / f"{args.label}-{args.run}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy(Path(args.base) / "reprise.db", work / "reprise.db")
    shutil.copytree(Path(args.base) / "reprise.db.index", work / "reprise.db.index")
    shutil.copytree(Path(args.base) / "models", work / "models", dirs_exist_ok=True) \
        if (Path(args.base) / "models").exists() else None
    write_csv(work / "updates.csv", repreneurs(f"Imp r{args.run}"))
    url = f"sqlite:///{work / 'reprise.db'}"
    code = Path(args.code).resolve()
    env = {**os.environ, "PYTHONPATH": str(code), "OPENBLAS_NUM_THREADS": "1"}
    load = os.getloadavg()
    server = subprocess.Popen([sys.executable, "-m", "matcher.cli", "--db", url, "serve", "--port", str(args.port),
                               "--workers", "2", "--log-level", "warning"], cwd=code, env=env)
    try:
        clients = Clients(args.port, facts["key"])
        for _ in range(600):
            try:
                if clients.get("/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        clients.t0 = time.monotonic()
        out: dict = {"label": args.label, "run": args.run, "code": args.code, "load": load,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        threads = clients.start()
        threading.Thread(target=watch_commit, args=(work / "reprise.db", clients, out), daemon=True).start()
        if args.spy:
            threading.Thread(target=spy, args=(clients, server, work, args.spy), daemon=True).start()
        time.sleep(args.import_at)
        out["import_start"] = time.monotonic() - clients.t0
        done = subprocess.run([sys.executable, "-m", "matcher.cli", "--db", url, "import", "candidates",
                               str(work / "updates.csv")], cwd=code, env=env, capture_output=True, text=True)
        out["import_end"] = time.monotonic() - clients.t0
        out["import_output"] = (done.stdout + done.stderr).strip()[-300:]
        time.sleep(max(15.0, args.seconds - out["import_end"]))
        clients.stop.set()
        for t in threads:
            t.join(130)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    out["answers"] = clients.answers
    (Path(args.work) / f"{args.label}-{args.run}.json").write_text(json.dumps(out))
    shutil.rmtree(work / "reprise.db.index", ignore_errors=True)
    return out


def summary(res: dict) -> list[dict]:
    imp, commit = res["import_start"], res.get("commit", float("nan"))
    rows = []
    for name in ("store", "ranked", "health"):
        ans = [a for a in res["answers"] if a[0] == name]
        row = {"endpoint": name, "errors": sum(1 for a in ans if a[3] != 200)}
        for win, lo, hi in (("before", 0, imp), ("during", imp, commit), ("after", commit, commit + 10)):
            ms = np.array([(a[2] - a[1]) * 1000 for a in ans if lo <= a[1] < hi])
            row[win] = (np.percentile(ms, 50), np.percentile(ms, 99), ms.max()) if len(ms) else None
        ends = sorted([imp] + [a[2] for a in ans if a[2] >= imp])
        gaps = np.diff(ends)
        k = int(np.argmax(gaps))
        row["gap"] = (float(gaps[k]), ends[k] - commit, ends[k + 1] - commit)
        rows.append(row)
    probes = [a for a in res["answers"] if a[0] == "probe" and a[3] == 200]
    fresh = [a for a in probes if a[4] and all(n == "Imp" for n in a[4])]
    res_first = min((a[2] for a in fresh), default=float("nan")) - commit
    stale = [a for a in probes if a[1] >= commit and any(n != "Imp" for n in a[4])]
    later = [a for a in probes if a[1] >= commit]
    rows.append({"endpoint": "probe", "first_fresh": res_first, "stale": len(stale), "after_commit": len(later),
                 "empty": sum(1 for a in probes if not a[4])})
    return rows


def table(files: list[str]) -> None:
    def w(t):
        return "—" if t is None else " / ".join(f"{v:,.0f}" for v in t)
    print("| code | run | load | import: CLI s / commit at | endpoint | before: p50 / p99 / max ms | during | "
          "10 s after commit | longest gap, s (from → to, s of the commit) | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f in sorted(files, key=lambda f: (json.loads(Path(f).read_text())["started"])):
        res = json.loads(Path(f).read_text())
        rows = summary(res)
        cli_s = res["import_end"] - res["import_start"]
        head = (f"| {res['label']} | {res['run']} | {res['load'][0]:.1f} | {cli_s:.1f} s / "
                f"+{res.get('commit', float('nan')) - res['import_start']:.1f} s")
        for r in rows[:3]:
            g = r["gap"]
            print(f"{head} | {r['endpoint']} | {w(r['before'])} | {w(r['during'])} | {w(r['after'])} | "
                  f"**{g[0]:.2f}** ({g[1]:+.1f} → {g[2]:+.1f}) | {r['errors']} |")
        p = rows[3]
        print(f"{head} | probe top=100 | first answer with the new names {p['first_fresh']:+.2f} s after the commit; "
              f"stale begun after it: {p['stale']} of {p['after_commit']} | | | | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="/tmp/bench-import-base")
    ap.add_argument("--work", default="/tmp/bench-import-runs")
    ap.add_argument("--code", default=str(ROOT), help="the source tree whose server and CLI run")
    ap.add_argument("--label", default="current")
    ap.add_argument("--run", type=int, default=1, help="run number (also names the imported rows: Imp rN)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--import-at", type=float, default=10.0)
    ap.add_argument("--port", type=int, default=PORT)
    ap.add_argument("--spy", choices=sorted(ENDPOINTS), help="py-spy dumps of the workers while a request to this "
                    "endpoint waits over 0.3 s (they pause the workers: not for measured runs)")
    ap.add_argument("--table", nargs="+", metavar="JSON", help="print the table of finished runs")
    args = ap.parse_args()
    if args.table:
        table([f for pat in args.table for f in glob.glob(pat)])
        return
    res = run(args)
    for r in summary(res):
        print(r)


if __name__ == "__main__":
    main()
