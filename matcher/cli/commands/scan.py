"""`reprise scan FILE`: BODACC announcements -> signals, companies, ranked options, digests (§4)."""

from __future__ import annotations

import sys
from pathlib import Path

from matcher.cli.options import command, in_range, scheduler, workers
from matcher.contract.outputs import check_folder, check_writable, output_file
from matcher.errors import InputFileError, OutputNotWritable


def register(sub) -> None:
    p = command(sub, "scan", help="read BODACC announcements, store signals, rank new cases")
    p.add_argument("file", help="BODACC annonces-commerciales: API JSON, JSON array, JSON Lines or ; CSV")
    p.add_argument("--signals-out", metavar="CSV", help="one row per announcement, with its category or reason")
    p.add_argument("--matches-out", metavar="CSV", help="ranked options of the newly actionable companies (§2)")
    p.add_argument("--top", type=int, default=10, help="options per company (default 10)")
    p.add_argument("--digest-dir", metavar="DIR", help="write one Markdown digest per pole here")
    p.add_argument("--sirene-unites", metavar="FILE", help="SIRENE StockUniteLegale extract (CSV or Parquet)")
    p.add_argument("--sirene-etablissements", metavar="FILE",
                   help="SIRENE StockEtablissement extract (CSV or Parquet)")
    p.add_argument("--engine", choices=["local", "dask"], default="local", help="where the ranking runs")
    p.add_argument("--scheduler", help="Dask scheduler address for --engine dask")
    p.add_argument("--workers", type=int, help="local processes for the ranking (default: all cores)")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    from matcher import store
    from matcher.cli.render import progress
    from matcher.ranking.batch import to_csv
    from matcher.scan.daily import scan_file
    from matcher.scan.digest import write_digests
    from matcher.scan.signals import read_signals
    from matcher.store.records import pole_rows

    in_range("--top", args.top, 1, 1000)
    address = scheduler(args.engine, args.scheduler)
    n_workers = workers(args.workers)
    for option, path in (("--signals-out", args.signals_out), ("--matches-out", args.matches_out)):
        if path:
            check_writable(path, option=option)
    if args.digest_dir:
        check_folder(args.digest_dir, option="--digest-dir")
    for opt in ("sirene_unites", "sirene_etablissements"):
        path = getattr(args, opt)
        if path and not Path(path).is_file():
            raise InputFileError(f"--{opt.replace('_', '-')} {path} does not exist or is not a file")

    def deliver(report) -> None:  # before the cases are marked ranked: a failed write leaves them pending
        try:
            if args.signals_out:
                with output_file(args.signals_out, option="--signals-out") as fh:
                    report.signals.to_csv(fh, index=False)
            if args.matches_out:
                with output_file(args.matches_out, option="--matches-out") as fh:
                    to_csv(report.matches, fh)
            if args.digest_dir:
                poles = {r["pole_id"]: r["name"] for r in pole_rows(ctx.db())}
                paths = write_digests(args.digest_dir, report.cases, report.matches, pole_names=poles,
                                      day=store.now().date().isoformat())
                ctx.print(f"digests: {len(paths)} file(s) in {args.digest_dir}")
        except OutputNotWritable as exc:
            raise OutputNotWritable(f"{exc}; the signals are stored and the {report.ranked} companies ranked by "
                                    "this run stay pending: scan the same file again to write the outputs",
                                    field=exc.field, value=exc.value) from None

    signals = read_signals(args.file)  # a refused file opens no store
    with progress(sys.stderr.isatty()) as advance:
        report = scan_file(ctx.db(), signals, communes=ctx.communes(), sirene_units=args.sirene_unites,
                           sirene_establishments=args.sirene_etablissements, scorer=ctx.scorer(),
                           top=args.top, scheduler=address, workers=n_workers, progress=advance,
                           index_dir=ctx.settings.index_dir(), deliver=deliver)
    ctx.print(report.summary())
    needs = report.signals["reason"].astype(str).str.contains("REPRISE_COMMUNES", regex=False).sum()
    if needs:
        print(f"reprise: {needs} announcements give only a postal code and no communes file is configured: "
              "set REPRISE_COMMUNES and scan again (stored signals with a reason are retried)", file=sys.stderr)
    return 0
