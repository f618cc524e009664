"""Cross-validated accuracy of sector inference on the development texts only.

    python bench/sector_cv.py [--folds 5] [--seeds 3] [--errors] [--curve]

The development half of the labelled BODACC A issue (``tests/fixtures/bodacc/
activity_labels_dev.csv``) is split into folds; for each fold the division model is trained on
the nomenclature, the lexicon and the other folds' texts (never on the fold it is scored on), and
the whole inferer (model and lexicon together) reads the fold. The test half is not read: this is
the script to tune with. Measures as in ``tests/reference/test_sectors_real.py``: ``top1`` counts
the labeller's second division as right too, ``primary`` only the first. ``--curve`` gives the
learning curve: the same folds with the model trained on 0, 25, 50, 75 and 100% of the other
folds' texts (how much real labelled wording is worth).
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from matcher.reference.sector_model import DivisionModel, training_corpus
from matcher.reference.sectors import SectorInferer
from matcher.reference.trade_lexicon import lexicon_rows

DEV = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bodacc" / "activity_labels_dev.csv"


def dev_rows() -> list[dict[str, str]]:
    with open(DEV, encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["division"] != "none"]


def cross_validate(rows: list[dict[str, str]], folds: int, seed: int, errors: bool = False,
                   share: float = 1.0) -> dict[str, float]:
    lexicon = lexicon_rows()
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    hits = {"top1": 0, "top3": 0, "primary": 0}
    for f in range(folds):
        held = set(order[f::folds])
        train = [(rows[i]["text"], int(rows[i]["division"])) for i in order if i not in held]
        train = train[: round(len(train) * share)]
        inferer = SectorInferer(lexicon, model=DivisionModel(*training_corpus(lexicon, train)))
        test = [rows[i] for i in sorted(held)]
        found = inferer.infer([r["text"] for r in test])
        for r, got in zip(test, found):
            divs = [c[:2] for c, _ in got]
            good = {r["division"]} | ({r["second_division"]} if r["second_division"] else set())
            hits["top1"] += bool(divs) and divs[0] in good
            hits["top3"] += bool(set(divs[:3]) & good)
            hits["primary"] += bool(divs) and divs[0] == r["division"]
            if errors and not (divs and divs[0] in good):
                print(f"  want {r['division']}/{r['second_division'] or '-'} got {got[:3]}  {r['text'][:110]!r}")
    return {k: v / len(rows) for k, v in hits.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--errors", action="store_true", help="print the texts read wrong")
    parser.add_argument("--curve", action="store_true", help="learning curve over the share of examples")
    args = parser.parse_args()
    rows = dev_rows()
    if args.curve:
        for share in (0.0, 0.25, 0.5, 0.75, 1.0):
            runs = [cross_validate(rows, args.folds, seed, share=share) for seed in range(args.seeds)]
            n = round(len(rows) * (args.folds - 1) / args.folds * share)
            print(f"~{n:4d} examples: " + "  ".join(
                f"{k} {100 * sum(r[k] for r in runs) / len(runs):.1f}%" for k in runs[0]), flush=True)
        return
    runs = [cross_validate(rows, args.folds, seed, args.errors) for seed in range(args.seeds)]
    mean = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
    print(f"development texts: {len(rows)}, {args.folds}-fold CV x {args.seeds} seeds")
    print("  " + "  ".join(f"{k} {100 * v:.1f}%" for k, v in mean.items()))


if __name__ == "__main__":
    main()
