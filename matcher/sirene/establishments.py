"""``StockEtablissement`` -> where each unit of a territory is: filtered as the file streams.

Each batch is reduced, with Arrow compute kernels, to the rows that matter: the active
establishments (``etatAdministratifEtablissement`` ``A``) whose commune is in the territory (by
its département, its code, or a commune near a circle), and every establishment of the
``watched`` SIRENs (the pole's own candidates, followed wherever they are). Only those rows reach
pandas. Coordinates are converted to WGS84 (:mod:`matcher.reference.projection`); a circle
territory is then tested on the point (the commune centre when the coordinates are missing or
``[ND]``).

A unit is placed at its head office when that is active and in the territory, else at its first
active establishment there (lowest NIC). A watched unit with no active establishment in the
territory is placed at its active head office elsewhere, else its first active establishment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher.reference.communes import Communes
from matcher.reference.projection import to_wgs84
from matcher.reference.territories import Territory
from matcher.sirene.stock import Progress, SirenSet, StockFile

COLUMNS = {
    "siren": "siren",
    "nic": "nic",
    "etablissementSiege": "head_office",
    "etatAdministratifEtablissement": "state",
    "codeCommuneEtablissement": "commune",
    "codePostalEtablissement": "postal_code",
    "coordonneeLambertAbscisseEtablissement": "x",
    "coordonneeLambertOrdonneeEtablissement": "y",
}
REQUIRED = ("siren", "nic", "etablissementSiege", "etatAdministratifEtablissement", "codeCommuneEtablissement")
HEAD_OFFICE_WORDS = ("true", "1", "o", "oui")


@dataclass
class Places:
    """What the establishments file says about the units that matter."""

    read: int = 0  # establishment rows read
    in_territory: int = 0  # active establishments in the territory
    place: pd.DataFrame = field(default_factory=pd.DataFrame)  # per SIREN: siret, commune, postal_code, lat, lon
    in_territory_units: set[str] = field(default_factory=set)  # units with an active establishment there
    all_closed: set[str] = field(default_factory=set)  # watched units seen with no active establishment


def scan(stock: StockFile, territory: Territory, communes: Communes, watched: Iterable[str] = (),
         progress: Progress | None = None) -> Places:
    """Stream the establishments file once and place the units of the territory and the watched."""
    stock.check(REQUIRED, "StockEtablissement")
    deps = sorted(territory.departements)
    deps2 = pa.array([d for d in deps if len(d) == 2], type=pa.string())
    deps3 = pa.array([d for d in deps if len(d) == 3], type=pa.string())
    near = territory.near_communes(communes.by_insee)
    near_set = pa.array(sorted(near), type=pa.string()) if near else None
    watch = SirenSet(watched)
    out = Places()
    parts = []
    for t in stock.batches(COLUMNS, progress):
        out.read += t.num_rows
        commune = t["commune"]
        inside = pc.or_(pc.is_in(pc.utf8_slice_codeunits(commune, 0, 2), value_set=deps2),
                        pc.is_in(pc.utf8_slice_codeunits(commune, 0, 3), value_set=deps3))
        if near_set is not None:
            inside = pc.or_(inside, pc.is_in(commune, value_set=near_set))
        keep = pc.and_(inside, pc.equal(t["state"], "A"))
        if len(watch):
            keep = pc.or_(keep, pa.array(watch.mask(t["siren"])))
        sub = t.filter(keep)
        if sub.num_rows:
            parts.append(sub.append_column("prefiltered", pc.filter(inside, keep)))
    if parts:  # one conversion of the kept rows (Arrow tables are compact; pandas copies would not be)
        rows = pa.concat_tables(parts).to_pandas()
        del parts
    else:
        rows = pd.DataFrame(columns=[*COLUMNS.values(), "prefiltered"])
    return _places(rows, territory, communes, out)


def _places(rows: pd.DataFrame, territory: Territory, communes: Communes, out: Places) -> Places:
    lat, lon = to_wgs84(rows.pop("x").to_numpy(), rows.pop("y").to_numpy(), rows["commune"])
    at_lat, at_lon = lat.copy(), lon.copy()
    missing = np.isnan(lat)
    if missing.any():  # the commune centre, to test a circle territory
        centre = communes.by_insee[["lat", "lon"]].reindex(rows["commune"][missing])
        at_lat[missing], at_lon[missing] = centre["lat"].to_numpy(dtype=float), centre["lon"].to_numpy(dtype=float)
    rows["lat"], rows["lon"] = lat, lon
    rows["active"] = rows.pop("state").eq("A").to_numpy(dtype=bool)
    rows["head"] = rows.pop("head_office").str.lower().isin(HEAD_OFFICE_WORDS).to_numpy(dtype=bool)
    inside = rows.pop("prefiltered").to_numpy(dtype=bool) & territory.contains(rows["commune"], at_lat, at_lon)
    del at_lat, at_lon
    rows["inside"] = inside
    local = rows[inside & rows["active"].to_numpy()]
    out.in_territory = len(local)
    out.in_territory_units = set(local["siren"])
    elsewhere = rows[rows["active"] & ~rows["siren"].isin(out.in_territory_units)]
    seen = set(rows["siren"])
    out.all_closed = seen - out.in_territory_units - set(elsewhere["siren"])
    chosen = pd.concat([_first(local), _first(elsewhere)], ignore_index=True)
    chosen["siret"] = chosen["siren"] + chosen["nic"]
    out.place = chosen.set_index("siren")[["siret", "commune", "postal_code", "lat", "lon", "inside"]]
    return out


def _first(rows: pd.DataFrame) -> pd.DataFrame:
    """Per SIREN, its head office if among ``rows``, else the lowest NIC."""
    if rows.empty:
        return rows
    ordered = rows.sort_values(["siren", "head", "nic"], ascending=[True, False, True], kind="stable")
    return ordered.drop_duplicates("siren", keep="first")
