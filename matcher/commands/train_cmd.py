"""`reprise train`, `reprise models list|show|promote|rollback` and `reprise evaluate`."""

from __future__ import annotations

from ..cli import UsageError, dumps

# the defaults of matcher.learn, repeated here so that building the parser does not import
# scikit-learn for every `reprise` command (test_registry checks they agree)
UNLABELLED_RATIO, UNLABELLED_WEIGHT = 2.0, 0.5


def register(sub, db_option) -> None:
    p = sub.add_parser("train", help="train a ranker on the stored outcomes and compare it on held-out companies")
    db_option(p)
    p.add_argument("--promote", action="store_true",
                   help="promote the new model if it beats the current one on held-out NDCG@10")
    p.add_argument("--force", action="store_true", help="promote the new model even if it does not beat the current one")
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
    p.set_defaults(handler=run_train)

    m = sub.add_parser("models", help="list, show, promote or roll back trained rankers")
    db_option(m)
    actions = m.add_subparsers(dest="action", metavar="ACTION", required=True)
    db_option(actions.add_parser("list", help="every stored model, the promoted one marked *"))
    for name, text in (("show", "a model's card"), ("promote", "make a model the one that serves")):
        a = actions.add_parser(name, help=text)
        db_option(a)
        a.add_argument("model_id")
    db_option(actions.add_parser("rollback", help="undo the last promotion"))
    m.set_defaults(handler=run_models)

    e = sub.add_parser("evaluate", help="report comparing rankers on held-out companies (Markdown + PNG)")
    db_option(e)
    e.add_argument("--out", default="evaluation", help="report folder (default ./evaluation)")
    e.add_argument("--model", help="model to evaluate (default: the newest)")
    e.add_argument("--repeats", type=int, default=3, help="shuffles per feature for permutation importance (default 3)")
    e.set_defaults(handler=run_evaluate)


def _registry(ctx):
    from ..registry import Registry
    return Registry(ctx.models_dir)


def _current(ctx):
    from ..registry import ModelRefused
    try:
        return ctx.scorer()
    except ModelRefused as exc:
        raise UsageError(f"the promoted model cannot be loaded: {exc}") from exc


def run_train(args, ctx) -> int:
    from ..compare import FEATURES
    from ..engine import Engine
    from ..learn import train
    from ..measures import metrics_table

    if args.max_iter < 1 or args.learning_rate <= 0:
        raise UsageError(f"--max-iter {args.max_iter} / --learning-rate {args.learning_rate}: expected >= 1 and > 0")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size {args.test_size} is out of range; expected a share between 0 and 1")
    current = _current(ctx)
    engine = Engine.from_store(ctx.db())
    try:
        result = train(engine, ctx.db(), current=current, seed=args.seed, test_size=args.test_size,
                       unlabelled_ratio=args.unlabelled_ratio, unlabelled_weight=args.unlabelled_weight,
                       params={"n_threads": args.threads, "max_iter": args.max_iter,
                               "learning_rate": args.learning_rate})
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    ranker, metrics = result.ranker, result.metrics
    card = {
        "model": "LearnedRanker: HistGradientBoostingRegressor on graded relevance, tree-path attributions",
        "features": list(FEATURES), "parameters": ranker.get_params(),
        "training": {**result.options, "training_data_sha256": result.train.sha256(), **result.train.stats,
                     "pairs": len(result.train), "heldout_companies": len(result.test_sirens),
                     "heldout_pairs": len(result.heldout), "heldout_sirens": result.test_sirens,
                     "labelled_not_considered": result.heldout.stats.get("labelled_not_considered", 0)},
        "metrics": metrics["new"], "baseline": "transparent", "baseline_metrics": metrics["transparent"],
    }
    if current is not None:
        card["current_model"] = {"id": current.model_id, "metrics": metrics["current"]}
    registry = _registry(ctx)
    model_id = registry.save(ranker, card)
    names = {"new": f"new ({model_id})", "transparent": "transparent",
             "current": f"current ({getattr(current, 'model_id', '')})"}
    ctx.print(f"trained on {result.train.stats['labelled']} labelled and {result.train.stats['unlabelled']} "
              f"never-contacted pairs from {result.train.stats['companies']} companies; "
              f"held out {len(result.test_sirens)} companies ({len(result.heldout)} considered options)")
    ctx.print(metrics_table({names[k]: v for k, v in metrics.items()}))
    ctx.print(f"saved {model_id} -> {registry.root / model_id}")
    if args.promote or args.force:
        rival = "current" if "current" in metrics else "transparent"
        new, old = metrics["new"]["ndcg@10"], metrics[rival]["ndcg@10"]
        if new > old or args.force:
            why = f"held-out NDCG@10 {new:.4f} vs {old:.4f} ({names[rival]})" + (" [forced]" if new <= old else "")
            registry.promote(model_id, reason=why)
            ctx.print(f"promoted {model_id}: {why}")
        else:
            ctx.print(f"not promoted: held-out NDCG@10 {new:.4f} does not beat {old:.4f} of {names[rival]} "
                      f"(use --force to promote anyway, or `reprise models promote {model_id}`)")
    return 0


def run_models(args, ctx) -> int:
    from ..registry import ModelRefused

    registry = _registry(ctx)
    try:
        if args.action == "list":
            current = registry.promoted_id()
            cards = registry.cards()
            if not cards:
                ctx.print(f"no model in {registry.root}; the transparent scorer serves (run `reprise train`)")
            for c in cards:
                mark = "*" if c["id"] == current else " "
                m, b = c.get("metrics", {}), c.get("baseline_metrics", {})
                ctx.print(f"{mark} {c['id']}  {c.get('created', '')}  NDCG@10 {m.get('ndcg@10', float('nan')):.4f} "
                          f"(transparent {b.get('ndcg@10', float('nan')):.4f})  "
                          f"pairs {c.get('training', {}).get('pairs', '?')}")
            if cards and current is None:
                ctx.print("  (none promoted: the transparent scorer serves)")
        elif args.action == "show":
            card = registry.card(args.model_id)
            ctx.print(dumps({**card, "promoted": registry.promoted_id() == args.model_id}))
        elif args.action == "promote":
            changed = registry.promote(args.model_id, reason="promoted by hand")
            ctx.print(f"promoted {args.model_id}" if changed else f"{args.model_id} is already the promoted model")
        else:
            now = registry.rollback()
            ctx.print(f"rolled back; now serving {now or 'the transparent scorer'}")
    except ModelRefused as exc:
        raise UsageError(str(exc)) from exc
    return 0


def run_evaluate(args, ctx) -> int:
    from ..evaluate import report
    from ..measures import metrics_table
    from ..registry import ModelRefused

    try:
        path, metrics = report(ctx.db(), _registry(ctx), args.out, model_id=args.model, repeats=args.repeats)
    except (ModelRefused, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    ctx.print(metrics_table(metrics))
    ctx.print(f"report -> {path}")
    return 0
