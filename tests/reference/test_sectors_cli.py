"""`reprise sectors infer` on the real BODACC activity texts (CONTRACT.md §3)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from matcher.cli.main import main

LABELS = Path(__file__).parents[1] / "fixtures" / "activity_labels.csv"


def test_sectors_infer_on_real_bodacc_texts(tmp_path, capsys):
    labels = pd.read_csv(LABELS, dtype=str, keep_default_na=False)
    src = labels.rename(columns={"record_id": "id", "text": "activite"})[["id", "activite"]]
    src.to_csv(tmp_path / "in.csv", sep=";", index=False)
    out = tmp_path / "out.csv"
    assert main(["sectors", "infer", "--in", str(tmp_path / "in.csv"), "--text-column", "activite",
                 "--out", str(out)]) == 0
    assert "inferred sectors for" in capsys.readouterr().out
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got.columns) == ["id", "naf1", "naf2", "naf3", "score1", "score2", "score3"]
    merged = labels.merge(got, left_on="record_id", right_on="id")
    assert len(merged) == len(labels)
    none = merged[merged["text"].str.lower().str.contains("non précisée|sans activité", regex=True)]
    assert len(none) >= 1 and (none[["naf1", "naf2", "naf3"]] == "").all().all()
    labelled = merged[merged["naf"] != ""]
    division_ok = (labelled["naf1"].str[:2] == labelled["naf"].str[:2]).mean()
    assert division_ok >= 0.9


def test_sectors_infer_names_a_missing_column(tmp_path, capsys):
    (tmp_path / "in.csv").write_text("id,texte\n1,plaquiste\n", encoding="utf-8")
    assert main(["sectors", "infer", "--in", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "text" in err and "texte" in err
