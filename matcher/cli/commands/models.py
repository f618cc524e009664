"""`reprise models list|show|promote|rollback` and `reprise evaluate`: the analysts' registry."""

from __future__ import annotations

import math
import sys

from matcher.cli.options import command, dumps
from matcher.errors import ModelRefused, UsageError


def register(sub) -> None:
    m = command(sub, "models", help="list, show, promote or roll back trained rankers")
    actions = m.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(actions, "list", help="every stored model, the promoted one marked *")
    for name, text in (("show", "a model's card"), ("promote", "make a model the one that serves")):
        command(actions, name, help=text).add_argument("model_id")
    command(actions, "rollback", help="undo the last promotion")
    m.set_defaults(handler=run_models)

    e = command(sub, "evaluate", help="report comparing rankers on held-out companies (Markdown + PNG)")
    e.add_argument("--out", default="evaluation", help="report folder (default ./evaluation)")
    e.add_argument("--model", help="model to evaluate (default: the newest)")
    e.add_argument("--repeats", type=int, default=3, help="shuffles per feature for permutation importance (default 3)")
    e.set_defaults(handler=run_evaluate)


def run_models(args, ctx) -> int:
    registry = ctx.registry()
    if args.action == "list":
        current = registry.promoted_id()
        cards = registry.cards()
        if not cards:
            ctx.print(f"no model in {registry.root}; the transparent scorer serves (run `reprise train`)")
        for c in cards:
            mark = "*" if c["id"] == current else " "
            m, b = c.get("metrics", {}), c.get("baseline_metrics", {})
            why = _refused(registry, c["id"])
            refused = f"\n    REFUSED: {why}" if why else ""
            ctx.print(f"{mark} {c['id']}  {c.get('created', '')}  NDCG@10 {_num(m.get('ndcg@10'))} "
                      f"(transparent {_num(b.get('ndcg@10'))})  "
                      f"pairs {c.get('training', {}).get('pairs', '?')}{refused}")
        if cards and current is None:
            ctx.print("  (none promoted: the transparent scorer serves)")
    elif args.action == "show":
        card = registry.card(args.model_id)
        why = _refused(registry, args.model_id)  # marked as `models list` marks it, and said on standard error
        ctx.print(dumps({**card, "promoted": registry.promoted_id() == args.model_id, "refused": why}))
        if why:
            print(f"reprise: REFUSED: {why}", file=sys.stderr)
    elif args.action == "promote":
        changed = registry.promote(args.model_id, reason="promoted by hand")
        ctx.print(f"promoted {args.model_id}" if changed else f"{args.model_id} is already the promoted model")
    else:
        now = registry.rollback()
        ctx.print(f"rolled back; now serving {now or 'the transparent scorer'}")
    return 0


def _refused(registry, model_id: str) -> str | None:
    """Why the registry would refuse to load the model (checksum, library version), or None."""
    try:
        registry.verify(model_id)
    except ModelRefused as exc:
        return str(exc)
    return None


def _num(value) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"


def run_evaluate(args, ctx) -> int:
    from matcher.contract.outputs import check_folder
    from matcher.learning.evaluate import report
    from matcher.learning.measures import metrics_table

    if args.repeats < 1:
        raise UsageError(f"--repeats {args.repeats} must be at least 1")
    check_folder(args.out, option="--out")
    path, metrics = report(ctx.db(create=False), ctx.registry(), args.out, model_id=args.model, repeats=args.repeats)
    ctx.print(metrics_table(metrics))
    ctx.print(f"report -> {path}")
    return 0
