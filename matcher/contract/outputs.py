"""Output files: checked before any work is stored, then written whole or not at all.

A path that cannot be written (a folder, a missing folder, no permission) is refused before the
command stores anything (:func:`check_writable`, :func:`check_folder`). A write that fails later
(a full disk) is an :class:`~matcher.errors.OutputNotWritable` naming the option, the path and the
system's reason, never an internal error: :func:`output_file` writes a regular file through a
temporary file in the same folder, renamed over the target only once complete, so a failed write
leaves the previous file (or none), never a truncated one. ``-`` is standard output; a device or a
pipe is written directly.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from matcher.errors import OutputNotWritable

STDOUT = "-"


def refused(option: str, path: str | Path, exc: OSError) -> OutputNotWritable:
    """The error for an output that the system refused (``exc``), naming the option and the path."""
    where = "standard output" if str(path) == STDOUT else f"{option} {path}"
    return OutputNotWritable(f"{where} cannot be written: {exc.strerror or exc}", field=option, value=str(path))


def check_writable(path: str | Path, *, option: str) -> Path:
    """An output path that can be written (its folder exists and accepts files), or
    :class:`~matcher.errors.OutputNotWritable` naming the option; checked before work is stored."""
    p = Path(path)
    if p.is_dir():
        raise OutputNotWritable(f"{option} {p} is a folder; give a file path", field=option, value=str(p))
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.exists():
        raise OutputNotWritable(f"{option} {p}: the folder {folder} does not exist", field=option, value=str(p))
    existed = p.exists()
    try:
        with open(p, "a", encoding="utf-8"):
            pass
        if not existed:
            p.unlink()
    except OSError as exc:
        raise refused(option, p, exc) from None
    return p


def check_folder(path: str | Path, *, option: str) -> Path:
    """An output folder that exists (or can be made) and accepts files."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputNotWritable(f"{option} {p} is a file, not a folder", field=option, value=str(p))
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".reprise-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise refused(option, p, exc) from None
    return p


@contextmanager
def output_file(path: str | Path, *, option: str) -> Iterator[TextIO]:
    """A text handle (UTF-8, lines as written) whose content becomes ``path`` when the block ends.

    A regular file (or a new one) is written to a temporary file beside it, then renamed over it
    (in place when its folder takes no new file but the file may be written); ``-`` is standard
    output; anything else that exists (a device, a pipe) is opened directly. An
    ``OSError`` while opening, writing, flushing or renaming becomes :class:`OutputNotWritable`.
    """
    if str(path) == STDOUT:
        try:
            yield sys.stdout
            sys.stdout.flush()
        except OSError as exc:
            raise refused(option, path, exc) from None
        return
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    direct = target.exists() and not target.is_file()
    temp = target if direct else target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        handle = open(temp, "w" if direct else "x", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except PermissionError as exc:  # a folder that takes no new file, holding a file one may write: in place
        if direct or not (target.is_file() and os.access(target, os.W_OK)):
            raise refused(option, path, exc) from None
        direct, temp = True, target
        try:
            handle = open(temp, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        except OSError as again:
            raise refused(option, path, again) from None
    except OSError as exc:
        raise refused(option, path, exc) from None
    try:
        with handle:
            yield handle
        if not direct:
            if target.exists():  # the file keeps its permissions
                os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
            os.replace(temp, target)
    except OSError as exc:
        _discard(temp, direct)
        raise refused(option, path, exc) from None
    except BaseException:
        _discard(temp, direct)
        raise


def _discard(temp: Path, direct: bool) -> None:
    if not direct:
        temp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, *, option: str) -> None:
    with output_file(path, option=option) as fh:
        fh.write(text)
