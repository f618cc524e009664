"""What commands show people: the ranked options as a table, a progress bar."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from matcher.ranking.explain import TRADE_LINK_LEGEND, top_contributions, trade_link_word, why_text
from matcher.ranking.labels import legend

WHY_SHOWN = 4  # contributions named per option


def print_table(company: dict[str, Any], result: Any, out: TextIO, *, exclusions: int = 0) -> None:
    """The options of one company as a table; with ``exclusions``, that many exclusions listed."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=max(120, Console().width))
    title = (f"{company['name']} ({company['siren']}) — {company.get('procedure')}, "
             f"NAF {company.get('naf') or '?'}, model {result.model_id}")
    table = Table(title=title, title_justify="left")
    for col in ("rank", "candidate", "kind", "trade link", "score", "km", "why (top contributions)"):
        table.add_column(col, justify="right" if col in ("rank", "score", "km") else "left")
    for o in result.options:
        table.add_row(str(o.rank), f"{o.name} [{o.candidate_id}]", o.kind, trade_link_word(o.trade_link),
                      f"{o.score:.3f}", f"{o.distance_km:.1f}", why_text(o.explanation, n=WHY_SHOWN, digits=3))
    console.print(table)
    for note in result.notes:
        console.print(f"  note: {note}")
    shown = {k for o in result.options for k, _ in top_contributions(o.explanation, WHY_SHOWN)}
    lines = legend(shown) if shown else []
    if any(not o.trade_link for o in result.options):
        lines.append(TRADE_LINK_LEGEND)
    if lines:
        console.print("  legend:")
        for line in lines:  # a long sentence goes on indented under its label, not at the margin
            console.print(textwrap.fill(line, width=console.width, initial_indent="    ", subsequent_indent="      "),
                          soft_wrap=True, markup=False, highlight=False)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.excluded_counts.items()))
    console.print(f"  excluded: {counts or 'none'}")
    if exclusions:
        for e in result.exclusions[:exclusions]:
            console.print(f"    {e['candidate_id']} ({e['kind']}, {e['distance_km']} km): {e['reason']}")
        if result.exclusions_total > exclusions:
            console.print(f"    … {result.exclusions_total - exclusions} more (use --format json for all)")


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on standard error when it is a terminal; otherwise no callback.

    The callback takes (stage, rows done in this step, total rows of the stage).
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        def advance(stage: str, step: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.advance(tasks[stage], step)
        yield advance
