"""`reprise scan FILE`: BODACC announcements -> signals, companies, ranked options, digests (§4)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from ..cli import UsageError


def register(sub, db_option) -> None:
    p = sub.add_parser("scan", help="read BODACC announcements, store signals, rank new cases")
    db_option(p)
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


@contextmanager
def _progress(enabled: bool):
    """A rich progress bar on standard error when it is a terminal; otherwise no callback."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    tasks: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        def advance(stage: str, step: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.advance(tasks[stage], step)
        yield advance


def run(args, ctx) -> int:
    from .. import store
    from ..batch import to_csv
    from ..digest import write_digests
    from ..records import InputFileError
    from ..scan import scan_file

    if not 1 <= args.top <= 1000:
        raise UsageError(f"--top {args.top} is out of range; expected 1 to 1000")
    scheduler = None
    if args.engine == "dask":
        if not args.scheduler:
            raise UsageError("--engine dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        scheduler = args.scheduler
    from ..batch import default_workers
    workers = args.workers or default_workers()
    if workers < 1:
        raise UsageError(f"--workers {workers} must be at least 1")
    for opt in ("sirene_unites", "sirene_etablissements"):
        path = getattr(args, opt)
        if path and not Path(path).exists():
            raise UsageError(f"--{opt.replace('_', '-')} {path} does not exist")
    with _progress(sys.stderr.isatty()) as progress:
        try:
            report = scan_file(ctx.db(), args.file, communes=ctx.communes(), sirene_units=args.sirene_unites,
                               sirene_establishments=args.sirene_etablissements, scorer=ctx.scorer(),
                               top=args.top, scheduler=scheduler, workers=workers, progress=progress)
        except InputFileError as exc:
            raise UsageError(str(exc)) from exc
        except (ValueError, FileNotFoundError, ConnectionError) as exc:
            raise UsageError(str(exc)) from exc
    if args.signals_out:
        report.signals.to_csv(args.signals_out, index=False)
    if args.matches_out:
        to_csv(report.matches, args.matches_out)
    if args.digest_dir:
        poles = {r["pole_id"]: r["name"] for r in store.fetch(ctx.db(), store.poles)}
        paths = write_digests(args.digest_dir, report.cases, report.matches, pole_names=poles,
                              day=store.now().date().isoformat())
        ctx.print(f"digests: {len(paths)} file(s) in {args.digest_dir}")
    ctx.print(report.summary())
    needs = report.signals["reason"].str.contains("REPRISE_COMMUNES", regex=False).sum()
    if needs:
        print(f"reprise: {needs} announcements give only a postal code and no communes file is configured: "
              "set REPRISE_COMMUNES and scan again (stored signals with a reason are retried)", file=sys.stderr)
    return 0
