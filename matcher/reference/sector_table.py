"""A table of activity texts -> ``id, naf1..nafN, score1..scoreN`` (contract §3), with the
default sector inferer (:mod:`matcher.reference.sectors`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.errors import InputFileError
from matcher.reference.sectors import default_inferer


def infer_table(
    df: pd.DataFrame, *, text_column: str = "text", id_column: str = "id", top: int = 3
) -> pd.DataFrame:
    """``id, naf1..nafN, score1..scoreN`` for a table of activity texts (contract §3).

    Cells are empty (None / NaN) where no code reaches the confidence threshold.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    for role, column in (("text", text_column), ("id", id_column)):
        if column not in df.columns:
            raise InputFileError(
                f"{role} column {column!r} not found; available columns: "
                f"{', '.join(map(str, df.columns))}"
            )
    texts = ["" if pd.isna(t) else str(t) for t in df[text_column]]
    results = default_inferer().infer(texts, top=top)
    out = pd.DataFrame({"id": df[id_column].to_numpy()}, index=df.index)
    for k in range(top):
        out[f"naf{k + 1}"] = pd.Series([r[k][0] if len(r) > k else None for r in results],
                                       index=df.index, dtype=object)
    for k in range(top):
        out[f"score{k + 1}"] = [r[k][1] if len(r) > k else np.nan for r in results]
    return out
