"""Streaming a SIRENE stock file in column-projected batches: CSV, zipped CSV or Parquet.

INSEE publishes ``StockUniteLegale`` and ``StockEtablissement`` as CSV (``,``, UTF-8, header
row), as the same CSV in a zip archive, and as Parquet. Columns are found **by name** (older files
lack some: ``REQUIRED`` ones must be there, the others read as empty), only the columns asked for
are decoded, and the file is read a block at a time (pyarrow's streaming CSV reader, Parquet row
groups), so a national file never has to fit in memory. Every column comes out as text ('' when
empty), whatever type a Parquet file gave it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matcher.errors import InputFileError

BLOCK_BYTES = 4 << 20  # CSV bytes parsed per batch: 4 MB parse fastest here; 16 MB doubled the peak
PARQUET_ROWS = 500_000
Progress = Callable[[int], None]  # called with how far the file has been read (bytes or rows)


@dataclass(frozen=True)
class StockFile:
    """A stock file: where it is, its format (``csv``, ``zip``, ``parquet``), its column names,
    and its size in the unit the progress reports (bytes, Parquet rows)."""

    path: Path
    label: str  # how messages name it (the option that gave it)
    fmt: str
    columns: tuple[str, ...]
    member: str | None = None  # the CSV inside a zip
    separator: str = ","
    size: int = 0

    @classmethod
    def open(cls, path: str | Path, *, label: str) -> StockFile:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"{label} {path} does not exist or is not a file", field=label, value=str(path))
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head == b"PAR1" or path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq
            try:
                meta = pq.ParquetFile(path).metadata
            except (pa.ArrowException, OSError) as exc:
                raise InputFileError(f"{label} {path} cannot be read as Parquet ({exc})",
                                     field=label, value=str(path)) from None
            return cls(path, label, "parquet", tuple(meta.schema.names), size=meta.num_rows)
        if head.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(path) as zf:
                members = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
                if len(members) != 1:
                    raise InputFileError(f"{label} {path} is a zip archive with {len(members)} CSV files; expected "
                                         "one (INSEE's StockEtablissement_utf8.zip holds one)",
                                         field=label, value=str(path))
                with zf.open(members[0]) as fh:
                    first = fh.readline(1 << 16)
            header, sep = _header(first, label, path)
            return cls(path, label, "zip", header, member=members[0].filename, separator=sep,
                       size=path.stat().st_size)
        with open(path, "rb") as fh:
            first = fh.readline(1 << 16)
        header, sep = _header(first, label, path)
        return cls(path, label, "csv", header, separator=sep, size=path.stat().st_size)

    def check(self, required: Sequence[str], expected: str) -> None:
        """Refuse a file lacking a required column, naming it and the columns found."""
        missing = [c for c in required if c not in self.columns]
        if missing:
            found = ", ".join(self.columns[:8]) + (", …" if len(self.columns) > 8 else "")
            raise InputFileError(f"{self.label} {self.path} is not a {expected} file: it has no column "
                                 f"{', '.join(missing)} (columns are read by their INSEE names; found {found})",
                                 field=self.label, value=str(self.path))

    def batches(self, wanted: Mapping[str, str], progress: Progress | None = None) -> Iterator[pa.Table]:
        """Tables of the ``wanted`` columns present (renamed ``name -> alias``), absent ones as ''."""
        present = [c for c in wanted if c in self.columns]
        try:
            for table in self._read(present, progress):
                yield _as_text(table, present, wanted)
        except pa.ArrowInvalid as exc:
            raise InputFileError(f"{self.label} {self.path} cannot be read: {exc}",
                                 field=self.label, value=str(self.path)) from None
        finally:
            pa.default_memory_pool().release_unused()  # the batches' memory back to the system

    def _read(self, columns: list[str], progress: Progress | None) -> Iterator[pa.Table]:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq
            done = 0
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=PARQUET_ROWS, columns=columns):
                done += batch.num_rows
                if progress:
                    progress(done)
                yield pa.Table.from_batches([batch])
            return
        from pyarrow import csv
        read = csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=True)
        parse = csv.ParseOptions(delimiter=self.separator)
        convert = csv.ConvertOptions(include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
                                     strings_can_be_null=False, quoted_strings_can_be_null=False)
        if self.fmt == "zip":
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as inner:
                raw = zf.fp
                yield from self._csv(pa.PythonFile(inner, mode="r"), read, parse, convert,
                                     lambda: raw.tell() if raw else 0, progress)
            return
        with pa.OSFile(str(self.path), "r") as stream:
            yield from self._csv(stream, read, parse, convert, stream.tell, progress)

    @staticmethod
    def _csv(stream, read, parse, convert, where: Callable[[], int], progress: Progress | None) -> Iterator[pa.Table]:
        from pyarrow import csv
        reader = csv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            if progress:
                progress(where())
            yield pa.Table.from_batches([batch])


class SirenSet:
    """A set of SIRENs to test whole columns against, batch after batch: kept as sorted integers,
    so a batch is one vectorised binary search (Arrow's ``is_in`` rebuilds its hash table of the
    set on every call, which costs more than reading the batch when the set is large)."""

    def __init__(self, sirens: Iterable[str]) -> None:
        ids = [s for s in sirens if isinstance(s, str) and len(s) == 9 and s.isdigit()]
        self.sorted = np.unique(np.array(ids, dtype=np.int64)) if ids else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sorted)

    def mask(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Whether each cell is one of the SIRENs (a cell that is not 9 digits never is)."""
        if not len(self.sorted):
            return np.zeros(len(column), dtype=bool)
        digits = pc.and_(pc.utf8_is_digit(column), pc.equal(pc.utf8_length(column), 9))
        values = pc.cast(pc.if_else(digits, column, "0"), pa.int64()).to_numpy(zero_copy_only=False)
        at = np.minimum(np.searchsorted(self.sorted, values), len(self.sorted) - 1)
        return (self.sorted[at] == values) & digits.to_numpy(zero_copy_only=False)


def _header(first: bytes, label: str, path: Path) -> tuple[tuple[str, ...], str]:
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputFileError(f"{label} {path} is not UTF-8 (its header line); INSEE publishes the stock files in "
                             "UTF-8 (the files named _utf8)", field=label, value=str(path)) from None
    sep = ";" if line.count(";") > line.count(",") else ","
    names = tuple(c.strip().strip('"') for c in line.split(sep))
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise InputFileError(f"{label} {path} names the column {dupes[0]} twice", field=label, value=str(path))
    return names, sep


# Codes a Parquet file may hold as integers, losing their leading zeros: their width
CODE_WIDTH = {"siren": 9, "nic": 5, "siret": 14, "nicSiegeUniteLegale": 5, "codePostalEtablissement": 5,
              "categorieJuridiqueUniteLegale": 4}


def _as_text(table: pa.Table, present: list[str], wanted: Mapping[str, str]) -> pa.Table:
    """Every wanted column as a non-null string column under its alias (the absent ones ''); a
    code stored as an integer gets its leading zeros back."""
    n = table.num_rows
    cols, names = [], []
    for name, alias in wanted.items():
        if name in present:
            col = table.column(name)
            if pa.types.is_integer(col.type) and name in CODE_WIDTH:
                col = pc.utf8_lpad(pc.cast(col, pa.string()), CODE_WIDTH[name], "0")
            elif not pa.types.is_string(col.type):
                col = pc.cast(col, pa.string())
            cols.append(pc.fill_null(col, ""))
        else:
            cols.append(pc.fill_null(pa.nulls(n, pa.string()), ""))
        names.append(alias)
    return pa.table(cols, names=names)
