"""The command line: ``reprise COMMAND``. Built-in commands live in ``matcher.cli.commands``;
other packages add theirs through the ``reprise.commands`` entry-point group (the API adds
``serve`` and ``keys``)."""

from matcher.cli.main import main

__all__ = ["main"]
