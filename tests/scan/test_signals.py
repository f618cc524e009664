"""BODACC announcements -> signals: every sample record, every layout, dates, the nature table."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from matcher.scan import judgments
from matcher.scan.judgments import CATEGORIES, classify, offer_deadline, parse_date
from matcher.scan.signals import read_signals
from tests.conftest import fixture_path, write

PP = "natural person without a SIREN"
NO_SIREN = "no SIREN in registre or listepersonnes"

# (record id, category, siren or None, reason fragment or "") — read off each record by hand.
EXPECTED_2026 = [
    ("A202601651979", "claims", "837755701", ""),  # Dépôt de l'état des créances
    ("A202601651905", "plan", "489032136", ""),  # catch-all: "Arrête un plan de sauvegarde"
    ("A202601651809", "opening_receivership", "802649921", ""),
]
EXPECTED_2008 = [
    ("A200800100605", "opening_liquidation", None, PP),
    ("A200800100607", "closure", "392526760", ""),
    ("A200800100608", "closure", "420317539", ""),
    ("A200800100609", "opening_liquidation", None, PP),
    ("A200800100610", "opening_receivership", "491969176", ""),
    ("A200800100611", "opening_receivership", "487436479", ""),
    ("A200800100617", "claims", "384219895", ""),  # claims born after an RJ opening: not an opening
    ("A200800100618", "claims", "330035353", ""),
    ("A200800100620", "opening_liquidation", "453752099", ""),  # conversion into liquidation
    ("A200800100623", "claims", "482039716", ""),
    ("A200800100624", "claims", "437678394", ""),
    ("A200800100626", "plan", None, PP),
    ("A200800100628", "claims", "434066981", ""),
    ("A200800100640", "opening_liquidation", None, NO_SIREN),  # an association
    ("A200800100641", "closure", None, PP),
    ("A200800100642", "closure", None, PP),
    ("A200800100659", "opening_liquidation", None, PP),
    ("A200800100684", "closure", "398139121", ""),
    ("A200800100698", "claims", "323793448", ""),
    ("A200800100711", "plan", None, NO_SIREN),  # a GAEC with no registration number given
    ("A200800100752", "opening_liquidation", "443353214", ""),  # plan resolved, liquidation
    ("A200800100852", "sanction", "434534699", ""),
    ("A200800100914", "opening_liquidation", "450189337", ""),
    ("A200800101104", "sanction", "377854807", ""),
]


@pytest.mark.parametrize("name, expected", [("api_procedures_collectives_2026.json", EXPECTED_2026),
                                            ("pcl_2008_sample.jsonl", EXPECTED_2008)])
def test_every_sample_record_is_classified_or_reported(name, expected):
    df = read_signals(fixture_path("bodacc", name))
    got = [(r.record_id, r.category, r.siren, r.reason) for r in df.itertuples()]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    for (rid, _, _, reason), (_, _, _, fragment) in zip(got, expected):
        assert (fragment in reason) if fragment else reason == "", (rid, reason)
    assert df["actionable"].tolist() == [c.startswith("opening_") and not f for _, c, _, f in expected]


def test_sample_fields_dates_names_and_procedures():
    df = read_signals(fixture_path("bodacc", "pcl_2008_sample.jsonl")).set_index("record_id")
    assert df.loc["A200800100605", "judgment_date"] == "2007-12-21"  # "21\xa0décembre\xa02007"
    assert df.loc["A200800100605", "publication_date"] == "2008-01-16"
    assert df.loc["A200800100620", "name"] == "A S CONSTRUCTION & RENOVATION"  # &amp; unescaped
    assert df.loc["A200800100607", "name"] == "RAGEL Y Rojas Antonio"  # prenom given as a list
    assert df.loc["A200800100641", "activity"] == "agriculteur"  # activite list, repeated value
    assert df.loc["A200800100620", "procedure"] == "liquidation"
    assert df.loc["A200800100607", "procedure"] == "none"
    assert df.loc["A200800100617", "procedure"] is None  # claims leave the procedure unchanged
    assert df.loc["A200800100617", "procedure_hint"] == "redressement"
    assert df.loc["A200800100914", "postal_code"] == "01600"
    api = read_signals(fixture_path("bodacc", "api_procedures_collectives_2026.json")).set_index("record_id")
    assert api.loc["A202601651905", "judgment_date"] == "2026-08-17"
    assert api.loc["A202601651809", "activity"].startswith("activité de transactions immobilières")


def _api_records() -> list[dict]:
    return json.loads(fixture_path("bodacc", "api_procedures_collectives_2026.json").read_text())["results"]


def test_csv_export_json_array_and_decoded_objects_read_alike(tmp_path):
    records = _api_records()
    reference = read_signals(fixture_path("bodacc", "api_procedures_collectives_2026.json"))
    # the dataset's ; CSV export: registre comma-joined, nested fields as JSON text
    csv_rows = [{k: (",".join(v) if isinstance(v, list) else ("" if v is None else v)) for k, v in r.items()}
                for r in records]
    csv_path = tmp_path / "export.csv"
    pd.DataFrame(csv_rows).to_csv(csv_path, sep=";", index=False)
    # a JSON array with the nested fields already decoded into objects
    decoded = [{k: (json.loads(v) if k in ("jugement", "listepersonnes") and v else v) for k, v in r.items()}
               for r in records]
    array_path = write(tmp_path, "array.json", json.dumps(decoded, ensure_ascii=False))
    jsonl_path = write(tmp_path, "lines.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in records))
    cols = ["record_id", "siren", "name", "category", "actionable", "judgment_date", "postal_code", "activity"]
    for path in (csv_path, array_path, jsonl_path):
        pd.testing.assert_frame_equal(read_signals(path)[cols], reference[cols], check_dtype=False)


def _record(rid: str, *, jugement=None, personne=None, registre=None, cp="44000", **extra) -> dict:
    jug = jugement if jugement is not None else {"famille": "Jugement d'ouverture", "date": "2026-03-02",
                                                 "nature": "Jugement d'ouverture d'une procédure de sauvegarde"}
    return {"id": rid, "familleavis": "collective", "dateparution": "2026-03-10", "cp": cp,
            "registre": registre, "jugement": json.dumps(jug) if isinstance(jug, dict) else jug,
            "listepersonnes": json.dumps({"personne": personne}) if personne is not None else None, **extra}


def test_several_persons_addresses_and_malformed_records(tmp_path):
    manager = {"typePersonne": "pp", "nom": "MARTIN", "prenom": "Luc",
               "adressePP": {"codePostal": "49000", "ville": "Angers"}}
    firm = {"typePersonne": "pm", "denomination": "MENUISERIE DU PORT",
            "numeroImmatriculation": {"numeroIdentification": "802 649 921"},
            "activite": ["menuiserie", "agencement", "menuiserie"],
            "adresseSiegeSocial": [{"nomVoie": "quai", "codePostal": "BP 12"},
                                   {"nomVoie": "rue du Port", "codePostal": "44600"}]}
    records = [
        _record("R1", personne=[manager, firm], registre=["802649921", "802 649 921"]),
        _record("R2", jugement="{not json", personne=firm),
        _record("R3", personne={"typePersonne": "pm", "denomination": "X"}, registre="123456789"),
        _record("R4", personne=firm, familleavis="creation"),
        _record("R1", personne=firm),  # the same id again
        {"id": "R5", "familleavis": "collective", "registre": ["802649921"]},  # no jugement
    ]
    path = write(tmp_path, "mixed.jsonl", "\n".join(json.dumps(r) for r in records) + "\n{broken\n")
    df = read_signals(path)
    r1 = df.iloc[0]
    assert (r1.siren, r1["name"], r1.postal_code, r1.activity) == ("802649921", "MENUISERIE DU PORT", "44600",
                                                                 "menuiserie, agencement")
    assert r1.category == "opening_safeguard" and r1.procedure == "sauvegarde" and r1.actionable
    reasons = df["reason"].tolist()
    assert "jugement is not valid JSON" in reasons[1]
    assert reasons[2] == "siren 123456789 fails the Luhn check"
    assert "familleavis 'creation' is not a collective procedure" == reasons[3]
    assert reasons[4] == "record id R1 already seen earlier in this file"
    assert reasons[5] == "no jugement field: the judgment cannot be told"
    assert "line is not a JSON object" in reasons[6] and df.iloc[6]["record_id"].startswith("sha1:")
    assert not df["actionable"].iloc[1:].any()


@pytest.mark.parametrize("text, iso", [
    ("21\u00a0décembre\u00a02007", "2007-12-21"), ("1er mars 2008", "2008-03-01"), ("5 Août 2009", "2009-08-05"),
    ("2026-04-20", "2026-04-20"), ("2026-04-20T00:00:00+00:00", "2026-04-20"), ("07/01/2008", "2008-01-07"),
    ("le 3 fevrier 2010", "2010-02-03"), ("31 février 2008", None), ("", None), (None, None), ("hier", None),
])
def test_french_and_iso_dates(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize("complement, category", [
    ("Arrête un plan de sauvegarde - Jugement arrêtant le plan de sauvegarde sur 10 ans.", "plan"),
    ("Jugement arrêtant le plan de cession au profit de la société LEBRUN SAS.", "sale_plan"),
    ("Ordonne la cession de l'entreprise à la SCOP Menuiserie Ouvrière", "sale_plan"),
    ("Jugement modifiant le plan de redressement, durée portée à 12 ans", "plan"),
    ("Prononce la conversion de la procédure de redressement judiciaire en liquidation judiciaire", "opening_liquidation"),
    ("Jugement prononçant la résolution du plan de sauvegarde et ouvrant une procédure de redressement judiciaire",
     "opening_receivership"),
    ("Jugement rejetant la demande d'ouverture d'une procédure de redressement judiciaire", "other"),
    ("Jugement ordonnant la prolongation de la période d'observation", "other"),
    ("Prononce la clôture de la procédure pour insuffisance d'actif", "closure"),
    ("Jugement remplaçant le mandataire judiciaire", "other"),
    (None, "other"),
])
def test_catch_all_judgment_classified_from_its_text(complement, category):
    assert classify("Extrait de jugement", "Autre jugement et ordonnance", complement) == category


def test_documented_nature_table_is_what_the_code_does():
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", judgments.__doc__, flags=re.MULTILINE)
    rows = [(f.strip(), n.strip(), c.strip()) for f, n, c in rows if f.strip() not in ("famille", "---")]
    assert len(rows) >= 30
    for famille, nature, category in rows:
        expected = category if category in CATEGORIES else "other"
        assert classify(famille, nature) == expected, (nature, category)


def test_offer_deadline_from_the_judgment_text():
    text = ("Jugement d'ouverture d'une procédure de redressement judiciaire. Les offres de reprise doivent "
            "être déposées avant le 15\u00a0septembre 2026 à 12 heures auprès de l'administrateur.")
    assert offer_deadline(text) == "2026-09-15"
    assert offer_deadline("Date limite de dépôt des offres : 02/10/2026") == "2026-10-02"
    assert offer_deadline("Date de cessation des paiements : 12 novembre 2007") is None


@pytest.mark.parametrize("famille, nature, complement, category", [
    ("Jugement d'ouverture", "Autre jugement d'ouverture",
     "Jugement prononçant l'ouverture d'une procédure de liquidation judiciaire simplifiée", "opening_liquidation"),
    ("Jugement prononçant", "Autre jugement prononçant", "Prononce la conversion en redressement judiciaire",
     "opening_receivership"),
    ("Jugement prononçant", "Autre jugement prononçant", "Désigne un nouveau liquidateur", "other"),
    ("Jugement de clôture", "Autre jugement de clôture", "Clôt la procédure", "closure"),
    ("Avis de dépôt", "Autre avis de dépôt", "Le relevé des créances salariales est déposé", "claims"),
])
def test_other_catch_all_natures_read_their_text_then_their_nature(famille, nature, complement, category):
    assert classify(famille, nature, complement) == category


def test_record_ids_fit_the_store_and_are_stable(tmp_path):
    long_id = "X" * 100
    rec = _record(long_id, registre=["802649921"])
    no_id = {k: v for k, v in _record("", registre=["802649921"]).items() if k != "id"}
    path = write(tmp_path, "ids.jsonl", "\n".join(json.dumps(r) for r in (rec, no_id)))
    first, second = read_signals(path), read_signals(path)
    assert all(first["record_id"].str.len() <= 64) and first["record_id"].str.startswith("sha1:").all()
    assert first["record_id"].tolist() == second["record_id"].tolist()
