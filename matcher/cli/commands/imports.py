"""`reprise import companies|candidates|outcomes|poles FILE` and `reprise import sirene …`."""

from __future__ import annotations

import sys

from matcher.cli.options import command
from matcher.errors import UsageError

CONTRACT_KINDS = ["companies", "candidates", "outcomes", "poles"]


def register(sub) -> None:
    p = command(sub, "import", help="import a contract file (companies, candidates, outcomes, poles), or the "
                                    "candidate pool of a territory from INSEE's SIRENE stock files (sirene)")
    p.add_argument("kind", choices=[*CONTRACT_KINDS, "sirene"])
    p.add_argument("file", nargs="?", help="CSV (, or ;), JSON array or JSON Lines (not for sirene)")
    p.add_argument("--rejects", metavar="PATH",
                   help="where to write rejected rows (default FILE.rejects.csv; - for standard output, the "
                        "summary then going to standard error)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any row is rejected")
    s = p.add_argument_group("sirene", "the candidate pool from SIRENE (docs/contract.md §1.7)")
    s.add_argument("--unites", metavar="FILE", help="StockUniteLegale: CSV, zipped CSV or Parquet")
    s.add_argument("--etablissements", metavar="FILE", help="StockEtablissement: CSV, zipped CSV or Parquet")
    s.add_argument("--departements", metavar="CODES", help="the territory: département codes, e.g. 44,49,85")
    s.add_argument("--pole", metavar="ID", nargs="+", action="extend",
                   help="the territory: that of these stored poles")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    if args.kind == "sirene":
        from matcher.cli.commands.sirene import run_sirene
        return run_sirene(args, ctx)
    if not args.file:
        raise UsageError(f"import {args.kind} needs a FILE")
    given = [o for o, v in (("--unites", args.unites), ("--etablissements", args.etablissements),
                            ("--departements", args.departements), ("--pole", args.pole)) if v]
    if given:
        raise UsageError(f"{given[0]} is an option of import sirene, not of import {args.kind}")
    from matcher.contract.imports import import_frame, read_import
    raw, rejects = read_import(args.kind, args.file, rejects_path=args.rejects)  # a refused file opens no store
    report = import_frame(ctx.db(), args.kind, raw, rejects_path=rejects, communes=ctx.communes())
    if args.rejects == "-":  # standard output carries the rejects alone
        print(report.summary(), file=sys.stderr)
    else:
        ctx.print(report.summary())
    if report.stored and args.kind in ("candidates", "companies", "poles"):
        ctx.keep_index()  # the snapshot follows the store: written now rather than by the next reader
    if report.rejected:
        needs_communes = report.rejects["reason"].str.contains("REPRISE_COMMUNES", regex=False).sum()
        if needs_communes:
            print(f"reprise: {needs_communes} rows give only a commune or postal code and no communes file is "
                  "configured: set REPRISE_COMMUNES to the communes file and import again", file=sys.stderr)
    return 1 if (args.strict and report.rejected) else 0
