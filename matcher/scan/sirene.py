"""SIRENE stock extracts -> what the scan needs about a company (docs/contract.md §4 enrichment).

Reads INSEE's ``StockUniteLegale`` and ``StockEtablissement`` files (CSV with a header row, or
Parquet) **by column name, never by position** (older files lack some columns), reading only the
columns used and, when SIRENs are given, keeping only their rows (CSV in chunks, Parquet with a
pushed-down filter), so a national stock never has to fit in memory.

Legal units give the NAF rév. 2 code (``activitePrincipaleUniteLegale``, kept only when the
nomenclature column, where present, says ``NAFRev2``), the headcount band, the legal form and the
ESS flag. The head office (``etablissementSiege``; an active one preferred) gives the commune, the
postal code and coordinates, converted to WGS84 by :mod:`matcher.reference.projection`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from matcher.contract.files import sniff_separator
from matcher.contract.specs import HEADCOUNT_BANDS
from matcher.errors import InputFileError
from matcher.reference import naf
from matcher.reference.projection import to_wgs84

UNIT_COLUMNS = {
    "siren": "siren",
    "activitePrincipaleUniteLegale": "naf",
    "nomenclatureActivitePrincipaleUniteLegale": "naf_nomenclature",
    "trancheEffectifsUniteLegale": "headcount_band",
    "categorieJuridiqueUniteLegale": "legal_form",
    "economieSocialeSolidaireUniteLegale": "ess",
}
ESTABLISHMENT_COLUMNS = {
    "siren": "siren",
    "etablissementSiege": "head_office",
    "etatAdministratifEtablissement": "state",
    "codePostalEtablissement": "postal_code",
    "codeCommuneEtablissement": "commune",
    "coordonneeLambertAbscisseEtablissement": "x",
    "coordonneeLambertOrdonneeEtablissement": "y",
}
REQUIRED = {"units": ("siren",), "establishments": ("siren", "etablissementSiege")}
CHUNK_ROWS = 500_000


def _columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq
        return list(pq.read_schema(path).names)
    return [c.strip() for c in pd.read_csv(path, sep=_sep(path), nrows=0, encoding="utf-8-sig").columns]


def _sep(path: Path) -> str:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        return sniff_separator(fh.readline())


def read_stock(path: str | Path, kind: str, *, sirens: Iterable[str] | None = None) -> pd.DataFrame:
    """The used columns of a SIRENE stock file (``kind`` = ``units`` or ``establishments``), renamed.

    Raises ValueError naming the missing column when the file is not such a stock file.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"SIRENE {kind} file {path} does not exist")
    wanted = UNIT_COLUMNS if kind == "units" else ESTABLISHMENT_COLUMNS
    present = _columns(path)
    missing = [c for c in REQUIRED[kind] if c not in present]
    if missing:
        raise InputFileError(f"SIRENE {kind} file {path} has no column {missing[0]!r}; expected the stock file's "
                         f"official column names ({', '.join(wanted)}), found {', '.join(present[:8])}…")
    cols = [c for c in wanted if c in present]
    keep = None if sirens is None else set(sirens)
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
        filters = [("siren", "in", sorted(keep))] if keep is not None else None
        table = pq.read_table(path, columns=cols, filters=filters)
        # every column as text, '' where missing, as the CSV path reads it (whatever pandas makes of nulls)
        df = pa.table({name: pc.fill_null(pc.cast(col, pa.string()), "")
                       for name, col in zip(table.column_names, table.columns)}).to_pandas()
    else:
        parts = []
        for part in pd.read_csv(path, sep=_sep(path), usecols=cols, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig", chunksize=CHUNK_ROWS):
            parts.append(part if keep is None else part[part["siren"].isin(keep)])
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    df = df.rename(columns=wanted)
    for col in wanted.values():
        if col not in df:
            df[col] = ""
    return df.reset_index(drop=True)


def units_profile(units: pd.DataFrame) -> pd.DataFrame:
    """Per SIREN: ``naf``, ``headcount_band``, ``legal_form``, ``ess`` (None where unknown)."""
    df = units.drop_duplicates("siren", keep="last").set_index("siren")
    codes = df["naf"].map(naf.normalize)
    rev2 = df["naf_nomenclature"].isin(["", "NAFRev2"])
    ok = codes.map(naf.is_subclass).to_numpy(dtype=bool) & rev2.to_numpy(dtype=bool)
    out = pd.DataFrame(index=df.index)
    out["naf"] = codes.where(ok, None)
    out["headcount_band"] = df["headcount_band"].where(df["headcount_band"].isin(list(HEADCOUNT_BANDS)), None)
    out["legal_form"] = df["legal_form"].where(df["legal_form"].str.fullmatch(r"\d{4}"), None)
    out["ess"] = df["ess"].str.upper().map({"O": True, "N": False})
    return out.astype(object).where(out.notna(), None)


def head_offices(establishments: pd.DataFrame) -> pd.DataFrame:
    """Per SIREN, its head office: ``commune``, ``postal_code``, ``lat``, ``lon`` (WGS84)."""
    df = establishments[establishments["head_office"].str.lower().isin(["true", "1", "o", "oui"])].copy()
    df["active"] = df["state"].eq("A")
    df = df.sort_values(["siren", "active"], kind="stable").drop_duplicates("siren", keep="last")
    df["lat"], df["lon"] = to_wgs84(df["x"].to_numpy(), df["y"].to_numpy(), df["commune"])
    out = df.set_index("siren")[["commune", "postal_code", "lat", "lon"]]
    # None where unknown, as units_profile (pandas 3's str dtype would turn it into NaN)
    out["commune"] = out["commune"].astype(object).where(out["commune"].str.fullmatch(r"\d[\dAB]\d{3}"), None)
    out["postal_code"] = out["postal_code"].astype(object).where(out["postal_code"].str.fullmatch(r"\d{5}"), None)
    return out


def enrichment(units_path: str | Path | None, establishments_path: str | Path | None,
               sirens: Iterable[str]) -> pd.DataFrame:
    """What SIRENE says about ``sirens``: one row per SIREN found, the columns of both profiles."""
    sirens = sorted(set(sirens))
    cols = ["naf", "headcount_band", "legal_form", "ess", "commune", "postal_code", "lat", "lon"]
    out = pd.DataFrame(index=pd.Index([], name="siren"), columns=cols, dtype=object)
    if units_path:
        out = out.combine_first(units_profile(read_stock(units_path, "units", sirens=sirens)))
    if establishments_path:
        out = out.combine_first(head_offices(read_stock(establishments_path, "establishments", sirens=sirens)))
    out = out.reindex(columns=cols)
    return out
