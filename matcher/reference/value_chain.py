"""Value-chain neighbours between NAF divisions (``reprise_data/value_chain.csv``)."""

from __future__ import annotations

import csv
import importlib.resources
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1)
def value_chain_matrix() -> np.ndarray:
    """100×100 boolean matrix: divisions that are value-chain neighbours (symmetric)."""
    m = np.zeros((100, 100), dtype=bool)
    path = importlib.resources.files("reprise_data") / "value_chain.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            a, b = int(row["division_a"]), int(row["division_b"])
            m[a, b] = m[b, a] = True
    return m
