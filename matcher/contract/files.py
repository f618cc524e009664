"""Reading contract files: CSV (``,`` or ``;`` detected), JSON arrays, JSON Lines, Parquet.

Each record keeps its position in the file (``__line__``: the physical line for CSV and JSON
Lines, the element number for a JSON array) so a rejected row can be found again. A record that
cannot be read (a CSV row with more or fewer cells than the header, a JSON Lines line that is not
an object) comes back with an ``__error__`` reason instead of stopping the file. What makes a
whole file unreadable (missing, a folder, not UTF-8, not CSV/JSON, a column given twice) is an
:class:`~matcher.errors.InputFileError` naming the file, the line and what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from pathlib import Path

import pandas as pd

from matcher.contract.outputs import output_file
from matcher.errors import InputFileError

STDIN = "-"
_QUOTED = re.compile(r'"[^"]*"')  # a quoted cell ("" inside one reads as two quoted runs: same count)


def read_records(path: str | Path) -> pd.DataFrame:
    """All records of a file (``-``: standard input) as a frame of raw cells, with ``__line__``."""
    name, data = read_bytes(path)
    fmt = detect_format(name, data[:4096])
    if fmt == "parquet":
        return _read_parquet(name, data)
    text = decode_utf8(name, data)
    if fmt == "json":
        return _read_json(name, text)
    if fmt == "jsonl":
        return _read_jsonl(text)
    return _read_csv(name, text)


def read_bytes(path: str | Path) -> tuple[str, bytes]:
    """(a name to show, the file's bytes); ``-`` reads standard input."""
    if str(path) == STDIN:
        return "standard input", sys.stdin.buffer.read()
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"input file {p} does not exist", field="file", value=str(p))
    if p.is_dir():
        raise InputFileError(f"input file {p} is a folder; give a file", field="file", value=str(p))
    try:
        return str(p), p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"input file {p} cannot be read: {exc.strerror or exc}", field="file",
                             value=str(p)) from None


def detect_format(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix == ".parquet" or head[:4] == b"PAR1":
        return "parquet"
    stripped = head.decode("utf-8-sig", errors="replace").lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first = stripped.splitlines()[0].strip() if stripped else ""
        return "jsonl" if first.endswith("}") else "json"
    return "csv"


def decode_utf8(name: str, data: bytes) -> str:
    """The text of a UTF-8 file (a byte-order mark is dropped); a file in another encoding is
    refused with the line of its first byte that is not UTF-8 and what to do."""
    utf16 = _utf16(data)
    if utf16:
        raise InputFileError(f"{name} is {utf16}: save it as \"CSV UTF-8\" and import again", field="file",
                             value=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        try:
            data.decode("cp1252")
            guess = ("it looks like Windows-1252 (what Excel writes on French Windows): save it as "
                     "\"CSV UTF-8\" and import again")
        except UnicodeDecodeError:
            guess = "save it as UTF-8 and import again"
        raise InputFileError(f"{name} is not UTF-8 (line {line}, byte {data[exc.start]:#04x}); {guess}",
                             field="file", value=name) from None


def _utf16(data: bytes) -> str:
    """The UTF-16 (or UTF-32) encoding a file shows (its byte-order mark, or a NUL byte beside
    every other character, as ASCII text in UTF-16 has) and how, or '' for a file that is not."""
    if data[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        return "UTF-32 (it starts with a UTF-32 byte-order mark)"
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "UTF-16 (it starts with a UTF-16 byte-order mark, as Excel's \"Unicode text\" does)"
    head = data[:1000]
    if len(head) >= 8 and (head[1::2].count(0) > 0.9 * len(head[1::2]) or head[0::2].count(0) > 0.9 * len(head[0::2])):
        return "UTF-16 (every other byte is 0)"
    return ""


def sniff_separator(head: str) -> str:
    """``;`` or ``,``: whichever the header line holds more of (French spreadsheets write ``;``)."""
    first = head.splitlines()[0] if head else ""
    return ";" if first.count(";") > first.count(",") else ","


def _read_parquet(name: str, data: bytes) -> pd.DataFrame:
    try:
        df = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise InputFileError(f"{name} cannot be read as Parquet ({type(exc).__name__}: {exc})") from None
    df.insert(0, "__line__", range(1, len(df) + 1))
    return df


def _read_json(name: str, text: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]  # an API response: {"total_count": …, "results": [...]}
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise InputFileError(f"{name}: expected a JSON array of objects, one per record "
                             "(or an API response {\"results\": [...]})")
    # object columns: values stay as JSON gave them (pandas 3 would make text Arrow strings,
    # which cannot hold a lone surrogate: reported per row instead of failing the file)
    df = pd.DataFrame(data, dtype=object) if data else pd.DataFrame()
    df.insert(0, "__line__", range(1, len(df) + 1))
    return df


def _read_jsonl(text: str) -> pd.DataFrame:
    rows, errors = [], []
    for n, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a JSON Lines record must be an object")
            obj["__line__"] = n
            rows.append(obj)
        except ValueError as exc:
            errors.append({"__line__": n, "__error__": f"line is not a JSON object ({exc})",
                           "__raw__": line.rstrip("\n")})
    df = pd.DataFrame(rows + errors, dtype=object)
    if "__line__" not in df:
        df["__line__"] = []
    return df.sort_values("__line__", kind="stable").reset_index(drop=True)


def _read_csv(name: str, text: str) -> pd.DataFrame:
    if not text.strip():
        raise InputFileError(f"{name} is empty: expected a header row then one row per record")
    sep = sniff_separator(text[:4096])
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=sep))
    header = [c.strip() for c in header]
    seen: dict[str, int] = {}
    for i, col in enumerate(header, start=1):
        if col in seen:
            raise InputFileError(f"{name}: column {col!r} appears twice in the header (columns {seen[col]} and "
                                 f"{i}); keep one", field=col, value=col)
        seen[col] = i
    if "\x00" in text:  # pandas 2's C parser cuts a cell at a NUL: read as written, the NUL is then reported
        return _read_csv_row_by_row(text, sep, header)
    try:  # the fast path: pandas' C parser, when every row has as many cells as the header
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, on_bad_lines="error")
    except pd.errors.ParserError:
        return _read_csv_row_by_row(text, sep, header)
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{name} is empty: expected a header row then one row per record") from None
    df.columns = header
    if _separators(text, sep) != (len(header) - 1) * (len(df) + 1):
        return _read_csv_row_by_row(text, sep, header)  # a row with too few cells, which pandas pads
    df.insert(0, "__line__", _csv_line_numbers(text, sep, len(df)))
    return df


