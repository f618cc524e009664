"""Columns of the candidate index that are not plain numbers: strings and the id lookup.

Strings (ids, names) are one UTF-8 buffer and the offsets of each value: two flat arrays, so an
index written to disk is memory-mapped as it is and shared by every process that opens it (numpy's
variable-width strings cannot be mapped). Finding a candidate by id goes through a 64-bit hash of
each id, sorted, with the position of each: a binary search, then the id itself compared, instead
of a dictionary of millions of Python strings in every process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from matcher.ranking.spatial import expand


class StringColumn:
    """Strings as one UTF-8 buffer (uint8) and ``len + 1`` offsets (int64) into it."""

    __slots__ = ("data", "offsets")

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data, self.offsets = data, offsets

    @classmethod
    def from_values(cls, values: Iterable[str]) -> StringColumn:
        encoded = [str(v).encode("utf-8") for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        if encoded:
            np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _one(self, i: int) -> str:
        return bytes(self.data[self.offsets[i]:self.offsets[i + 1]]).decode("utf-8")

    def __getitem__(self, pos):
        if isinstance(pos, (int, np.integer)):
            return self._one(int(pos) if pos >= 0 else len(self) + int(pos))
        pos = np.asarray(pos)
        if pos.dtype == bool:
            pos = np.flatnonzero(pos)
        out = np.empty(len(pos), dtype=object)
        starts, ends = self.offsets[pos], self.offsets[pos + 1]
        raw = self.data[expand(starts, ends)].tobytes()
        at = np.concatenate([[0], np.cumsum(ends - starts)]).tolist()
        for k in range(len(pos)):
            out[k] = raw[at[k]:at[k + 1]].decode("utf-8")
        return out

    def take(self, pos: np.ndarray) -> StringColumn:
        """The strings at ``pos``, as a new column (vectorised, in chunks to bound memory)."""
        pos = np.asarray(pos, dtype=np.int64)
        starts, ends = self.offsets[pos], self.offsets[pos + 1]
        offsets = np.zeros(len(pos) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        data = np.empty(int(offsets[-1]), dtype=np.uint8)
        step = 1 << 20
        for lo in range(0, len(pos), step):
            hi = min(len(pos), lo + step)
            data[offsets[lo]:offsets[hi]] = self.data[expand(starts[lo:hi], ends[lo:hi])]
        return StringColumn(data, offsets)

    def tolist(self) -> list[str]:
        return self[np.arange(len(self))].tolist()

    def __iter__(self):
        return iter(self.tolist())

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes + self.offsets.nbytes)

    @staticmethod
    def concat(parts: Sequence[StringColumn]) -> StringColumn:
        data = np.concatenate([p.data for p in parts]) if parts else np.zeros(0, np.uint8)
        shifts = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, shifts)]).astype(np.int64)
        return StringColumn(data, offsets)


def id_hashes(ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """64-bit hashes of ids (pandas' SipHash with its fixed key: the same in every process)."""
    return pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False)


# a check value written with every snapshot: a library whose hashes differ is detected at open
HASH_CHECK = int(id_hashes(["reprise-candidate-id"])[0])


class IdLookup:
    """Candidate id -> position, by binary search over sorted id hashes (12 bytes a candidate)."""

    __slots__ = ("hashes", "positions")

    def __init__(self, hashes: np.ndarray, positions: np.ndarray) -> None:
        self.hashes, self.positions = hashes, positions

    @classmethod
    def build(cls, ids: StringColumn) -> IdLookup:
        h = id_hashes(ids.tolist()) if len(ids) else np.zeros(0, np.uint64)
        order = np.argsort(h, kind="stable")
        return cls(h[order], order.astype(np.int32))

    def find(self, ids: StringColumn, candidate_id: str) -> int | None:
        """Position of ``candidate_id`` in ``ids``, or None."""
        h = id_hashes([candidate_id])[0]
        i = int(np.searchsorted(self.hashes, h))
        while i < len(self.hashes) and self.hashes[i] == h:  # a collision: compare the ids themselves
            p = int(self.positions[i])
            if ids[p] == candidate_id:
                return p
            i += 1
        return None

    def find_many(self, ids: StringColumn, wanted: Sequence[str]) -> np.ndarray:
        """Positions of ``wanted`` ids in ``ids`` (-1 where absent)."""
        out = np.full(len(wanted), -1, dtype=np.int64)
        if not len(wanted) or not len(self.hashes):
            return out
        h = id_hashes(list(wanted))
        at = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
        hit = np.flatnonzero(self.hashes[at] == h)
        if len(hit):
            pos = self.positions[at[hit]].astype(np.int64)
            same = ids[pos] == np.asarray(wanted, dtype=object)[hit]
            out[hit[same]] = pos[same]
            for k in hit[~same]:  # a collision: the slow, exact way
                found = self.find(ids, wanted[k])
                out[k] = -1 if found is None else found
        return out
