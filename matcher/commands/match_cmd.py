"""`reprise match SIREN` and `reprise match --all --out FILE.csv`."""

from __future__ import annotations

import sys

from ..cli import UsageError, dumps
from ..schema import CANDIDATE_KINDS

OPTION_KINDS = CANDIDATE_KINDS + ("employees",)
TABLE_EXCLUSIONS = 50  # exclusions listed by the table view


def register(sub, db_option) -> None:
    p = sub.add_parser("match", help="rank takeover options for a company (or --all)")
    db_option(p)
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


def parse_kinds(text: str | None) -> list[str] | None:
    if not text:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in OPTION_KINDS]
    if bad:
        raise UsageError(f"--kinds {','.join(bad)} is not a kind; expected some of {', '.join(OPTION_KINDS)}")
    return kinds


def run(args, ctx) -> int:
    import pandas as pd

    from ..batch import match_all, result_rows, to_csv, to_frame
    from ..engine import company_rows
    from ..schema import clean_siren

    if not 1 <= args.top <= 1000:
        raise UsageError(f"--top {args.top} is out of range; expected 1 to 1000")
    kinds = parse_kinds(args.kinds)
    if args.all == bool(args.siren):
        raise UsageError("give either a SIREN or --all")
    engine = ctx.engine()
    if args.all:
        if not args.out:
            raise UsageError("--all needs --out FILE.csv (or --out - for standard output)")
        companies = company_rows(ctx.db())
        if args.engine == "dask":
            from ..distributed import match_all_dask
            if not args.scheduler:
                raise UsageError("--engine dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
            try:
                df = match_all_dask(engine, companies, top=args.top, kinds=kinds, scheduler=args.scheduler)
            except ConnectionError as exc:
                raise UsageError(str(exc)) from exc
        else:
            from ..batch import default_workers
            workers = args.workers or default_workers()
            if workers < 1:
                raise UsageError(f"--workers {workers} must be at least 1")
            df = match_all(engine, companies, top=args.top, kinds=kinds, workers=workers)
        to_csv(df, sys.stdout if args.out == "-" else args.out)
        if args.out != "-":
            ctx.print(f"ranked {len(companies)} companies, {len(df)} options -> {args.out}")
        return 0
    siren = clean_siren(pd.Series([args.siren])).iloc[0]
    rows = company_rows(ctx.db(), [siren])
    if not rows:
        raise UsageError(f"siren {args.siren} is not a stored company; import it with `reprise import companies`")
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    # the table shows the first exclusions only: only those need measuring
    result = engine.match(rows[0], top=args.top, kinds=kinds, explain_exclusions=args.explain_exclusions,
                          exclusions_limit=TABLE_EXCLUSIONS if fmt == "table" else None)
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        if fmt == "json":
            payload = {"siren": result.siren, "model": result.model_id, "notes": result.notes,
                       "options": result_rows(result), "excluded_counts": result.excluded_counts}
            if args.explain_exclusions:
                payload["exclusions"] = result.exclusions
            print(dumps(payload), file=out)
        elif fmt == "csv":
            to_csv(to_frame(result_rows(result)), out)
            if args.explain_exclusions:
                pd.DataFrame(result.exclusions).to_csv(sys.stderr, index=False)
        else:
            print_table(rows[0], result, out, exclusions=args.explain_exclusions)
    finally:
        if args.out:
            out.close()
    return 0


def print_table(company: dict, result, out, *, exclusions: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=max(120, Console().width))
    title = (f"{company['name']} ({company['siren']}) — {company.get('procedure')}, "
             f"NAF {company.get('naf') or '?'}, model {result.model_id}")
    table = Table(title=title, title_justify="left")
    for col in ("rank", "candidate", "kind", "score", "km", "why (top contributions)"):
        table.add_column(col, justify="right" if col in ("rank", "score", "km") else "left")
    for o in result.options:
        contribs = sorted(((k, v) for k, v in o.explanation.items() if isinstance(v, (int, float)) and v),
                          key=lambda kv: -abs(kv[1]))[:4]
        why = ", ".join(f"{k} {v:+.3f}" for k, v in contribs)
        table.add_row(str(o.rank), f"{o.name} [{o.candidate_id}]", o.kind, f"{o.score:.3f}",
                      f"{o.distance_km:.1f}", why)
    console.print(table)
    for note in result.notes:
        console.print(f"  note: {note}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.excluded_counts.items()))
    console.print(f"  excluded: {counts or 'none'}")
    if exclusions:
        for e in result.exclusions[:TABLE_EXCLUSIONS]:
            console.print(f"    {e['candidate_id']} ({e['kind']}, {e['distance_km']} km): {e['reason']}")
        if result.exclusions_total > TABLE_EXCLUSIONS:
            console.print(f"    … {result.exclusions_total - TABLE_EXCLUSIONS} more (use --format json for all)")
