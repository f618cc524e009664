"""Erasure cost on SQLite: erasing a case whose SIREN no other record names (no VACUUM) and one
that a candidate's ``partners`` still names (the erasure then ends with a VACUUM), each on a fresh
copy of the store given, interleaved, best of 3.

    flock /work/locks/bench.lock python bench/bench_erasure.py path/to/store.db
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import time

from matcher import store
from matcher.store.erasure import erase_company


def _fresh(src: pathlib.Path, work: pathlib.Path):
    for p in work.parent.glob(work.name + "*"):
        p.unlink()
    shutil.copy(src, work)
    return store.connect(f"sqlite:///{work}")


def _cases(db) -> dict[str, str]:
    """A case no other record names, and one a candidate's partners name."""
    named = " ".join(str(r.get("partners") or "") for r in store.fetch(db, store.candidates))
    ids = {r["candidate_id"] for r in store.fetch(db, store.candidates)}
    cases = [r["siren"] for r in store.fetch(db, store.companies) if r["procedure"] != "none"]
    return {"plain": next(s for s in cases if s not in named and s not in ids),
            "vacuum": next(s for s in cases if s in named)}


def main(path: str) -> None:
    src = pathlib.Path(path)
    work = src.parent / "bench-erasure.db"
    db = store.connect(f"sqlite:///{src}")
    cases = _cases(db)
    db.dispose()
    took: dict[str, list[float]] = {"plain": [], "vacuum": []}
    for _ in range(3):
        for kind, siren in cases.items():
            db = _fresh(src, work)
            started = time.perf_counter()
            assert erase_company(db, siren)
            took[kind].append(time.perf_counter() - started)
            db.dispose()
    print(f"store {src.stat().st_size / 1e6:.1f} MB; erase_company, best of 3: "
          f"{min(took['plain']) * 1000:.0f} ms without VACUUM, {min(took['vacuum']) * 1000:.0f} ms ending with one; "
          f"all (ms): { {k: [round(v * 1000) for v in t] for k, t in took.items()} }")


if __name__ == "__main__":
    main(sys.argv[1])
