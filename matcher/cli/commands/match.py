"""`reprise match SIREN` and `reprise match --all --out FILE.csv`."""

from __future__ import annotations

import contextlib
import sys

from matcher.cli.options import command, dumps, in_range, parse_kinds, scheduler, workers
from matcher.contract.outputs import check_writable, output_file
from matcher.contract.specs import OPTION_KINDS
from matcher.errors import NotFound, UsageError

TABLE_EXCLUSIONS = 50  # exclusions listed by the table view


def register(sub) -> None:
    p = command(sub, "match", help="rank takeover options for a company (or --all)")
    p.add_argument("siren", nargs="?", help="SIREN of a stored company in difficulty")
    p.add_argument("--all", action="store_true", help="rank every stored company in difficulty")
    p.add_argument("--top", type=int, default=10, help="options per company (default 10)")
    p.add_argument("--kinds", help="comma-separated kinds to keep: " + ",".join(OPTION_KINDS))
    p.add_argument("--format", choices=["table", "json", "csv"],
                   help="output format (default: table on a terminal, csv otherwise)")
    p.add_argument("--out", help="output file (with --all: required CSV path, - for stdout)")
    p.add_argument("--explain-exclusions", action="store_true",
                   help="also list candidates considered and excluded, with the reason")
    p.add_argument("--engine", choices=["local", "dask"], default="local", help="where --all runs")
    p.add_argument("--scheduler", help="Dask scheduler address for --engine dask")
    p.add_argument("--workers", type=int, help="local processes for --all (default: all cores)")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    import pandas as pd

    from matcher.contract.identifiers import clean_siren
    from matcher.ranking.batch import match_all, to_csv, to_frame
    from matcher.store.records import company_rows

    in_range("--top", args.top, 1, 1000)
    kinds = parse_kinds(args.kinds)
    if args.all == bool(args.siren):
        raise UsageError("give either a SIREN or --all")
    address = scheduler(args.engine, args.scheduler)
    if args.all and not args.out:
        raise UsageError("--all needs --out FILE.csv (or --out - for standard output)")
    if args.out and args.out != "-":
        check_writable(args.out, option="--out")
    ctx.db(create=False)  # ranking needs stored companies: a missing store is an error, not a new one
    if args.all:
        n_workers = workers(args.workers)
        engine = ctx.engine()
        companies = company_rows(ctx.db())
        if address:
            from matcher.ranking.distributed import match_all_dask
            df = match_all_dask(engine, companies, top=args.top, kinds=kinds, scheduler=address)
        else:
            df = match_all(engine, companies, top=args.top, kinds=kinds, workers=n_workers)
        with output_file(args.out, option="--out") as fh:
            to_csv(df, fh)
        if args.out != "-":
            ctx.print(f"ranked {len(companies)} companies, {len(df)} options -> {args.out}")
        return 0
    siren = clean_siren(pd.Series([args.siren], dtype=object)).iloc[0]
    rows = company_rows(ctx.db(), [siren])
    if not rows:
        raise NotFound(f"siren {args.siren} is not a stored company; import it with `reprise import companies`")
    engine = ctx.engine()
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    # the table shows the first exclusions only: only those need measuring
    result = engine.match(rows[0], top=args.top, kinds=kinds, explain_exclusions=args.explain_exclusions,
                          exclusions_limit=TABLE_EXCLUSIONS if fmt == "table" else None)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(output_file(args.out, option="--out")) if args.out else sys.stdout
        if fmt == "json":
            print(dumps(result.payload(explain=args.explain_exclusions)), file=out)
        elif fmt == "csv":
            to_csv(to_frame(result.rows()), out)
            if args.explain_exclusions:
                pd.DataFrame(result.exclusions).to_csv(sys.stderr, index=False)
        else:
            from matcher.cli.render import print_table
            print_table(rows[0], result, out, exclusions=TABLE_EXCLUSIONS if args.explain_exclusions else 0)
    return 0
