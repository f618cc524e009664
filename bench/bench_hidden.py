"""Does a confidential case answer another pole's advisor in the same time as an absent SIREN?

A real `reprise serve` (one worker) over the demo territory; an advisor key of a pole that does
not follow a confidential case; requests for that case and for an absent SIREN, interleaved in a
random order on one kept-alive connection, for each endpoint that names a company. Printed per
endpoint: median and p90 of each, their ratio, and how separable they are — the share of windows
of 15 requests each in which the hidden case's median is the slower, the share of rounds in which it is, and the
median difference within a round; the same for a second absent SIREN against the first, as the
control (0.5 = indistinguishable; the issue measured 15 of 15 windows before the fix).

    python bench/bench_hidden.py [--rounds 600]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT

sys.path.insert(0, str(ROOT))

from api.access import company_poles
from api.security import create_key
from matcher import store
from matcher.contract.identifiers import siren_valid
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.reference.territories import Poles
from matcher.store.records import company_rows, pole_rows

WINDOW = 15


def absent_siren(taken: set[str]) -> str:
    n = 100_000_000
    while True:
        s = f"{n:09d}"
        if siren_valid(s) and s not in taken:
            return s
        n += 1


def setup(folder: Path) -> tuple[str, str, str, str, str]:
    url = f"sqlite:///{folder / 'demo.db'}"
    db = store.connect(url)
    for kind, path in generate(folder / "demo", seed=2026).items():
        import_file(db, kind, path, rejects_path=folder / f"{kind}.rejects.csv")
    pole_list = pole_rows(db)
    poles = Poles(pole_list)
    rows = company_rows(db)
    for row in rows:
        if not row["confidential"]:
            continue
        followers = company_poles(row, poles)
        others = [p["pole_id"] for p in pole_list if p["pole_id"] not in followers]
        if followers and others:
            key = create_key(db, role="advisor", poles=[others[0]])[1]
            taken = {r["siren"] for r in rows}
            absent = absent_siren(taken)
            db.dispose()
            return url, key, row["siren"], absent, absent_siren(taken | {absent})
    raise SystemExit("the demo holds no confidential case followed by one pole only")


def serve(url: str, folder: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "REPRISE_MODELS_DIR": str(folder / "models")}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "--db", url, "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/ready")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server not ready")


def measure(port: int, key: str, paths: dict[str, str], rounds: int) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}"}
    times: dict[str, list[float]] = {name: [] for name in paths}
    bodies: dict[str, set[tuple[int, str]]] = {name: set() for name in paths}
    rng = random.Random(7)
    for _ in range(rounds):
        order = list(paths)
        rng.shuffle(order)
        for name in order:
            t = time.perf_counter()
            conn.request("GET", paths[name], headers=headers)
            r = conn.getresponse()
            body = r.read()
            times[name].append(time.perf_counter() - t)
            detail = json.loads(body).get("detail", "")
            bodies[name].add((r.status, detail.replace(paths[name].split("/")[3], "<siren>")))
    statuses = {name: sorted(b) for name, b in bodies.items()}
    print("answers:", json.dumps(statuses, ensure_ascii=False))
    return times


def separable(hidden: list[float], absent: list[float]) -> float:
    n = min(len(hidden), len(absent)) // WINDOW
    slower = [np.median(hidden[i * WINDOW:(i + 1) * WINDOW]) > np.median(absent[i * WINDOW:(i + 1) * WINDOW])
              for i in range(n)]
    return float(np.mean(slower))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=600)
    ap.add_argument("--port", type=int, default=18931)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, key, hidden, absent, other = setup(folder)
        proc = serve(url, folder, args.port)
        try:
            print(f"load before: {os.getloadavg()[0]:.2f}; {args.rounds} rounds")
            for endpoint in ("/v1/companies/{}", "/v1/companies/{}/matches?top=10"):
                paths = {"hidden": endpoint.format(hidden), "absent": endpoint.format(absent),
                         "control": endpoint.format(other)}
                t = measure(args.port, key, paths, args.rounds)
                h, a, c = (np.array(t[k]) * 1000 for k in ("hidden", "absent", "control"))
                print(f"{endpoint:34s} hidden p50 {np.median(h):.3f} p90 {np.percentile(h, 90):.3f} ms | "
                      f"absent p50 {np.median(a):.3f} p90 {np.percentile(a, 90):.3f} ms | "
                      f"ratio p50 {np.median(h) / np.median(a):.3f} | hidden slower in "
                      f"{separable(t['hidden'], t['absent']):.2f} of {len(h) // WINDOW} windows, in "
                      f"{np.mean(h > a):.2f} of pairs, median pair difference {np.median(h - a) * 1000:+.1f} us | "
                      f"control (two absent SIRENs): first slower in {np.mean(c > a):.2f} of pairs, "
                      f"{np.median(c - a) * 1000:+.1f} us")
            print(f"load after: {os.getloadavg()[0]:.2f}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
