"""`reprise export candidates|companies --out FILE.csv`: the stored records, re-importable."""

from __future__ import annotations

import sys

from matcher.cli.options import command


def register(sub) -> None:
    p = command(sub, "export", help="write the stored candidates or companies as a contract CSV file")
    p.add_argument("kind", choices=["candidates", "companies"])
    p.add_argument("--out", required=True, metavar="FILE.csv", help="the CSV file to write (- for standard output)")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    from matcher.contract.export import write_export
    from matcher.contract.outputs import output_file
    db = ctx.db(create=False)
    with output_file(args.out, option="--out") as out:  # written whole, or not at all
        n = write_export(db, args.kind, out)
    print(f"{args.kind}: exported {n} -> {args.out}", file=sys.stderr)
    return 0
