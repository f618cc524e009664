"""`reprise sectors infer --in FILE.csv --out OUT.csv`."""

from __future__ import annotations

from ..cli import UsageError
from ..records import InputFileError, read_records


def register(sub, db_option) -> None:
    p = sub.add_parser("sectors", help="sector tools")
    db_option(p)
    ssub = p.add_subparsers(dest="sectors_command", metavar="ACTION", required=True)
    inf = ssub.add_parser("infer", help="free-text activities -> NAF sub-classes")
    db_option(inf)
    inf.add_argument("--in", dest="input", required=True, help="CSV with an id and a text column")
    inf.add_argument("--text-column", default="text")
    inf.add_argument("--id-column", default="id")
    inf.add_argument("--out", required=True, help="output CSV: id,naf1..nafK,score1..scoreK")
    inf.add_argument("--top", type=int, default=3)
    inf.set_defaults(handler=run)


def run(args, ctx) -> int:
    from ..sectors import infer_table
    if not 1 <= args.top <= 10:
        raise UsageError(f"--top {args.top} is out of range; expected 1 to 10")
    try:
        df = read_records(args.input).drop(columns="__line__")
        out = infer_table(df, text_column=args.text_column, id_column=args.id_column, top=args.top)
    except (InputFileError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    out.to_csv(args.out, index=False)
    coded = out["naf1"].fillna("").astype(str).ne("").sum()
    ctx.print(f"inferred sectors for {len(out)} texts ({coded} with a code) -> {args.out}")
    return 0
