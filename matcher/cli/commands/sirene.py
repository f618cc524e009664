"""`reprise import sirene --unites FILE --etablissements FILE (--departements CODES | --pole ID …)`.

Checks the options, the files' columns and the rejects path before anything is read or stored,
shows a progress bar per file on a terminal (standard error), then prints the summary.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from matcher.errors import UsageError


def territory_of(args, ctx):
    """The territory the options name: départements, or the union of stored poles' territories."""
    from matcher.contract.identifiers import DEPARTEMENTS, is_departement, normalize_departement
    from matcher.reference.territories import Territory
    if bool(args.departements) == bool(args.pole):
        raise UsageError("import sirene needs the territory: --departements CODES (e.g. 44,49,85) or --pole ID …, "
                         "not both")
    if args.departements:
        codes = [normalize_departement(c) for c in args.departements.split(",") if c.strip()]
        bad = [c for c in codes if not is_departement(c)]
        if bad or not codes:
            raise UsageError(f"--departements {args.departements}: {', '.join(bad) or 'no code'} is not a département "
                             f"code; expected codes such as 44,49,85 ({DEPARTEMENTS[0]}…{DEPARTEMENTS[-1]}, 2A, 2B)")
        return Territory(departements=frozenset(codes), label="départements " + ",".join(codes))
    from matcher.store import records
    poles = {r["pole_id"]: r for r in records.pole_rows(ctx.db())}
    unknown = [p for p in args.pole if p not in poles]
    if unknown:
        raise UsageError(f"--pole {unknown[0]} is not a stored pole; stored: {', '.join(sorted(poles)) or 'none'} "
                         "(import poles first)")
    return Territory.of_poles([poles[p] for p in args.pole])


def run_sirene(args, ctx) -> int:
    from matcher.contract.files import write_rejects
    from matcher.contract.outputs import check_writable
    from matcher.sirene.pool import import_pool
    from matcher.sirene.stock import StockFile
    if args.file:
        raise UsageError("import sirene takes no FILE: give --unites FILE and --etablissements FILE")
    if not args.unites or not args.etablissements:
        raise UsageError("import sirene needs --unites FILE (StockUniteLegale) and --etablissements FILE "
                         "(StockEtablissement)")
    units = StockFile.open(args.unites, label="--unites")
    estabs = StockFile.open(args.etablissements, label="--etablissements")
    from matcher.sirene import establishments
    from matcher.sirene import units as unit_fields
    estabs.check(establishments.REQUIRED, "StockEtablissement")
    units.check(unit_fields.REQUIRED, "StockUniteLegale")
    territory = territory_of(args, ctx)
    if not territory:
        raise UsageError(f"{territory.label} has no territory (no département, commune or circle)")
    to_stdout = args.rejects == "-"  # standard output carries the rejects alone, the summary goes to stderr
    rejects_path = "-" if to_stdout else check_writable(args.rejects or Path(args.etablissements + ".rejects.csv"),
                                                        option="--rejects")
    with _progress(units, estabs) as progress:
        report = import_pool(ctx.db(), units, estabs, territory, ctx.communes(), progress=progress)
    write_rejects(rejects_path, report.rejects)
    rejected = sum(report.rejected.values())
    where = "standard output" if to_stdout else rejects_path
    summary = report.summary() + (f" -> {where}" if rejected else "")
    if to_stdout:
        print(summary, file=sys.stderr)
    else:
        ctx.print(summary)
    if report.stored or report.left:
        ctx.keep_index()
    return 1 if (args.strict and rejected) else 0


@contextlib.contextmanager
def _progress(units, estabs) -> Iterator[dict]:
    """A bar per file on a terminal (bytes read; rows for Parquet), nothing otherwise."""
    if not sys.stderr.isatty():
        yield {}
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
    bars = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)
    with bars:
        tasks = {}
        for key, stock in (("establishments", estabs), ("units", units)):
            task = bars.add_task(f"{stock.path.name}", total=stock.size or None)
            tasks[key] = (lambda done, task=task: bars.update(task, completed=done))
        yield tasks
