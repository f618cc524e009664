"""Merging indexes of disjoint candidate sets into one, in the canonical order, without their rows.

A national index is built in parts (each a million rows read and indexed, then dropped) and the
parts' arrays merged: sorting by (spatial key, id) and gathering each column, remapping each
posting through the new positions. The result equals an index built from all rows at once
(every column depends on its own row only).
"""

from __future__ import annotations

import numpy as np

from matcher.ranking.columns import StringColumn
from matcher.ranking.index import COOP, IN_DIFFICULTY, CandidateIndex

_NUMERIC = ("kind", "lat", "lon", "radius_km", "naf_idx", "headcount", "capacity", "budget", "flags", "keys")
_FAMILIES = ("sought", "experience", "poles", "partners", "hidden_poles")


def merge(parts: list[CandidateIndex]) -> CandidateIndex:
    """One index holding the candidates of ``parts`` (their ids must not overlap)."""
    sizes = [len(p) for p in parts]
    starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    keys = np.concatenate([p.keys for p in parts])
    ids = StringColumn.concat([p.ids for p in parts])
    by_id = np.argsort(np.asarray(ids.tolist(), dtype=np.dtypes.StringDType()), kind="stable")
    order = by_id[np.argsort(keys[by_id], kind="stable")]
    new_pos = np.empty(len(order), dtype=np.int64)
    new_pos[order] = np.arange(len(order))
    fields = {name: np.concatenate([getattr(p, name) for p in parts])[order] for name in _NUMERIC}
    fields["ids"] = ids.take(order)
    fields["names"] = StringColumn.concat([p.names for p in parts]).take(order)
    for fam in _FAMILIES:
        gathered: dict[str, list[np.ndarray]] = {}
        for p, start in zip(parts, starts):
            for key, post in getattr(p, fam).items():
                gathered.setdefault(key, []).append(new_pos[np.asarray(post, dtype=np.int64) + start])
        fields[fam] = {k: np.sort(np.concatenate(v)).astype(np.int32) for k, v in gathered.items()}
    index = CandidateIndex(**fields)
    n = len(order)
    index.division_of = index.divisions
    index.by_division = np.sort((index.division_of.astype(np.int64) << 32) | np.arange(n, dtype=np.int64))
    flags = index.flags
    index.coops = np.flatnonzero(((flags & COOP) > 0) & ((flags & IN_DIFFICULTY) == 0)).astype(np.int32)
    return index
