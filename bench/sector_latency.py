"""Sector inference for one text (as a query infers a company's sector) and for a batch, with the
division model of an earlier commit and of this checkout, in one run.

    flock /work/locks/bench.lock python bench/sector_latency.py [--before-ref c511b2f] [--repeats 5]

"before" is ``matcher/reference/sector_model.py`` as it was at ``--before-ref`` (read from git,
run against this checkout's other modules), "after" this checkout's; both models are fitted on
the same corpus and read through the same ``SectorInferer`` (lexicon and all), so only the
model's reading of texts differs. Texts: the real registry texts of the labelled fixtures. Single
texts: ``infer_one`` on each text in turn, p50 / p99 over all, best of ``--repeats`` per text;
batch: the 5,000 distinct texts of pairs "a, b" in one ``infer`` call, best of ``--repeats``.
The two run alternately and give the same answers (checked).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import time
import types
from pathlib import Path

import numpy as np

from matcher.reference.sector_model import DivisionModel, shipped_examples, training_corpus
from matcher.reference.sectors import SectorInferer
from matcher.reference.trade_lexicon import lexicon_rows

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "fixtures" / "bodacc"


def old_model_class(ref: str) -> type:
    source = subprocess.run(["git", "show", f"{ref}:matcher/reference/sector_model.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("sector_model_before")
    exec(compile(source, f"{ref}:sector_model.py", "exec"), module.__dict__)
    return module.DivisionModel


def real_texts() -> list[str]:
    out = []
    for name in ("activity_labels_dev.csv", "activity_labels_test.csv"):
        with open(LABELS / name, encoding="utf-8", newline="") as fh:
            out += [r["text"] for r in csv.DictReader(fh) if r["division"] != "none"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-ref", default="c511b2f")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    corpus = training_corpus(lexicon_rows(), shipped_examples())
    inferers = {"before": SectorInferer(model=old_model_class(args.before_ref)(*corpus)),
                "after": SectorInferer(model=DivisionModel(*corpus))}
    texts = real_texts()
    rng = random.Random(0)
    pairs = list(dict.fromkeys(f"{rng.choice(texts)}, {rng.choice(texts)}" for _ in range(6000)))[:5000]
    for inf in inferers.values():
        inf.infer(texts[:5])  # label matrix and caches built before timing
    single = {k: np.full(len(texts), np.inf) for k in inferers}
    batch = dict.fromkeys(inferers, np.inf)
    answers = {}
    for rep in range(args.repeats):
        order = list(inferers) if rep % 2 == 0 else list(reversed(inferers))
        for name in order:
            inf = inferers[name]
            for i, t in enumerate(texts):
                t0 = time.perf_counter()
                got = inf.infer_one(t)
                single[name][i] = min(single[name][i], time.perf_counter() - t0)
                answers.setdefault((name, i), got)
            for inf_texts in (pairs,):
                t0 = time.perf_counter()
                inf.infer(inf_texts)
                batch[name] = min(batch[name], time.perf_counter() - t0)
    same = sum(answers[("before", i)] == answers[("after", i)] for i in range(len(texts)))
    print(f"load {os.getloadavg()[0]:.2f}; {len(texts)} real texts one at a time, {len(pairs)} in one batch; "
          f"best of {args.repeats}, alternately; same answers {same}/{len(texts)}")
    for name in inferers:
        ms = single[name] * 1000
        print(f"  {name:6s} one text p50 {np.percentile(ms, 50):.3f} ms  p99 {np.percentile(ms, 99):.3f} ms  "
              f"max {ms.max():.3f} ms | batch {len(pairs) / batch[name]:,.0f} texts/s")
    b, a = single["before"] * 1000, single["after"] * 1000
    print(f"  before/after: one text p50 {np.percentile(b, 50) / np.percentile(a, 50):.2f}x, "
          f"p99 {np.percentile(b, 99) / np.percentile(a, 99):.2f}x; batch {batch['before'] / batch['after']:.2f}x")


if __name__ == "__main__":
    main()
