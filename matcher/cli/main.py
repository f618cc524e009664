"""`reprise …`: parse the command line, run one command, turn errors into exit codes.

Exit codes: 0 success; 1 ``--strict`` and rows were rejected; 2 a :class:`RepriseError` (the
message says what to change); 70 an internal error (a bug: one line says where the traceback
was written, ``--debug`` prints it); 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from matcher import __version__
from matcher.cli.commands import registered_commands
from matcher.cli.context import Context
from matcher.cli.options import db_option
from matcher.errors import RepriseError
from matcher.store.connection import unavailable

EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 70, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reprise", description="Takeover matching for territorial cooperation poles.")
    parser.add_argument("--version", action="version", version=f"reprise {__version__}")
    db_option(parser, top=True)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in registered_commands():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        ctx = Context.from_args(args)
        return int(args.handler(args, ctx) or 0)
    except RepriseError as exc:
        print(f"reprise: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        known = unavailable(exc)
        if known is None:
            return _internal_error(exc, debug=args.debug)
        print(f"reprise: error: {known}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("reprise: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _internal_error(exc, debug=args.debug)


def _internal_error(exc: BaseException, *, debug: bool) -> int:
    text = "".join(traceback.format_exception(exc))
    if debug:
        print(text, file=sys.stderr, end="")
        print(f"reprise: internal error ({type(exc).__name__}); this is a bug in Reprise", file=sys.stderr)
        return EXIT_INTERNAL
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        fd, name = tempfile.mkstemp(prefix=f"reprise-crash-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"reprise {__version__}\nargv: {sys.argv}\n\n{text}")
        where = f"the traceback is in {Path(name)}"
    except OSError:
        where = "the traceback could not be written; run again with --debug to see it"
    print(f"reprise: internal error ({type(exc).__name__}: {exc}); this is a bug in Reprise, not in your "
          f"input — {where}", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
