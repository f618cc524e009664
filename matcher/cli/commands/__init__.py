"""The sub-commands of `reprise`: each module has ``register(subparsers)``.

Other installed packages add commands through the ``reprise.commands`` entry-point group (each
entry point names a ``register(subparsers)`` function): the advisor API adds ``serve``,
``keys`` and ``users`` that way, so this package never imports the API.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata

from matcher.cli.commands import demo, export, imports, match, models, scan, sectors, train

ENTRY_POINTS = "reprise.commands"
BUILT_IN: tuple[Callable, ...] = (imports.register, match.register, sectors.register, demo.register,
                                  scan.register, train.register, models.register, export.register)


def registered_commands() -> list[Callable]:
    """Built-in commands, then those other packages declare."""
    found = sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda ep: ep.name)
    return [*BUILT_IN, *(ep.load() for ep in found)]
