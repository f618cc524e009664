"""``StockUniteLegale`` -> what a candidate is: name, kind, NAF, headcount, legal form, ESS.

Only the rows of the SIRENs asked for are kept as the file streams (an Arrow ``is_in`` per
batch). The fields follow docs/contract.md §1.7:

- name: ``denominationUniteLegale``; for a person, the first name (usual, else the first) and
  the name (usage name, else birth name). A unit that is not diffused (``statutDiffusionUniteLegale``
  ``P``, its fields published as ``[ND]``) gets a neutral label, never ``[ND]``;
- kind: ``cooperative`` for a SCOP (legal forms 5458, 5558, 5658) or a SCOP/SCIC named in the
  denomination (SIRENE has no SCIC legal form), else ``company``;
- NAF: ``activitePrincipaleUniteLegale`` only when ``nomenclatureActivitePrincipaleUniteLegale``
  says ``NAFRev2`` (a NAF rév. 1 or older code is not read as rév. 2) and it is a rév. 2 sub-class;
- headcount: the middle of the ``trancheEffectifsUniteLegale`` band, rounded down (``NN``, not an
  employer: 0; no band: unknown);
- legal form ``categorieJuridiqueUniteLegale``; ``ess`` from
  ``economieSocialeSolidaireUniteLegale`` (O/N).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from matcher.contract.specs import HEADCOUNT_BANDS, is_cooperative
from matcher.reference import naf
from matcher.sirene.stock import Progress, SirenSet, StockFile

COLUMNS = {
    "siren": "siren",
    "statutDiffusionUniteLegale": "diffusion",
    "etatAdministratifUniteLegale": "state",
    "denominationUniteLegale": "denomination",
    "prenomUsuelUniteLegale": "usual_first_name",
    "prenom1UniteLegale": "first_name",
    "nomUsageUniteLegale": "usage_name",
    "nomUniteLegale": "surname",
    "categorieJuridiqueUniteLegale": "legal_form",
    "activitePrincipaleUniteLegale": "naf",
    "nomenclatureActivitePrincipaleUniteLegale": "naf_nomenclature",
    "trancheEffectifsUniteLegale": "band",
    "economieSocialeSolidaireUniteLegale": "ess",
}
REQUIRED = ("siren", "etatAdministratifUniteLegale")
NOT_DIFFUSED = "[ND]"
PERSON_LABEL = "Entrepreneur individuel (non diffusible)"
UNIT_LABEL = "Unité légale (non diffusible)"
HEADCOUNT = {band: (lo + hi) // 2 for band, (lo, hi) in HEADCOUNT_BANDS.items()}


def read(stock: StockFile, sirens: Iterable[str], progress: Progress | None = None) -> tuple[pd.DataFrame, int]:
    """The rows of ``sirens`` (the last one when a SIREN is repeated), with ``line`` (the CSV line,
    header = 1; the row number in a Parquet file); and the number of rows read."""
    stock.check(REQUIRED, "StockUniteLegale")
    wanted = SirenSet(sirens)
    header = 0 if stock.fmt == "parquet" else 1
    read_rows, parts = 0, []
    for t in stock.batches(COLUMNS, progress):
        mask = wanted.mask(t["siren"])
        at = np.flatnonzero(mask)
        if len(at):
            part = t.filter(pa.array(mask))
            parts.append(part.append_column("line", pa.array(at + read_rows + 1 + header, type=pa.int64())))
        read_rows += t.num_rows
    units = (pa.concat_tables(parts).to_pandas() if parts  # one conversion of the kept rows
             else pd.DataFrame(columns=[*COLUMNS.values(), "line"]))
    del parts
    if "nomenclatureActivitePrincipaleUniteLegale" not in stock.columns:
        units["naf_nomenclature"] = "NAFRev2" if "activitePrincipaleUniteLegale" in stock.columns else ""
    return units.drop_duplicates("siren", keep="last").set_index("siren"), read_rows


def profile(units: pd.DataFrame) -> pd.DataFrame:
    """Per SIREN (the index): ``name``, ``kind``, ``naf``, ``headcount``, ``legal_form``, ``ess``,
    ``active``, ``line``."""
    def text(col: str) -> pd.Series:
        s = units[col].fillna("").astype(str).str.strip()
        return s.where(s != NOT_DIFFUSED, "")

    denomination = text("denomination")
    first = text("usual_first_name").where(text("usual_first_name") != "", text("first_name"))
    last = text("usage_name").where(text("usage_name") != "", text("surname"))
    person = (first + " " + last).str.strip()
    legal = text("legal_form")
    legal = legal.where(legal.str.fullmatch(r"\d{4}"), None)
    hidden = units["diffusion"].fillna("").eq("P")
    name = denomination.where(denomination != "", person)
    is_person = (denomination == "") & (legal.isna() | legal.eq("1000"))
    neutral = pd.Series(np.where(is_person, PERSON_LABEL, UNIT_LABEL), index=units.index)
    name = name.where(~hidden & (name != ""), neutral)
    raw_naf = text("naf")
    known = {c: (n if n and naf.is_subclass(n) else None) for c in raw_naf.unique() for n in [naf.normalize(c)]}
    codes = raw_naf.map(known)
    rev2 = units["naf_nomenclature"].fillna("").eq("NAFRev2")
    out = pd.DataFrame(index=units.index)
    out["name"] = name
    # compact columns (categories, floats): a région holds a million units
    out["kind"] = pd.Categorical(np.where(is_cooperative(legal, denomination).to_numpy(dtype=bool),
                                          "cooperative", "company"), categories=["company", "cooperative"])
    out["naf"] = codes.where(rev2 & codes.notna(), None).astype("category")
    band = text("band").str.upper()
    out["headcount"] = band.map(HEADCOUNT).astype(float)  # NaN: no band
    out["legal_form"] = legal
    out["ess"] = text("ess").str.upper().map({"O": True, "N": False}).astype(object)
    out["ess"] = out["ess"].where(out["ess"].notna(), None)
    out["active"] = units["state"].fillna("").eq("A")
    out["line"] = units["line"]
    return out
