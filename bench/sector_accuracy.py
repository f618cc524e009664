"""Accuracy and throughput of free-text -> NAF inference, side by side with a bare fuzzy match.

    python bench/sector_accuracy.py [--n-throughput 5000]

Sets: ``tests/fixtures/activity_labels.csv`` (every BODACC record of ``shared/data/bodacc``,
hand-labelled) and ``tests/fixtures/activity_holdout.csv`` (registry-style texts written and
labelled before the lexicon was tuned). Methods: (a) ``process.extractOne`` of the text against
the 732 NAF labels with ``WRatio`` (accents folded on both sides, which only helps it);
(b) ``matcher.reference.sectors.SectorInferer``. Texts labelled with no code ("non précisée", no activity)
are left out of the accuracy figures and counted apart: the right answer there is no code.
Throughput runs on distinct texts made of pairs of fixture texts ("a, b"), so nothing is
served from de-duplication.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
import unicodedata
from pathlib import Path

from rapidfuzz import fuzz, process, utils

from matcher.reference.naf import nomenclature
from matcher.reference.sectors import SectorInferer

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SETS = {"bodacc": "activity_labels.csv", "holdout": "activity_holdout.csv"}


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


class BareFuzzy:
    """The plain approach: best NAF label by WRatio, always answers."""

    def __init__(self) -> None:
        nom = nomenclature()
        self.codes = nom.codes
        self.labels = [fold(label) for label in nom.labels]

    def infer(self, texts: list[str], top: int = 3) -> list[list[tuple[str, float]]]:
        out = []
        for text in texts:
            if top == 1:
                best = process.extractOne(
                    fold(text), self.labels, scorer=fuzz.WRatio, processor=utils.default_process
                )
                matches = [best] if best else []
            else:
                matches = process.extract(
                    fold(text), self.labels, scorer=fuzz.WRatio,
                    processor=utils.default_process, limit=top,
                )
            out.append([(self.codes[j], s / 100) for _, s, j in matches])
        return out


def load(name: str) -> list[dict[str, str]]:
    with open(FIXTURES / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def score(rows: list[dict[str, str]], preds: list[list[tuple[str, float]]]) -> dict[str, str]:
    labelled = [(r, p) for r, p in zip(rows, preds, strict=True) if r["naf"]]
    empty = [(r, p) for r, p in zip(rows, preds, strict=True) if not r["naf"]]
    n = len(labelled)

    def pct(k: int) -> str:
        return f"{100 * k / n:5.1f}% ({k}/{n})" if n else "n/a"

    div1 = sum(bool(p) and p[0][0][:2] == r["naf"][:2] for r, p in labelled)
    sub1 = sum(bool(p) and p[0][0] == r["naf"] for r, p in labelled)
    sub3 = sum(r["naf"] in [c for c, _ in p] for r, p in labelled)
    answered = sum(bool(p) for _, p in labelled)
    return {
        "division top-1": pct(div1),
        "sub-class top-1": pct(sub1),
        "sub-class top-3": pct(sub3),
        "answered": pct(answered),
        "no-activity left empty": f"{sum(not p for _, p in empty)}/{len(empty)}",
    }


def throughput(method, texts: list[str]) -> float:
    start = time.perf_counter()
    method(texts)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-throughput", type=int, default=5000)
    args = parser.parse_args()

    start = time.perf_counter()
    ours = SectorInferer()
    build = time.perf_counter() - start
    bare = BareFuzzy()
    methods = {"bare fuzzy (WRatio)": bare.infer, "SectorInferer": ours.infer}

    for set_name, file_name in SETS.items():
        rows = load(file_name)
        texts = [r["text"] for r in rows]
        print(f"\n== {set_name}: {file_name} ({len(rows)} texts) ==")
        results = {m: score(rows, f(texts)) for m, f in methods.items()}
        metrics = list(next(iter(results.values())))
        print(f"{'':24}" + "".join(f"{m:>26}" for m in results))
        for metric in metrics:
            print(f"{metric:24}" + "".join(f"{results[m][metric]:>26}" for m in results))

    pool = [r["text"] for name in SETS.values() for r in load(name) if r["text"]]
    rng = random.Random(0)
    pairs = {f"{a}, {b}" for a in pool for b in pool if a != b}
    texts = rng.sample(sorted(pairs), min(args.n_throughput, len(pairs)))
    print(f"\n== throughput: {len(texts)} distinct texts, {os.cpu_count()} cores ==")
    print(f"SectorInferer construction: {build * 1000:.0f} ms")
    for name, method in methods.items():
        print(f"{name:24}{throughput(method, texts):>12,.0f} texts/s")


if __name__ == "__main__":
    main()
