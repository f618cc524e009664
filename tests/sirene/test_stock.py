"""Reading SIRENE stock files: by name in any order, CSV with a BOM or `;`, zip, typed Parquet,
older layouts; files that are not stock files are refused with what was found."""

from __future__ import annotations

import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from matcher.errors import InputFileError
from matcher.reference.communes import shipped
from matcher.reference.territories import Territory
from matcher.sirene import establishments, units
from matcher.sirene.stock import StockFile
from tests.scan.test_sirene import ESTAB_HEADER, UNIT_HEADER
from tests.sirene.stock_files import estab, lambert, siren, unit, write_stock

S1, S2 = siren(40_000_001), siren(40_000_002)
ROWS = [estab(S1, "00011", "44109", xy=lambert(47.2184, -1.5536)),
        estab(S2, "00012", "49007", head=False, state="F"),
        estab(S2, "00013", "75101")]
TERRITORY = Territory(departements=frozenset({"44", "49"}))


def scan(path, watched=()):
    return establishments.scan(StockFile.open(path, label="--etablissements"), TERRITORY, shipped(), watched)


def test_columns_are_found_by_name_whatever_their_order_separator_or_bom(tmp_path):
    df = pd.DataFrame([{c: r.get(c, "") for c in ESTAB_HEADER} for r in ROWS], dtype=str)[list(reversed(ESTAB_HEADER))]
    path = tmp_path / "e.csv"
    path.write_bytes(b"\xef\xbb\xbf" + df.to_csv(index=False, sep=";").encode("utf-8"))
    got = scan(path)
    assert (got.read, got.in_territory, sorted(got.place.index)) == (3, 1, [S1])
    assert got.place.loc[S1, "lat"] == pytest.approx(47.2184, abs=1e-4)


def test_watched_units_are_followed_outside_the_territory(tmp_path):
    got = scan(write_stock(tmp_path, "e", ESTAB_HEADER, ROWS), watched=[S2])
    assert got.place.loc[S2, "commune"] == "75101" and not got.place.loc[S2, "inside"]
    closed = scan(write_stock(tmp_path, "e2", ESTAB_HEADER, ROWS[:2]), watched=[S2])
    assert closed.all_closed == {S2} and S2 not in closed.place.index


def test_typed_parquet_codes_keep_their_leading_zeros(tmp_path):
    sid = "016750697"  # the real unit of COLUMNS.md
    table = pa.table({"siren": pa.array([16750697], pa.int64()), "nic": pa.array([50], pa.int32()),
                      "etablissementSiege": pa.array([True]), "etatAdministratifEtablissement": ["A"],
                      "codeCommuneEtablissement": ["44109"], "codePostalEtablissement": pa.array([44000], pa.int32()),
                      "coordonneeLambertAbscisseEtablissement": pa.array([355577.8]),
                      "coordonneeLambertOrdonneeEtablissement": pa.array([6689723.1])})
    path = tmp_path / "e.parquet"
    pq.write_table(table, path)
    got = scan(path)
    assert got.place.loc[sid, "siret"] == sid + "00050" and got.place.loc[sid, "postal_code"] == "44000"
    assert got.place.loc[sid, "lat"] == pytest.approx(47.2184, abs=1e-3)


def test_an_older_layout_without_coordinates_or_nomenclature_is_read(tmp_path):
    old_estab = [c for c in ESTAB_HEADER if not c.startswith("coordonnee") and c not in (
        "identifiantAdresseEtablissement", "activitePrincipaleNAF25Etablissement")]
    got = scan(write_stock(tmp_path, "e", old_estab, ROWS))
    assert pd.isna(got.place.loc[S1, "lat"]) and got.place.loc[S1, "commune"] == "44109"
    old_units = [c for c in UNIT_HEADER if c not in ("societeMissionUniteLegale", "activitePrincipaleNAF25UniteLegale",
                                                     "nomenclatureActivitePrincipaleUniteLegale")]
    path = write_stock(tmp_path, "u", old_units, [unit(S1, "X", naf="43.32A")])
    found, read = units.read(StockFile.open(path, label="--unites"), [S1])
    assert read == 1 and units.profile(found).loc[S1, "naf"] == "43.32A"


def test_what_is_not_a_stock_file_is_refused(tmp_path):
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", "siren\n")
        zf.writestr("b.csv", "siren\n")
    with pytest.raises(InputFileError, match="zip archive with 2 CSV files"):
        StockFile.open(two, label="--etablissements")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("siren,dénomination\n".encode("cp1252"))
    with pytest.raises(InputFileError, match="is not UTF-8"):
        StockFile.open(latin, label="--unites")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(InputFileError, match="cannot be read as Parquet"):
        StockFile.open(bad, label="--unites")
    units_file = write_stock(tmp_path, "u", UNIT_HEADER, [unit(S1, "X")])
    with pytest.raises(InputFileError, match="is not a StockEtablissement file: it has no column nic, etablissementSiege"):
        scan(units_file)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(",".join(ESTAB_HEADER) + "\n" + "1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"ragged\.csv cannot be read"):
        scan(ragged)
