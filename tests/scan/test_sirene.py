"""SIRENE stock extracts: read by name (CSV or Parquet, old and new layouts), profiles, Lambert-93."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matcher.errors import InputFileError
from matcher.scan.sirene import enrichment, head_offices, read_stock, to_wgs84, units_profile

UNIT_HEADER = ["siren", "statutDiffusionUniteLegale", "unitePurgeeUniteLegale", "dateCreationUniteLegale", "sigleUniteLegale", "sexeUniteLegale", "prenom1UniteLegale", "prenom2UniteLegale", "prenom3UniteLegale", "prenom4UniteLegale", "prenomUsuelUniteLegale", "pseudonymeUniteLegale", "identifiantAssociationUniteLegale", "trancheEffectifsUniteLegale", "anneeEffectifsUniteLegale", "dateDernierTraitementUniteLegale", "nombrePeriodesUniteLegale", "categorieEntreprise", "anneeCategorieEntreprise", "dateDebut", "etatAdministratifUniteLegale", "nomUniteLegale", "nomUsageUniteLegale", "denominationUniteLegale", "denominationUsuelle1UniteLegale", "denominationUsuelle2UniteLegale", "denominationUsuelle3UniteLegale", "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale", "nomenclatureActivitePrincipaleUniteLegale", "nicSiegeUniteLegale", "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale", "caractereEmployeurUniteLegale", "activitePrincipaleNAF25UniteLegale"]
ESTAB_HEADER = ["siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement", "trancheEffectifsEtablissement", "anneeEffectifsEtablissement", "activitePrincipaleRegistreMetiersEtablissement", "dateDernierTraitementEtablissement", "etablissementSiege", "nombrePeriodesEtablissement", "complementAdresseEtablissement", "numeroVoieEtablissement", "indiceRepetitionEtablissement", "dernierNumeroVoieEtablissement", "indiceRepetitionDernierNumeroVoieEtablissement", "typeVoieEtablissement", "libelleVoieEtablissement", "codePostalEtablissement", "libelleCommuneEtablissement", "libelleCommuneEtrangerEtablissement", "distributionSpecialeEtablissement", "codeCommuneEtablissement", "codeCedexEtablissement", "libelleCedexEtablissement", "codePaysEtrangerEtablissement", "libellePaysEtrangerEtablissement", "identifiantAdresseEtablissement", "coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement", "complementAdresse2Etablissement", "numeroVoie2Etablissement", "indiceRepetition2Etablissement", "typeVoie2Etablissement", "libelleVoie2Etablissement", "codePostal2Etablissement", "libelleCommune2Etablissement", "libelleCommuneEtranger2Etablissement", "distributionSpeciale2Etablissement", "codeCommune2Etablissement", "codeCedex2Etablissement", "libelleCedex2Etablissement", "codePaysEtranger2Etablissement", "libellePaysEtranger2Etablissement", "dateDebut", "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement", "enseigne3Etablissement", "denominationUsuelleEtablissement", "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement", "activitePrincipaleNAF25Etablissement"]
# The real unit of COLUMNS.md, a small firm in difficulty, one on NAF rév. 1, and an unknown band.
UNITS = [
    {"siren": "016750697", "trancheEffectifsUniteLegale": "31", "categorieJuridiqueUniteLegale": "5710",
     "activitePrincipaleUniteLegale": "77.39Z", "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
     "economieSocialeSolidaireUniteLegale": "N", "denominationUniteLegale": "ETS J VIRLY S A"},
    {"siren": "802649921", "trancheEffectifsUniteLegale": "02", "categorieJuridiqueUniteLegale": "5499",
     "activitePrincipaleUniteLegale": "68.31Z", "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
     "economieSocialeSolidaireUniteLegale": "O"},
    {"siren": "392526760", "trancheEffectifsUniteLegale": "NN", "categorieJuridiqueUniteLegale": "1000",
     "activitePrincipaleUniteLegale": "55.4A", "nomenclatureActivitePrincipaleUniteLegale": "NAFRev1",
     "economieSocialeSolidaireUniteLegale": ""},
    {"siren": "453752099", "trancheEffectifsUniteLegale": "", "categorieJuridiqueUniteLegale": "",
     "activitePrincipaleUniteLegale": "41.20A", "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2"},
]
# Nantes and Paris in Lambert-93; a second, non-head-office establishment with another place; a closed
# former head office; Saint-Denis de La Réunion in UTM 40S; a head office whose coordinates are masked.
ESTABS = [
    {"siren": "802649921", "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
     "codePostalEtablissement": "44000", "codeCommuneEtablissement": "44109", "codePostal2Etablissement": "99999",
     "coordonneeLambertAbscisseEtablissement": "355577.8", "coordonneeLambertOrdonneeEtablissement": "6689723.1"},
    {"siren": "802649921", "etablissementSiege": "false", "etatAdministratifEtablissement": "A",
     "codePostalEtablissement": "13260", "codeCommuneEtablissement": "13022",
     "coordonneeLambertAbscisseEtablissement": "910000", "coordonneeLambertOrdonneeEtablissement": "6240000"},
    {"siren": "016750697", "etablissementSiege": "true", "etatAdministratifEtablissement": "F",
     "codePostalEtablissement": "13260", "codeCommuneEtablissement": "13022",
     "coordonneeLambertAbscisseEtablissement": "910000", "coordonneeLambertOrdonneeEtablissement": "6240000"},
    {"siren": "016750697", "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
     "codePostalEtablissement": "75001", "codeCommuneEtablissement": "75101",
     "coordonneeLambertAbscisseEtablissement": "652469.0", "coordonneeLambertOrdonneeEtablissement": "6862035.3"},
    {"siren": "453752099", "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
     "codePostalEtablissement": "97400", "codeCommuneEtablissement": "97411",
     "coordonneeLambertAbscisseEtablissement": "338811.2", "coordonneeLambertOrdonneeEtablissement": "7690101.4"},
    {"siren": "392526760", "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
     "codePostalEtablissement": "02800", "codeCommuneEtablissement": "02058",
     "coordonneeLambertAbscisseEtablissement": "[ND]", "coordonneeLambertOrdonneeEtablissement": "[ND]"},
]


def stock(tmp_path, name: str, header: list[str], rows: list[dict], *, fmt: str = "csv"):
    df = pd.DataFrame([{c: r.get(c, "") for c in header} for r in rows], columns=header, dtype=str)
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


def test_lambert93_origin_and_known_places():
    lat, lon = to_wgs84(np.array([700000.0, 652469.0, np.nan]), np.array([6600000.0, 6862035.3, 1.0]))
    # Lambert-93's projection origin is exactly 46.5 N, 3 E
    assert lat[0] == pytest.approx(46.5, abs=1e-9) and lon[0] == pytest.approx(3.0, abs=1e-9)
    assert (lat[1], lon[1]) == (pytest.approx(48.8566, abs=1e-3), pytest.approx(2.3522, abs=1e-3))  # Paris
    assert np.isnan(lat[2]) and np.isnan(lon[2])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_units_profile_read_by_name(tmp_path, fmt):
    # columns in another order than INSEE's, to prove nothing is read by position
    path = stock(tmp_path, "StockUniteLegale", list(reversed(UNIT_HEADER)), UNITS, fmt=fmt)
    prof = units_profile(read_stock(path, "units"))
    assert prof.loc["016750697"].to_dict() == {"naf": "77.39Z", "headcount_band": "31", "legal_form": "5710",
                                               "ess": False}
    assert prof.loc["802649921", "ess"] is True and prof.loc["802649921", "headcount_band"] == "02"
    assert prof.loc["392526760", "naf"] is None  # a NAF rév. 1 code is not a rév. 2 sub-class
    assert prof.loc["453752099", "headcount_band"] is None and prof.loc["453752099", "ess"] is None
    assert list(read_stock(path, "units", sirens=["802649921"])["siren"]) == ["802649921"]


def test_old_layout_without_lambert_columns_is_read(tmp_path):
    old_units = [c for c in UNIT_HEADER if c not in ("societeMissionUniteLegale",
                                                     "activitePrincipaleNAF25UniteLegale")]
    old_estabs = [c for c in ESTAB_HEADER if not c.startswith("coordonnee") and c not in (
        "identifiantAdresseEtablissement", "activitePrincipaleNAF25Etablissement")]
    assert len(old_units) == 33
    u = stock(tmp_path, "u", old_units, UNITS)
    e = stock(tmp_path, "e", old_estabs, ESTABS)
    out = enrichment(u, e, ["802649921"])
    assert out.loc["802649921", "naf"] == "68.31Z" and out.loc["802649921", "postal_code"] == "44000"
    assert np.isnan(out.loc["802649921", "lat"])  # no coordinates in old files: place comes from the commune


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_head_office_place_in_wgs84(tmp_path, fmt):
    path = stock(tmp_path, "StockEtablissement", ESTAB_HEADER, ESTABS, fmt=fmt)
    heads = head_offices(read_stock(path, "establishments"))
    nantes = heads.loc["802649921"]
    assert (nantes["commune"], nantes["postal_code"]) == ("44109", "44000")  # not the 2nd address block
    assert (nantes["lat"], nantes["lon"]) == (pytest.approx(47.2184, abs=1e-3), pytest.approx(-1.5536, abs=1e-3))
    assert heads.loc["016750697", "postal_code"] == "75001"  # the active head office, not the closed one
    reunion = heads.loc["453752099"]  # published in UTM 40S, not Lambert-93
    assert (reunion["lat"], reunion["lon"]) == (pytest.approx(-20.8823, abs=1e-3), pytest.approx(55.4504, abs=1e-3))
    assert np.isnan(heads.loc["392526760", "lat"]) and heads.loc["392526760", "commune"] == "02058"


def test_enrichment_joins_both_files_and_keeps_only_asked_sirens(tmp_path):
    u = stock(tmp_path, "u", UNIT_HEADER, UNITS, fmt="parquet")
    e = stock(tmp_path, "e", ESTAB_HEADER, ESTABS)
    out = enrichment(u, e, ["802649921", "016750697", "999999999"])
    assert sorted(out.index) == ["016750697", "802649921"]
    row = out.loc["802649921"]
    assert (row["naf"], row["legal_form"], row["ess"], row["commune"]) == ("68.31Z", "5499", True, "44109")


def test_a_file_that_is_not_a_stock_file_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("SIREN;NAF\n802649921;68.31Z\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="has no column 'siren'"):
        read_stock(path, "units")
    e = stock(tmp_path, "e", [c for c in ESTAB_HEADER if c != "etablissementSiege"], ESTABS)
    with pytest.raises(InputFileError, match="etablissementSiege"):
        read_stock(e, "establishments")


def test_parquet_nulls_and_typed_columns_read_as_the_csv_reads_them(tmp_path):
    # INSEE's Parquet stock files hold nulls, booleans and numbers, not only text
    import pyarrow as pa
    import pyarrow.parquet as pq
    units = tmp_path / "u.parquet"
    pq.write_table(pa.table({"siren": ["802649921", "016750697"], "activitePrincipaleUniteLegale": ["68.31Z", None],
                             "trancheEffectifsUniteLegale": [None, "31"], "categorieJuridiqueUniteLegale": [None, "5710"],
                             "economieSocialeSolidaireUniteLegale": [None, "N"]}), units)
    estabs = tmp_path / "e.parquet"
    pq.write_table(pa.table({"siren": ["802649921", "016750697"], "etablissementSiege": [True, True],
                             "etatAdministratifEtablissement": ["A", None], "codePostalEtablissement": ["44000", None],
                             "codeCommuneEtablissement": ["44109", None],
                             "coordonneeLambertAbscisseEtablissement": [355577.8, None],
                             "coordonneeLambertOrdonneeEtablissement": [6689723.1, None]}), estabs)
    raw = read_stock(units, "units")
    assert raw.loc[1, "naf"] == "" and raw.loc[0, "headcount_band"] == ""  # missing is '', on pandas 2 and 3
    out = enrichment(units, estabs, ["802649921", "016750697"])
    known = out.loc["016750697"]
    assert (known["headcount_band"], known["legal_form"], known["ess"]) == ("31", "5710", False)
    assert known[["naf", "commune", "postal_code", "lat", "lon"]].isna().all()  # unknown, not the text 'nan'
    heads = head_offices(read_stock(estabs, "establishments"))
    assert heads.loc["016750697", "commune"] is None and heads.loc["016750697", "postal_code"] is None
    nantes = out.loc["802649921"]
    assert (nantes["naf"], nantes["commune"], nantes["postal_code"]) == ("68.31Z", "44109", "44000")
    assert nantes["lat"] == pytest.approx(47.2184, abs=1e-3)
