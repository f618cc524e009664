"""`reprise sectors infer --in FILE.csv --out OUT.csv`."""

from __future__ import annotations

from matcher.cli.options import command, in_range


def register(sub) -> None:
    p = command(sub, "sectors", help="sector tools")
    ssub = p.add_subparsers(dest="sectors_command", metavar="ACTION", required=True)
    inf = command(ssub, "infer", help="free-text activities -> NAF sub-classes")
    inf.add_argument("--in", dest="input", required=True, help="CSV with an id and a text column")
    inf.add_argument("--text-column", default="text")
    inf.add_argument("--id-column", default="id")
    inf.add_argument("--out", required=True, help="output CSV: id,naf1..nafK,score1..scoreK")
    inf.add_argument("--top", type=int, default=3)
    inf.set_defaults(handler=run)


def run(args, ctx) -> int:
    from matcher.contract.files import read_records
    from matcher.contract.outputs import check_writable, output_file
    from matcher.reference.sector_table import infer_table
    in_range("--top", args.top, 1, 10)
    check_writable(args.out, option="--out")
    df = read_records(args.input).drop(columns="__line__")
    out = infer_table(df, text_column=args.text_column, id_column=args.id_column, top=args.top)
    with output_file(args.out, option="--out") as fh:
        out.to_csv(fh, index=False)
    coded = out["naf1"].fillna("").astype(str).ne("").sum()
    ctx.print(f"inferred sectors for {len(out)} texts ({coded} with a code) -> {args.out}")
    return 0
