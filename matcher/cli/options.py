"""Options and checks shared by several commands, with messages naming the option and value."""

from __future__ import annotations

import argparse
import json
from typing import Any

from matcher.contract import specs
from matcher.errors import UsageError


def db_option(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--db URL``, accepted before the command name and after it."""
    p.add_argument("--db", default=None if top else argparse.SUPPRESS, metavar="URL",
                   help="store URL (default $REPRISE_DATABASE_URL, else sqlite:///reprise.db)")


def command(sub, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A sub-command parser that also takes ``--db`` after its name."""
    p = sub.add_parser(name, **kwargs)
    db_option(p)
    return p


def in_range(option: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise UsageError(f"{option} {value} is out of range; expected {low} to {high}")
    return value


def parse_kinds(text: str | None) -> list[str] | None:
    """``--kinds company,cooperative`` -> list; an error naming the kinds that do not exist."""
    return specs.parse_kinds(text, field="--kinds")


def workers(value: int | None) -> int:
    """Local processes: the option's value, else every core this process may use."""
    from matcher.ranking.batch import default_workers
    n = default_workers() if value is None else value
    if n < 1:
        raise UsageError(f"--workers {n} must be at least 1")
    return n


def scheduler(engine: str, address: str | None) -> str | None:
    """The Dask scheduler address for ``--engine dask``, else None."""
    if engine != "dask":
        return None
    if not address:
        raise UsageError("--engine dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    return address


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)
