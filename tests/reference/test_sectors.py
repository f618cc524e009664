"""Free-text activity -> NAF sub-class, through the public functions of matcher.reference.sectors."""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from matcher.errors import InputFileError
from matcher.reference.naf import nomenclature
from matcher.reference.sector_table import infer_table
from matcher.reference.sectors import SectorInferer, default_inferer

FIXTURES = Path(__file__).parents[1] / "fixtures"


def codes(text: str) -> list[str]:
    return [code for code, _ in default_inferer().infer_one(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plaquiste", "43.31Z"),
        ("cafe bar brasserie", "56.30Z"),
        ("Café-bar-brasserie.", "56.30Z"),
        ("maconnerie", "43.99C"),
        ("Maçonnerie générale", "43.99C"),
        ("garagiste", "45.20A"),
        ("boulangerie pâtisserie", "10.71C"),
        ("peintre en bâtiment", "43.34Z"),
        ("agence immobilière", "68.31Z"),
        ("psychologue", "86.90F"),
        ("avocat", "69.10Z"),
        ("débit de boissons", "56.30Z"),
    ],
)
def test_trade_words(text: str, expected: str) -> None:
    assert codes(text)[0] == expected


def test_bakery_offers_retail_as_second_choice() -> None:
    assert codes("boulangerie pâtisserie")[:2] == ["10.71C", "47.24Z"]


def test_road_haulage() -> None:
    found = codes("transport public routier de marchandises")
    assert found[0] in {"49.41A", "49.41B"}
    assert {"49.41A", "49.41B"} <= set(found)


@pytest.mark.parametrize(
    "text", ["non précisée", "non precisee", "Non précisée.", "sans activité", "néant", "", " ... ",
             "toutes activités"]
)
def test_no_real_activity_gets_no_code(text: str) -> None:
    assert default_inferer().infer_one(text) == []


def test_several_trades_first_named_first() -> None:
    assert codes("plaquiste-électricien.")[:2] == ["43.31Z", "43.21A"]
    assert codes("couverture, maçonnerie.")[:2] == ["43.91B", "43.99C"]
    assert codes("restaurant bar brasserie.")[:2] == ["56.10A", "56.30Z"]


def test_specific_trade_beats_generic_word() -> None:
    # "construction" is generic, "entreprise générale de bâtiment" is a trade
    assert codes("construction, entreprise générale de bâtiment")[0] == "41.20A"
    assert codes("la mécanique générale de précision, le tournage")[0] == "25.62B"


def test_boilerplate_tail_and_typos() -> None:
    text = ("activité de transactions immobilières, et plus généralement, toutes opérations "
            "industrielles, commerciales, financières, mobilières ou immobilières")
    assert codes(text) == ["68.31Z"]
    assert codes("menuserie")[0] == "43.32A"
    assert codes("carelage")[0] == "43.33Z"


def test_naf_labels_are_matched_when_no_trade_word_applies() -> None:
    assert codes("fabrication de glaces")[0] == "10.52Z"
    assert codes("culture du tabac")[0] == "01.15Z"  # not tobacco retail


def test_batch_matches_single_calls_and_keeps_order() -> None:
    inferer = default_inferer()
    texts = ["plaquiste", "non précisée", "plaquiste", "garagiste", None, "bar."]
    batch = inferer.infer(texts, top=2)
    assert len(batch) == len(texts)
    assert batch == [inferer.infer(["" if t is None else t], top=2)[0] for t in texts]
    for proposals in batch:
        assert len(proposals) <= 2
        scores = [s for _, s in proposals]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 < s <= 1.0 for s in scores)


def test_default_inferer_is_built_once() -> None:
    assert default_inferer() is default_inferer()


def test_infer_table_columns_and_empty_cells() -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "text": ["plaquiste", "non précisée", None]})
    out = infer_table(df)
    assert list(out.columns) == ["id", "naf1", "naf2", "naf3", "score1", "score2", "score3"]
    assert out["id"].tolist() == [1, 2, 3]
    assert out.loc[0, "naf1"] == "43.31Z" and out.loc[0, "score1"] > 0.9
    assert out.loc[1:, ["naf1", "naf2", "naf3"]].isna().all().all()
    assert out[["score1", "score2", "score3"]].iloc[1:].isna().all().all()


def test_infer_table_custom_columns_and_top() -> None:
    df = pd.DataFrame({"siren": ["1", "2"], "activite": ["bar", "garagiste"]})
    out = infer_table(df, text_column="activite", id_column="siren", top=1)
    assert list(out.columns) == ["id", "naf1", "score1"]
    assert out["naf1"].tolist() == ["56.30Z", "45.20A"]


def test_infer_table_missing_column() -> None:
    df = pd.DataFrame({"id": [1], "activite": ["bar"]})
    with pytest.raises(InputFileError, match=r"'text'.*available columns: id, activite"):
        infer_table(df)


def test_lexicon_codes_all_exist() -> None:
    with (files("reprise_data") / "trade_lexicon.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 300
    known = nomenclature().index
    assert [r for r in rows if r["naf"] not in known] == []
    assert all(r["term"] == r["term"].lower() and r["term"].isascii() for r in rows)


def test_lexicon_with_unknown_code_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"'plaquiste'.*'43\.31X'"):
        SectorInferer([{"term": "plaquiste", "naf": "43.31X", "weight": "1"}])


def _division_accuracy(name: str) -> float:
    with open(FIXTURES / name, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["naf"]]
    found = default_inferer().infer([r["text"] for r in rows], top=1)
    hits = sum(p[0][0][:2] == r["naf"][:2] for r, p in zip(rows, found, strict=True) if p)
    return hits / len(rows)


def test_division_accuracy_on_bodacc_records() -> None:
    # 25/25 measured; one miss allowed
    assert _division_accuracy("activity_labels.csv") >= 0.96


def test_division_accuracy_on_holdout() -> None:
    # 172/175 (98.3 %) measured; a few misses allowed
    assert _division_accuracy("activity_holdout.csv") >= 0.95
