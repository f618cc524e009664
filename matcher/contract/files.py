"""Reading contract files: CSV (``,`` or ``;`` detected), JSON arrays, JSON Lines.

Each record keeps its position in the file (``line``: the physical line for CSV and JSON Lines,
the element number for a JSON array) so a rejected row can be found again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from matcher.errors import InputFileError


def detect_format(path: Path, head: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix == ".parquet":
        return "parquet"
    stripped = head.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first = stripped.splitlines()[0].strip() if stripped else ""
        return "jsonl" if first.endswith("}") else "json"
    return "csv"


def read_records(path: str | Path) -> pd.DataFrame:
    """All records of a file as a frame of raw cells, with a ``__line__`` column.

    JSON Lines records that are not valid JSON come back with a ``__error__`` message.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"input file {path} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace")
    fmt = detect_format(path, head)
    if fmt == "csv":
        return _read_csv(path, head)
    if fmt == "parquet":
        df = pd.read_parquet(path)
        df.insert(0, "__line__", range(1, len(df) + 1))
        return df
    text = path.read_text(encoding="utf-8-sig")
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            data = data["results"]
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise InputFileError(f"{path}: expected a JSON array of objects, one per record")
        df = pd.DataFrame.from_records(data)
        df.insert(0, "__line__", range(1, len(df) + 1))
        return df
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
    df = pd.DataFrame.from_records(rows + errors)
    if "__line__" not in df:
        df["__line__"] = []
    return df.sort_values("__line__", kind="stable").reset_index(drop=True)


def sniff_separator(head: str) -> str:
    """``;`` or ``,``: whichever the header line holds more of (French spreadsheets write ``;``)."""
    first = head.splitlines()[0] if head else ""
    return ";" if first.count(";") > first.count(",") else ","


def _read_csv(path: Path, head: str) -> pd.DataFrame:
    sep = sniff_separator(head)
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         skipinitialspace=False, on_bad_lines="error")
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(f"{path} is empty: expected a header row then one row per record") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path} cannot be read as CSV with separator {sep!r}: {exc}") from exc
    df.columns = [c.strip() for c in df.columns]
    lines = _csv_line_numbers(path, sep, len(df))
    df.insert(0, "__line__", lines)
    return df


def _csv_line_numbers(path: Path, sep: str, n: int) -> list[int]:
    """Physical line where each record starts (quoted cells may span lines)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data.count(b'"') == 0:  # fast path: one record per line, blank lines skipped by pandas
        out, line = [], 1
        for raw in data.split(b"\n")[1:]:
            line += 1
            if raw.strip(b"\r"):
                out.append(line)
        return out[:n] if len(out) >= n else out + list(range(line + 1, line + 1 + n - len(out)))
    out = []
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=sep)
    next(reader, None)
    for row in reader:
        if row:
            out.append(reader.line_num - _rows_span(row) + 1)
    return (out + [0] * n)[:n]


def _rows_span(row: list[str]) -> int:
    return 1 + sum(cell.count("\n") for cell in row)


def write_rejects(path: str | Path, rejects: pd.DataFrame) -> None:
    """Rejected rows: ``line``, ``reason``, then the original columns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rejects.to_csv(path, index=False)
