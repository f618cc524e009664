"""Plain words: every feature has a label and a sentence in English and French, used everywhere;
the case's notes are said once."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from matcher.cli.main import main
from matcher.contract.imports import import_frame
from matcher.ranking.compare import FEATURES
from matcher.ranking.engine import Engine
from matcher.ranking.explain import why_text
from matcher.ranking.labels import LANGUAGES, label, labels_map, legend, words
from matcher.scan.digest import write_digests
from matcher.store.records import company_rows

COMPANY = {"siren": "802649921", "name": "Menuiserie Durand", "activity": "menuiserie bois, pose de fenetres",
           "lat": 47.218, "lon": -1.554, "headcount": "8", "procedure": "redressement"}
CANDIDATES = [
    {"candidate_id": "732829320", "kind": "company", "name": "Menuiserie Voisine", "lat": 47.25, "lon": -1.52,
     "naf": "43.32A", "headcount": "20"},
    {"candidate_id": "443061841", "kind": "cooperative", "name": "SCOP Bois", "lat": 47.30, "lon": -1.60,
     "naf": "16.23Z", "legal_form": "5458", "ess": "true"},
]


@pytest.fixture
def loaded(db):
    assert import_frame(db, "companies", pd.DataFrame([COMPANY]).astype(str)).rejected == 0
    assert import_frame(db, "candidates", pd.DataFrame(CANDIDATES).astype(object)
                        .where(pd.DataFrame(CANDIDATES).notna(), None)).rejected == 0
    return db


def test_every_feature_has_words_in_both_languages():
    for feature in (*FEATURES, "baseline"):
        for lang in LANGUAGES:
            w = words(feature, lang)
            assert w.label and w.text.endswith(".") and "_" not in w.label, (feature, lang)
            assert w.label != feature.replace("_", " ") or feature in ("budget",), (feature, lang)
        assert words(feature, "en") != words(feature, "fr")
    assert label("emp_coop_support") == "cooperative support nearby"
    assert label("emp_coop_support", "fr") == "accompagnement coopératif sur le territoire"
    with pytest.raises(ValueError, match="language 'de'"):
        words("sector", "de")
    assert set(labels_map(["sector", "sector", "proximity"])) == {"sector", "proximity"}
    assert why_text({"sector": 0.2, "emp_coop_support": 0.1, "proximity": 0.0}) == \
        "same trade +0.20, cooperative support nearby +0.10"


def test_outputs_use_the_words_and_say_the_note_once(loaded, db_url, capsys, tmp_path):
    assert main(["--db", db_url, "match", "802649921", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["notes"] and payload["notes"][0].startswith("sector inferred from the activity text")
    assert all("notes" not in o["explanation"] for o in payload["options"])  # said once, on the case
    named = {k for o in payload["options"] for k in o["explanation"]}
    assert set(payload["labels"]) == named
    assert payload["labels"]["sector"]["fr"]["label"] == "même métier"

    assert main(["--db", db_url, "match", "802649921", "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    with_notes = [i for i, e in enumerate(df["explanation"]) if "notes" in json.loads(e)]
    assert with_notes == [0]

    assert main(["--db", db_url, "match", "802649921", "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "emp_" not in table and "same trade" in table and "legend:" in table
    assert "same trade: Works in the company's trade" in table
    block = table.split("legend:\n")[1].split("  excluded:")[0]  # a long sentence wraps under its label
    assert block.strip() and all(line.startswith("    ") for line in block.rstrip("\n").splitlines()), block
    assert table.count("sector inferred from the activity text") == 1

    company = company_rows(loaded)[0]
    rows = Engine.from_store(loaded).match(company, top=5).rows()
    path = write_digests(tmp_path, [{**company, "poles": []}], pd.DataFrame(rows), pole_names={},
                         day="2026-11-29")[0]
    digest = path.read_text(encoding="utf-8")
    assert digest.count("sector inferred from the activity text") == 1
    assert "emp_" not in digest and "same trade +" in digest
    assert "## What the words in “why” mean" in digest and "- same trade: Works in" in digest
    assert legend(["proximity"], "fr") == ["proximité: Proche de l'entreprise : plein effet sur place, "
                                           "un tiers à 30 km."]
