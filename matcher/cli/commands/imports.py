"""`reprise import companies|candidates|outcomes|poles FILE`."""

from __future__ import annotations

import sys

from matcher.cli.options import command


def register(sub) -> None:
    p = command(sub, "import", help="import a contract file (companies, candidates, outcomes, poles)")
    p.add_argument("kind", choices=["companies", "candidates", "outcomes", "poles"])
    p.add_argument("file", help="CSV (, or ;), JSON array or JSON Lines")
    p.add_argument("--rejects", metavar="PATH",
                   help="where to write rejected rows (default FILE.rejects.csv; - for standard output, the "
                        "summary then going to standard error)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any row is rejected")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
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
