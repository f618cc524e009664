"""Load benchmark of the advisors' web application: the case page at 100,000 candidates.

A real `reprise serve` over the API benchmark's store (100,000 `synth_candidates` on the real
communes, 12,000 companies; built once, reused from ``--cache``). 16 accounts sign in through
the sign-in form (16 sessions); each keeps its connection and its cookie and asks for case pages
``GET /cas/{siren}`` (the session checked in the store, the company read, the options ranked and
explained, the map drawn, the history read, the view audited), rotating over companies. The
peer, in the same run with the same client: the JSON API's ``GET /v1/companies/{siren}/matches``
with an analyst key, on other companies of the same store. Each "new" run asks for companies not
asked before (the ranking runs); each "repeated" run for 200 companies again (ranked results
from the caches). Runs are interleaved, ``--rounds`` times. The load generator is ``wrk`` when
installed (Debian package ``wrk``: 16 connections, each request carrying the next session's
cookie), else a raw asyncio HTTP/1.1 client (16 connections, one session each); either shares
the 2 cores with the server, so figures are upper bounds on latency. The in-process
``Engine.match`` time of the same companies is printed too: the floor under both endpoints.

    flock /work/locks/bench.lock python bench/bench_web.py [--seconds 8] [--rounds 3] [--workers 2] [--client auto]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_api import engine_ms, prepare, start_server

CLIENTS = 16
PASSWORD = "mot de passe du banc d'essai"
TARGET_P99_MS = 150.0


def accounts(url: str, n: int) -> list[str]:
    """``n`` analyst accounts (made once per store)."""
    from api.web.accounts import create_user
    from matcher import store
    from matcher.store.accounts import user_by_email
    db = store.connect(url)
    emails = [f"banc-{i:02d}@reprise.fr" for i in range(n)]
    for email in emails:
        if user_by_email(db, email) is None:
            create_user(db, email=email, password=PASSWORD, role="analyst")
    db.dispose()
    return emails


async def _request(reader, writer, method: str, path: str, headers: dict[str, str], body: bytes = b""):
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                 .encode() + body)
    raw = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", raw).group(1))
    return raw, await reader.readexactly(length)


async def sign_in(port: int, email: str) -> str:
    """Sign in through the form, as a browser would; returns the session cookie header."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head, body = await _request(reader, writer, "GET", "/connexion", {})
        signin = re.search(rb"(?i)set-cookie: (reprise_signin=[^;]+)", head).group(1).decode()
        token = re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()
        form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf": token, "suite": "/"}).encode()
        head, _ = await _request(reader, writer, "POST", "/connexion",
                                 {"Cookie": signin, "Content-Type": "application/x-www-form-urlencoded"}, form)
        assert head.startswith(b"HTTP/1.1 303"), head
        return re.search(rb"(?i)set-cookie: (reprise_session=[^;]+)", head).group(1).decode()
    finally:
        writer.close()


