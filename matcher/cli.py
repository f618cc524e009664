"""`reprise …`: the command line. With api/config.py, the only code that reads the environment.

Every command accepts ``--db URL`` before or after its name; the default is
``REPRISE_DATABASE_URL``, else ``sqlite:///reprise.db``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store

ENV_DB = "REPRISE_DATABASE_URL"
ENV_COMMUNES = "REPRISE_COMMUNES"
ENV_MODELS = "REPRISE_MODELS_DIR"


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


@dataclass
class Context:
    db_url: str
    communes_path: str | None
    models_dir: Path
    out: Any = field(default_factory=lambda: sys.stdout)
    _db: Any = None
    _communes: Any = None

    def db(self):
        if self._db is None:
            try:
                self._db = store.connect(self.db_url)
            except (ValueError, ConnectionError) as exc:
                raise UsageError(str(exc)) from exc
        return self._db

    def communes(self):
        """The communes file named by REPRISE_COMMUNES, or None when unset."""
        if self._communes is None and self.communes_path:
            from .geo import Communes
            try:
                self._communes = Communes.from_file(self.communes_path)
            except (FileNotFoundError, ValueError) as exc:
                raise UsageError(f"{ENV_COMMUNES}: {exc}") from exc
        return self._communes

    def engine(self):
        """The matching engine over the stored candidates, with the promoted ranker if any."""
        from .engine import Engine
        return Engine.from_store(self.db(), scorer=self.scorer())

    def scorer(self):
        """The promoted ranker of the registry, or None for the transparent scorer."""
        from .registry import ModelRefused, current_scorer
        try:
            return current_scorer(self.models_dir)
        except ModelRefused as exc:
            raise UsageError(str(exc)) from exc

    def print(self, *args: Any) -> None:
        print(*args, file=self.out)


Handler = Callable[[argparse.Namespace, Context], int]


def _db_option(p: argparse.ArgumentParser, *, top: bool) -> None:
    p.add_argument("--db", default=None if top else argparse.SUPPRESS, metavar="URL",
                   help=f"store URL (default ${ENV_DB}, else sqlite:///reprise.db)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reprise", description="Takeover matching for territorial cooperation poles.")
    _db_option(parser, top=True)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import commands
    for register in commands.REGISTRY:
        register(sub, lambda p: _db_option(p, top=False))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    ctx = Context(
        db_url=args.db or os.environ.get(ENV_DB) or store.default_url(),
        communes_path=os.environ.get(ENV_COMMUNES) or None,
        models_dir=Path(os.environ.get(ENV_MODELS) or "models"),
    )
    try:
        return int(args.handler(args, ctx) or 0)
    except UsageError as exc:
        print(f"reprise: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


if __name__ == "__main__":
    # through the package module, so commands raising matcher.cli.UsageError are caught by the
    # same class (run as a script, this file is __main__, a different module object)
    from matcher.cli import main as package_main
    sys.exit(package_main())
