"""`reprise train`: fit a ranker on the stored outcomes, compare it on held-out companies,
store it with its card, and promote it when it beats the one serving."""

from __future__ import annotations

from matcher.cli.options import command
from matcher.errors import UsageError
from matcher.learning import UNLABELLED_RATIO, UNLABELLED_WEIGHT


def register(sub) -> None:
    p = command(sub, "train", help="train a ranker on the stored outcomes and compare it on held-out companies")
    p.add_argument("--promote", action="store_true",
                   help="promote the new model if it beats the current one on held-out NDCG@10")
    p.add_argument("--force", action="store_true",
                   help="promote the new model even if it does not beat the current one")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the sampling and the trees (default 0)")
    p.add_argument("--test-size", type=float, default=0.25, help="share of companies held out (default 0.25)")
    p.add_argument("--unlabelled-ratio", type=float, default=UNLABELLED_RATIO,
                   help=f"never-contacted candidates sampled per labelled pair (default {UNLABELLED_RATIO:g})")
    p.add_argument("--unlabelled-weight", type=float, default=UNLABELLED_WEIGHT,
                   help=f"training weight of those grade-0 pairs (default {UNLABELLED_WEIGHT:g})")
    p.add_argument("--max-iter", type=int, default=150, help="boosting iterations (default 150)")
    p.add_argument("--learning-rate", type=float, default=0.1, help="boosting learning rate (default 0.1)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for fitting (default: 1 below 100,000 pairs, else all cores)")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    from matcher.learning.measures import metrics_table
    from matcher.learning.train import promotion, train
    from matcher.ranking.engine import Engine

    if args.max_iter < 1 or args.learning_rate <= 0:
        raise UsageError(f"--max-iter {args.max_iter} / --learning-rate {args.learning_rate}: expected >= 1 and > 0")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size {args.test_size} is out of range; expected a share between 0 and 1")
    if args.unlabelled_ratio < 0 or not 0 <= args.unlabelled_weight <= 1:
        raise UsageError(f"--unlabelled-ratio {args.unlabelled_ratio} must be >= 0 and --unlabelled-weight "
                         f"{args.unlabelled_weight} within 0 to 1")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads {args.threads} must be at least 1")
    ctx.db(create=False)
    registry = ctx.registry()
    current = registry.current_scorer()
    result = train(Engine.from_store(ctx.db()), ctx.db(), current=current, seed=args.seed,
                   test_size=args.test_size, unlabelled_ratio=args.unlabelled_ratio,
                   unlabelled_weight=args.unlabelled_weight,
                   params={"n_threads": args.threads, "max_iter": args.max_iter, "learning_rate": args.learning_rate})
    model_id = registry.save(result.ranker, result.card())
    names = {"new": f"new ({model_id})", "transparent": "transparent", "current": f"current ({result.current_id})"}
    stats = result.train.stats
    ctx.print(f"trained on {stats['labelled']} labelled and {stats['unlabelled']} never-contacted pairs from "
              f"{stats['companies']} companies; held out {len(result.test_sirens)} companies "
              f"({len(result.heldout)} considered options)")
    ctx.print(metrics_table({names[k]: v for k, v in result.metrics.items()}))
    ctx.print(f"saved {model_id} -> {registry.root / model_id}")
    if args.promote or args.force:
        decision = promotion(result, force=args.force)
        if decision.promote:
            registry.promote(model_id, reason=decision.reason)
            ctx.print(f"promoted {model_id}: {decision.reason}")
        else:
            ctx.print(f"not promoted: {decision.reason} (use --force to promote anyway, or "
                      f"`reprise models promote {model_id}`)")
    return 0
