"""The communes table: INSEE code or postal code -> coordinates, département, name, population.

Reprise ships a compact copy of INSEE's communes list (``reprise_data/communes.csv.gz``, see
``data/README.md``) and uses it by default; ``REPRISE_COMMUNES`` names a newer file with the
same columns instead.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from matcher.errors import InputFileError

SHIPPED = "communes.csv.gz"
NEEDED = ("insee_com", "code_postal", "lat", "lng", "insee_dep")


@dataclass(frozen=True)
class Communes:
    """The communes file (columns of INSEE's list: ``insee_com``, ``code_postal``, ``lat``,
    ``lng``, ``insee_dep``, and when present ``commune``, ``population_2021``), indexed."""

    by_insee: pd.DataFrame  # index INSEE code -> lat, lon, departement, name, population
    by_postal: pd.DataFrame  # index postal code -> the same, of its most populous commune
    source: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> Communes:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"communes file {path} does not exist or is not a file")
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError) as exc:
            raise InputFileError(f"communes file {path} cannot be read as a UTF-8 CSV ({exc})") from None
        return cls.from_frame(df, source=str(path))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, source: str = "") -> Communes:
        missing = [c for c in NEEDED if c not in df.columns]
        if missing:
            raise InputFileError(f"communes file {source} lacks the columns {', '.join(missing)}; expected the "
                                 f"columns of INSEE's communes list ({', '.join(NEEDED)}), found "
                                 f"{', '.join(map(str, df.columns[:10]))}")
        df = df[(df["lat"] != "") & (df["lng"] != "")].copy()
        df["lat"] = pd.to_numeric(df["lat"], errors="coerce")
        df["lon"] = pd.to_numeric(df["lng"], errors="coerce")
        df = df[df["lat"].notna() & df["lon"].notna()]
        pop = df["population_2021"] if "population_2021" in df.columns else pd.Series("0", index=df.index)
        df["population"] = pd.to_numeric(pop, errors="coerce").fillna(0)
        df["name"] = df["commune"] if "commune" in df.columns else df["insee_com"]
        df = df.rename(columns={"insee_dep": "departement"})
        cols = ["lat", "lon", "departement", "name", "population"]
        by_insee = df.drop_duplicates("insee_com").set_index("insee_com")[cols]
        by_postal = (df.sort_values("population", ascending=False, kind="stable")
                     .drop_duplicates("code_postal").set_index("code_postal")[cols])
        return cls(by_insee=by_insee, by_postal=by_postal, source=source)

    def departement(self, code: str) -> pd.DataFrame:
        """The communes of one département (INSEE code as index)."""
        return self.by_insee[self.by_insee["departement"] == code]


@lru_cache(maxsize=1)
def shipped() -> Communes:
    """The communes table shipped with Reprise (INSEE, Licence Ouverte; see data/README.md)."""
    resource = importlib.resources.files("reprise_data") / SHIPPED
    with resource.open("rb") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False, compression="gzip", encoding="utf-8")
    return Communes.from_frame(df, source=f"reprise_data/{SHIPPED}")


def load(path: str | Path | None) -> Communes:
    """The communes file at ``path``, else the shipped table."""
    return shipped() if path is None else Communes.from_file(path)
