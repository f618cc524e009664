"""One error hierarchy: what a user can act on is a :class:`RepriseError`.

The CLI prints a ``RepriseError`` without a traceback and exits 2; the API answers it as problem
details with the class's ``status``. Anything else is an internal error (a bug): the CLI exits 70
and says where the traceback was written, the API answers 500.
"""

from __future__ import annotations


class RepriseError(Exception):
    """A problem the user can fix; the message says what to change.

    ``field`` and ``value`` name the input at fault when there is one (the API lists them in
    its problem details).
    """

    status = 422  # HTTP status when it reaches the API

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field, self.value = field, value


class UsageError(RepriseError):
    """A command-line option or a combination of options that cannot work."""


class SettingsError(RepriseError):
    """A setting (``REPRISE_*`` variable or option) has a value that is not accepted."""


class InputFileError(RepriseError):
    """An input file cannot be read as a whole (missing, not UTF-8, wrong columns…), not one row."""


class InvalidRecord(RepriseError):
    """One record is refused; the message lists every field at fault."""


class NotFound(RepriseError):
    """A record that is not stored (or, to this caller, does not exist)."""

    status = 404


class Conflict(RepriseError):
    """The store holds something the request would break (the last admin key, another author's outcome)."""

    status = 409


class ModelRefused(RepriseError):
    """A stored model that must not be loaded (checksum or library mismatch, unknown id)."""

    status = 409


class NothingToLearn(RepriseError):
    """Training or evaluation cannot run on what the store holds (no outcomes, too few companies)."""


class StoreUnavailable(RepriseError):
    """The store cannot be opened or reached (bad URL, unsupported database, read-only file)."""

    status = 503


class OutputNotWritable(RepriseError):
    """An output path cannot be written (checked before anything is stored)."""


class ClusterUnavailable(RepriseError):
    """The Dask scheduler cannot be reached."""

    status = 503
