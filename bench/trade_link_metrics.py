"""Held-out ranking quality before and after "trade link first", on the demo territory.

For several seeds, `reprise train`'s own split (25% of the companies with outcomes held out,
never trained on) and fit; on the held-out companies, every option the engine considers is
ranked (a) by score alone, as before, and (b) as the list now shows it, options with a trade
link first (``matcher.learning.measures.ranking_metrics(..., linked)``), for the transparent
scorer and the newly trained model. Prints the metrics per seed and their means.

    python bench/trade_link_metrics.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from matcher import store
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.learning.measures import METRICS, ranking_metrics
from matcher.learning.scorer import LearnedScorer
from matcher.learning.train import train
from matcher.ranking.engine import Engine
from matcher.ranking.score import TransparentScorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = generate(folder, seed=2026)
        db = store.connect(f"sqlite:///{folder / 'demo.db'}")
        for kind in ("poles", "companies", "candidates", "outcomes"):
            import_file(db, kind, files[kind], rejects_path=folder / f"{kind}.rejects.csv")
        engine = Engine.from_store(db)
        table: dict[tuple[str, str], list[dict[str, float]]] = {}
        for seed in range(args.seeds):
            result = train(engine, db, seed=seed)
            held = result.heldout
            for name, scorer in (("transparent", TransparentScorer()),
                                 ("learned", LearnedScorer(result.ranker, model_id="new"))):
                scores = scorer.score_options(held.X, held.is_employees)[0]
                for order, linked in (("score only (before)", None), ("trade link first (after)", held.trade_link)):
                    m = ranking_metrics(held.siren, held.grade, scores, linked)
                    table.setdefault((name, order), []).append(m)
                    print(f"seed {seed} {name:11s} {order:25s} "
                          + " ".join(f"{k} {m[k]:.4f}" for k in METRICS) + f" companies {m['companies']}")
        print(f"\nmeans over {args.seeds} seeds (held-out companies of each split)")
        print(f"{'scorer':11s} {'order':25s} " + " ".join(f"{k:>9s}" for k in METRICS))
        for (name, order), rows in table.items():
            print(f"{name:11s} {order:25s} " + " ".join(f"{np.mean([r[k] for r in rows]):9.4f}" for k in METRICS))


if __name__ == "__main__":
    main()
