"""The communes table: INSEE code or postal code -> coordinates and département."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from matcher.errors import InputFileError


@dataclass(frozen=True)
class Communes:
    """The communes file (columns of INSEE's official file: ``insee_com``, ``code_postal``,
    ``lat``, ``lng``, ``insee_dep``, ``population_2021``), indexed for look-ups."""

    by_insee: pd.DataFrame  # index insee code -> lat, lon, departement
    by_postal: pd.DataFrame  # index postal code -> lat, lon, departement (most populous commune)

    @classmethod
    def from_file(cls, path: str | Path) -> Communes:
        path = Path(path)
        if not path.exists():
            raise InputFileError(f"communes file {path} does not exist")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        needed = {"insee_com", "code_postal", "lat", "lng", "insee_dep"}
        missing = needed - set(df.columns)
        if missing:
            raise InputFileError(
                f"communes file {path} lacks the columns {sorted(missing)}; "
                f"expected the columns of INSEE's communes file ({', '.join(sorted(needed))})"
            )
        df = df[(df["lat"] != "") & (df["lng"] != "")].copy()
        df["lat"] = df["lat"].astype(float)
        df["lon"] = df["lng"].astype(float)
        pop = df["population_2021"] if "population_2021" in df.columns else pd.Series("0", index=df.index)
        df["pop"] = pd.to_numeric(pop, errors="coerce").fillna(0)
        df = df.rename(columns={"insee_dep": "departement"})
        cols = ["lat", "lon", "departement"]
        by_insee = df.drop_duplicates("insee_com").set_index("insee_com")[cols]
        by_postal = (
            df.sort_values("pop", ascending=False).drop_duplicates("code_postal").set_index("code_postal")[cols]
        )
        return cls(by_insee=by_insee, by_postal=by_postal)
