"""Postings of the candidate index: key (NAF prefix, pole, partner SIREN) -> sorted positions."""

from __future__ import annotations

import numpy as np
import pandas as pd


def postings(lists, keys_of=None) -> dict[str, np.ndarray]:
    """key -> sorted int32 candidate positions, from each candidate's list of values.

    ``keys_of`` maps a value to the keys it is posted under (e.g. a NAF code's ancestors).
    """
    s = pd.Series(list(lists), dtype=object)
    s = s[s.map(lambda v: isinstance(v, (list, tuple)) and len(v) > 0)]
    if s.empty:
        return {}
    flat = s.explode()
    flat = flat[flat.notna()].astype(str)
    pos = flat.index.to_numpy(dtype=np.int64)
    vals = flat.to_numpy(dtype=object)
    if keys_of is not None:
        uniq = pd.unique(vals)
        expanded = {u: keys_of(u) for u in uniq}
        counts = np.array([len(expanded[v]) for v in vals])
        pos = np.repeat(pos, counts)
        vals = np.array([k for v in vals for k in expanded[v]], dtype=object)
    order = np.lexsort((pos, vals.astype(str)))
    vals, pos = vals[order], pos[order]
    keys, starts = np.unique(vals.astype(str), return_index=True)
    bounds = np.append(starts, len(vals))
    return {k: np.unique(pos[bounds[i]:bounds[i + 1]]).astype(np.int32) for i, k in enumerate(keys)}


def naf_ancestors(code: str) -> list[str]:
    """``43.32A`` -> [``43``, ``43.3``, ``43.32``, ``43.32A``]; a prefix gives itself."""
    if not code:
        return []
    out = [code[:2]]
    for n in (4, 5, 6):
        if len(code) >= n:
            out.append(code[:n])
    return out