def _separators(text: str, sep: str) -> int:
    """Separators outside quoted cells: (columns - 1) per row when every row is whole."""
    return (_QUOTED.sub("", text) if '"' in text else text).count(sep)


def _read_csv_row_by_row(text: str, sep: str, header: list[str]) -> pd.DataFrame:
    """The slow path for a file with ragged rows: every well-formed row kept, every other one
    reported with its line (an unquoted separator inside a value shifts only that row)."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    next(reader, None)
    good, lines, bad = [], [], []
    previous = reader.line_num
    for row in reader:
        start, previous = previous + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) == len(header):
            good.append(row)
            lines.append(start)
        else:
            hint = (f"a value holding a '{sep}' must be quoted" if len(row) > len(header)
                    else "every row needs one cell per column (an empty cell, not a missing one)")
            bad.append({"__line__": start, "__raw__": sep.join(row),
                        "__error__": f"line {start} has {len(row)} cells where the header has {len(header)}: "
                                     + hint})
    df = pd.DataFrame(good, columns=header, dtype=object)
    df.insert(0, "__line__", lines)
    if bad:
        df = pd.concat([df, pd.DataFrame(bad)], ignore_index=True)
        df = df.sort_values("__line__", kind="stable").reset_index(drop=True)
    return df


def _csv_line_numbers(text: str, sep: str, n: int) -> list[int]:
    """Physical line where each record starts (quoted cells may span lines)."""
    if '"' not in text:  # fast path: one record per line, blank lines skipped by pandas
        out, line = [], 1
        for raw in text.split("\n")[1:]:
            line += 1
            if raw.strip("\r").strip():
                out.append(line)
        return out[:n] if len(out) >= n else out + list(range(line + 1, line + 1 + n - len(out)))
    out = []
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    next(reader, None)
    previous = reader.line_num
    for row in reader:
        start, previous = previous + 1, reader.line_num
        if row and not (len(row) == 1 and not row[0].strip()):
            out.append(start)
    return (out + [0] * n)[:n]


def write_rejects(path: str | Path, rejects: pd.DataFrame) -> None:
    """Rejected rows: ``line``, ``reason``, then the original columns (``-``: standard output)."""
    with output_file(path, option="--rejects") as fh:
        rejects.to_csv(fh, index=False)
