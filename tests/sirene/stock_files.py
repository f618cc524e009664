"""Small SIRENE stock files with INSEE's real columns (tests/scan/test_sirene.py has the headers),
written as CSV, zipped CSV or Parquet."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
from pyproj import Transformer

from tests.scan.test_sirene import ESTAB_HEADER, UNIT_HEADER

_TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)


def siren(base: int) -> str:
    """A Luhn-valid SIREN from an 8-digit number."""
    digits = f"{base:08d}"
    for check in range(10):
        s = digits + str(check)
        total = sum(int(c) if i % 2 == 0 else sum(divmod(2 * int(c), 10)) for i, c in enumerate(s))
        if total % 10 == 0:
            return s
    raise AssertionError


def lambert(lat: float, lon: float) -> tuple[str, str]:
    x, y = _TO_L93.transform(lon, lat)
    return f"{x:.1f}", f"{y:.1f}"


def unit(sid: str, name: str = "", *, state: str = "A", legal: str = "5710", naf: str = "43.32A",
         nomenclature: str = "NAFRev2", band: str = "03", ess: str = "N", diffusion: str = "O", **more) -> dict:
    return {"siren": sid, "denominationUniteLegale": name, "etatAdministratifUniteLegale": state,
            "categorieJuridiqueUniteLegale": legal, "activitePrincipaleUniteLegale": naf,
            "nomenclatureActivitePrincipaleUniteLegale": nomenclature, "trancheEffectifsUniteLegale": band,
            "economieSocialeSolidaireUniteLegale": ess, "statutDiffusionUniteLegale": diffusion, **more}


def estab(sid: str, nic: str, commune: str, *, head: bool = True, state: str = "A", postal: str = "",
          xy: tuple[str, str] | None = None, diffusion: str = "O") -> dict:
    x, y = xy or ("", "")
    return {"siren": sid, "nic": nic, "siret": sid + nic, "etablissementSiege": "true" if head else "false",
            "etatAdministratifEtablissement": state, "codeCommuneEtablissement": commune,
            "codePostalEtablissement": postal, "coordonneeLambertAbscisseEtablissement": x,
            "coordonneeLambertOrdonneeEtablissement": y, "statutDiffusionEtablissement": diffusion}


def write_stock(folder: Path, name: str, header: list[str], rows: list[dict], fmt: str = "csv") -> Path:
    """``fmt``: csv, zip (the CSV in a zip archive, as INSEE publishes it) or parquet."""
    df = pd.DataFrame([{c: r.get(c, "") for c in header} for r in rows], columns=header, dtype=str)
    if fmt == "parquet":
        path = folder / f"{name}.parquet"
        df.to_parquet(path, index=False)
        return path
    csv_path = folder / f"{name}_utf8.csv"
    df.to_csv(csv_path, index=False)
    if fmt == "csv":
        return csv_path
    path = folder / f"{name}_utf8.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv_path, arcname=csv_path.name)
    csv_path.unlink()
    return path


def stocks(folder: Path, units: list[dict], estabs: list[dict], fmt: str = "csv") -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return (write_stock(folder, "StockUniteLegale", UNIT_HEADER, units, fmt),
            write_stock(folder, "StockEtablissement", ESTAB_HEADER, estabs, fmt))