async def _client(port: int, paths: list[str], headers: dict[str, str], expect: bytes, stop: float, turn,
                  lat: list, errs: list, sizes: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            path = paths[next(turn) % len(paths)]
            t = time.perf_counter()
            head, body = await _request(reader, writer, "GET", path, headers)
            lat.append(time.perf_counter() - t)
            sizes.append(len(body))
            if not head.startswith(b"HTTP/1.1 200") or expect not in body:
                errs.append(head.split(b"\r\n", 1)[0])
    except (OSError, asyncio.IncompleteReadError) as exc:
        errs.append(repr(exc))
    finally:
        writer.close()


def load(port: int, paths: list[str], headers: list[dict[str, str]], expect: bytes, seconds: float) -> dict:
    lat: list[float] = []
    errs: list = []
    sizes: list[int] = []

    async def main() -> float:
        t0 = time.perf_counter()
        turn = itertools.count()  # shared: no path repeats before the list wraps
        await asyncio.gather(*(_client(port, paths, h, expect, t0 + seconds, turn, lat, errs, sizes)
                               for h in headers))
        return time.perf_counter() - t0
    elapsed = asyncio.run(main())
    ms = np.array(lat) * 1000
    return {"rps": len(lat) / elapsed, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "requests": len(lat), "errors": len(errs), "kb": float(np.mean(sizes)) / 1024 if sizes else 0.0,
            "first_error": errs[0] if errs else None}


def load_wrk(port: int, paths: list[str], headers: list[dict[str, str]], expect: bytes, seconds: float) -> dict:
    """The same load by ``wrk`` (Debian package): 16 connections, each request carrying the
    next client's header (cookie or key) in turn, paths in turn; non-2xx answers count as errors
    (a page that lost its session would be a 303)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-wrk-"))
    name, = {k for h in headers for k in h}
    values = ",".join(f"[[{h[name]}]]" for h in headers)
    items = ",".join(f'"{p}"' for p in paths)
    script = tmp / "load.lua"
    # each wrk thread walks its own half of the paths, so no path repeats before the list wraps
    script.write_text(f"local paths = {{{items}}}\nlocal values = {{{values}}}\nlocal n = 0\n"
                      f"function setup(thread)\n  thread:set(\"start\", n)\n  n = n + 1\nend\nlocal i = -1\n"
                      f"request = function()\n  if i < 0 then i = start * math.floor(#paths / 2) end\n  i = i + 1\n"
                      f"  return wrk.format(\"GET\", paths[(i % #paths) + 1], {{[\"{name}\"] = values[(i % #values) + 1]}})\n"
                      f"end\n")
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{len(headers)}", f"-d{int(seconds)}s", "--latency", "--timeout", "5s",
                              "-s", str(script), f"http://127.0.0.1:{port}"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    size = re.search(r"([\d.]+)(KB|MB|B) read", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    total_kb = float(size.group(1)) * {"B": 1 / 1024, "KB": 1.0, "MB": 1024.0}[size.group(2)] if size else 0.0
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50"), "p99": ms("99"),
            "requests": requests, "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
            "kb": total_kb / max(requests, 1), "first_error": None}


def server_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the server: its supervisor and every worker process."""
    import psutil
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(t.user + t.system for t in (p.cpu_times() for p in procs))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=100_000)
    p.add_argument("--companies", type=int, default=12_000)
    p.add_argument("--seconds", type=float, default=8.0, help="load per run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the four runs")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--client", choices=["auto", "wrk", "asyncio"], default="auto",
                   help="load generator: wrk when installed (auto), else a raw asyncio client")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "reprise-bench-api")
    args = p.parse_args(argv)
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "asyncio")
    run = load_wrk if client == "wrk" else load
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"bench_web: {args.candidates:,} candidates, {CLIENTS} signed-in clients, {args.seconds:.0f} s per run, "
          f"{args.rounds} round(s), {args.workers} worker(s), client {client}", flush=True)
    url, sirens, key, _ = prepare(args.cache, args.candidates, args.companies)
    emails = accounts(url, CLIENTS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    server = start_server(url, port, args.workers, tmp)
    results: dict[str, list[dict]] = {}
    try:
        cookies = [asyncio.run(sign_in(port, e)) for e in emails]
        web_headers = [{"Cookie": c} for c in cookies]
        api_headers = [{"Authorization": f"Bearer {key}"}] * CLIENTS
        # disjoint company slices: a "new" run never meets a company ranked before, by either side
        fresh = iter(range(0, len(sirens), 1500))
        repeated = sirens[-200:]
        web_paths = lambda ss: [f"/cas/{s}" for s in ss]
        api_paths = lambda ss: [f"/v1/companies/{s}/matches?top=10" for s in ss]
        for r in range(args.rounds):
            for name, paths, headers, expect in (
                    ("case page, each new", web_paths, web_headers, b"Options de reprise"),
                    ("JSON matches, each new", api_paths, api_headers, b'"options"')):
                start = next(fresh)
                chosen = sirens[start:start + 1500]
                cpu = server_cpu_s(server.pid)
                out = run(port, paths(chosen), headers, expect, args.seconds)
                out["cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1000 / max(out["requests"], 1)
                if out["requests"] > len(chosen):
                    print(f"  warning: {name} wrapped around its {len(chosen)} companies")
                results.setdefault(name, []).append(out)
                print(f"  round {r + 1} {name:<26} {out['rps']:7.0f} req/s  p50 {out['p50']:6.1f}  "
                      f"p99 {out['p99']:6.1f} ms  errors {out['errors']}  {out['kb']:.0f} kB  "
                      f"server CPU {out['cpu_ms']:.1f} ms/request", flush=True)
            for name, paths, headers, expect in (
                    ("case page, repeated", web_paths, web_headers, b"Options de reprise"),
                    ("JSON matches, repeated", api_paths, api_headers, b'"options"')):
                load(port, paths(repeated), headers, expect, 1.0)  # primes the caches, not counted
                cpu = server_cpu_s(server.pid)
                out = run(port, paths(repeated), headers, expect, args.seconds)
                out["cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1000 / max(out["requests"], 1)
                results.setdefault(name, []).append(out)
                print(f"  round {r + 1} {name:<26} {out['rps']:7.0f} req/s  p50 {out['p50']:6.1f}  "
                      f"p99 {out['p99']:6.1f} ms  errors {out['errors']}  {out['kb']:.0f} kB  "
                      f"server CPU {out['cpu_ms']:.1f} ms/request", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'run (best p99 of ' + str(args.rounds) + ')':<30}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'kB':>6}{'CPU ms/req':>12}")
    best = {name: min(runs, key=lambda o: o["p99"]) for name, runs in results.items()}
    for name, o in best.items():
        errors = sum(x["errors"] for x in results[name])
        cpu = float(np.median([x["cpu_ms"] for x in results[name]]))  # the median run's: less noisy than latency
        print(f"{name:<30}{o['rps']:>8.0f}{o['p50']:>9.1f}{o['p99']:>9.1f}{errors:>8}{o['kb']:>6.0f}{cpu:>12.1f}")
    for kind in ("each new", "repeated"):
        web, api = best[f"case page, {kind}"], best[f"JSON matches, {kind}"]
        cpu_web = float(np.median([x["cpu_ms"] for x in results[f"case page, {kind}"]]))
        cpu_api = float(np.median([x["cpu_ms"] for x in results[f"JSON matches, {kind}"]]))
        print(f"case page vs JSON matches ({kind}): p99 {web['p99'] / api['p99']:.2f}x, "
              f"req/s {web['rps'] / api['rps']:.2f}x, server CPU per request {cpu_web / cpu_api:.2f}x")
        errors = sum(x["errors"] for x in results[f"case page, {kind}"])
        worst = max(x["p99"] for x in results[f"case page, {kind}"])
        print(f"target (case page p99 < {TARGET_P99_MS:.0f} ms, no errors), {kind}: "
              f"{'met' if errors == 0 and worst < TARGET_P99_MS else 'NOT met'} in every run "
              f"(worst p99 {worst:.1f} ms, {errors} errors)")
    e50, e99 = engine_ms(url, sirens[:300])
    print(f"the same machine, same run: Engine.match in-process (1 thread, 300 of the companies) p50 {e50:.1f} ms, "
          f"p99 {e99:.1f} ms (the floor under both endpoints' first reads)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
