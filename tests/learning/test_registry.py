"""The model registry through `reprise train|models|evaluate|match`: promotion, safety, rollback."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil

import pytest

from matcher import __version__, store
from matcher.cli.main import main
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.errors import ModelRefused
from matcher.learning.registry import Registry
from matcher.store.records import company_rows

FAST = ["--threads", "1", "--max-iter", "60", "--learning-rate", "0.2"]


def _import_demo(url: str, folder) -> None:
    files = generate(folder, seed=2026)
    db = store.connect(url)
    for kind in ("poles", "companies", "candidates", "outcomes"):
        import_file(db, kind, files[kind], rejects_path=folder / f"{kind}.rejects.csv")
    db.dispose()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    _import_demo(f"sqlite:///{folder / 'template.db'}", folder)
    return folder / "template.db"


@pytest.fixture
def demo(demo_template, tmp_path, monkeypatch):
    """A copy of the demo store and an empty models folder; returns the store URL."""
    shutil.copy(demo_template, tmp_path / "demo.db")
    monkeypatch.setenv("REPRISE_MODELS_DIR", str(tmp_path / "models"))
    return f"sqlite:///{tmp_path / 'demo.db'}"


@pytest.fixture(scope="module")
def trained_template(demo_template, tmp_path_factory):
    """The demo store with one model trained and promoted (`reprise train --promote`)."""
    models = tmp_path_factory.mktemp("models") / "models"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPRISE_MODELS_DIR", str(models))
        assert main(["--db", f"sqlite:///{demo_template}", "train", "--promote", *FAST]) == 0
    return models


@pytest.fixture
def trained(demo, trained_template, tmp_path):
    """Like ``demo``, with a copy of the trained models folder."""
    shutil.copytree(trained_template, tmp_path / "models")
    return demo


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sirens(url: str, n: int = 3) -> list[str]:
    db = store.connect(url)
    rows = [r["siren"] for r in company_rows(db)]
    db.dispose()
    return rows[:: max(1, len(rows) // n)][:n]


def ranking(capsys, url: str, companies: list[str]) -> str:
    out = []
    for s in companies:
        code, text, _ = run(capsys, "--db", url, "match", s, "--format", "csv")
        assert code == 0
        out.append(text)
    return "".join(out)


class Boom:
    """A pickle that creates a marker file if it is ever unpickled."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_train_on_postgresql_promotes_and_match_serves_the_model(pg_url, tmp_path, monkeypatch, capsys):
    _import_demo(pg_url, tmp_path)
    monkeypatch.setenv("REPRISE_MODELS_DIR", str(tmp_path / "models"))
    code, out, _ = run(capsys, "--db", pg_url, "train", "--promote", *FAST)
    assert code == 0
    assert "transparent" in out and "ndcg@10" in out and "promoted ranker-" in out
    model_id = Registry(tmp_path / "models").promoted_id()
    assert model_id and f"new ({model_id})" in out
    code, out, _ = run(capsys, "--db", pg_url, "match", sirens(pg_url, 1)[0], "--format", "json")
    assert json.loads(out)["model"] == model_id


def test_match_serves_the_promoted_model_with_explanations(trained, tmp_path, capsys):
    db_url = trained
    model_id = Registry(tmp_path / "models").promoted_id()
    siren = sirens(db_url, 1)[0]
    code, out, _ = run(capsys, "--db", db_url, "match", siren, "--format", "json", "--top", "3")
    assert code == 0
    payload = json.loads(out)
    assert payload["model"] == model_id
    expl = payload["options"][0]["explanation"]
    assert "baseline" in expl
    assert round(sum(v for v in expl.values() if isinstance(v, float)), 4) == payload["options"][0]["score"]


def test_card_holds_what_an_auditor_needs(trained, tmp_path, capsys):
    demo = trained
    registry = Registry(tmp_path / "models")
    (card,) = registry.cards()
    for key in ("id", "created", "library_versions", "features", "parameters", "metrics", "baseline_metrics",
                "sha256", "training"):
        assert key in card, key
    assert card["library_versions"]["scikit-learn"]
    assert card["library_versions"]["reprise"] == __version__  # the version `reprise --version` prints
    assert len(card["training"]["training_data_sha256"]) == 64
    assert card["parameters"]["max_iter"] == 60
    assert card["training"]["heldout_companies"] == len(card["training"]["heldout_sirens"]) > 0
    code, out, err = run(capsys, "--db", demo, "models", "show", card["id"])
    assert code == 0 and json.loads(out)["sha256"] == card["sha256"] and json.loads(out)["refused"] is None
    assert "REFUSED" not in err
    code, out, _ = run(capsys, "--db", demo, "models", "list")
    assert f"* {card['id']}" in out
    assert "already the promoted model" in run(capsys, "--db", demo, "models", "promote", card["id"])[1]
    assert Registry(tmp_path / "models").current_scorer().model_id == card["id"]
    assert run(capsys, "--db", demo, "models", "rollback")[0] == 0
    assert "none promoted" in run(capsys, "--db", demo, "models", "list")[1]
    assert Registry(tmp_path / "models").current_scorer().model_id == "transparent"  # stored, not promoted


def test_promotion_refuses_a_model_that_does_not_beat_the_current_one(trained, tmp_path, capsys):
    demo = trained
    good = Registry(tmp_path / "models").promoted_id()
    code, out, _ = run(capsys, "--db", demo, "train", "--promote", "--threads", "1", "--max-iter", "1",
                       "--learning-rate", "0.01")
    assert code == 0 and "not promoted" in out
    assert Registry(tmp_path / "models").promoted_id() == good
    # --force promotes anyway
    code, out, _ = run(capsys, "--db", demo, "train", "--force", "--threads", "1", "--max-iter", "1")
    assert code == 0 and "[forced]" in out and Registry(tmp_path / "models").promoted_id() != good


def test_a_tampered_model_file_is_refused_and_never_unpickled(trained, tmp_path, capsys):
    demo = trained
    models = tmp_path / "models"
    model_id = Registry(models).promoted_id()
    marker = tmp_path / "pwned"
    recorded = json.loads((models / model_id / "card.json").read_text())["sha256"]
    (models / model_id / "model.joblib").write_bytes(pickle.dumps(Boom(marker)))
    actual = hashlib.sha256((models / model_id / "model.joblib").read_bytes()).hexdigest()
    with pytest.raises(ModelRefused, match="SHA-256") as refused:
        Registry(models).load(model_id)
    assert actual in str(refused.value) and recorded in str(refused.value)  # the two checksums that differ
    code, out, _ = run(capsys, "--db", demo, "models", "list")
    assert code == 0 and f"REFUSED: model {model_id}" in out and actual in out
    code, out, err = run(capsys, "--db", demo, "models", "show", model_id)  # marked as `models list` marks it
    assert code == 0 and actual in json.loads(out)["refused"] and f"REFUSED: model {model_id}" in err
    # `reprise match` refuses too, with a message and exit code 2, no traceback
    code, _, err = run(capsys, "--db", demo, "match", sirens(demo, 1)[0])
    assert code == 2 and "runs code" in err
    code, _, err = run(capsys, "--db", demo, "models", "promote", model_id)
    assert code == 2 and "refusing to load" in err
    # editing the card to the new checksum is not enough: the registry recorded the original
    card_path = models / model_id / "card.json"
    card = json.loads(card_path.read_text())
    card["sha256"] = hashlib.sha256((models / model_id / "model.joblib").read_bytes()).hexdigest()
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelRefused, match="SHA-256"):
        Registry(models).load(model_id)
    assert not marker.exists()
    # the analyst's way out: roll back to the transparent scorer
    assert run(capsys, "--db", demo, "models", "rollback")[0] == 0
    assert run(capsys, "--db", demo, "match", sirens(demo, 1)[0], "--format", "csv")[0] == 0


def test_a_model_made_with_another_scikit_learn_is_refused(trained, tmp_path, capsys):
    demo = trained
    models = tmp_path / "models"
    assert run(capsys, "--db", demo, "models", "rollback")[0] == 0
    (card,) = Registry(models).cards()
    card["library_versions"]["scikit-learn"] = "0.24.2"
    (models / card["id"] / "card.json").write_text(json.dumps(card))
    marker = tmp_path / "pwned"
    (models / card["id"] / "model.joblib").write_bytes(pickle.dumps(Boom(marker)))
    with pytest.raises(ModelRefused, match=r"made with scikit-learn 0\.24\.2"):
        Registry(models).load(card["id"])
    code, _, err = run(capsys, "--db", demo, "models", "promote", card["id"])
    assert code == 2 and "0.24.2" in err
    assert not marker.exists() and Registry(models).promoted_id() is None


def test_rollback_restores_the_previous_ranking_exactly(demo, trained_template, tmp_path, capsys):
    companies = sirens(demo, 2)
    transparent = ranking(capsys, demo, companies)
    shutil.copytree(trained_template, tmp_path / "models")  # `reprise train --promote` done once for the module
    first = ranking(capsys, demo, companies)
    assert first != transparent
    assert run(capsys, "--db", demo, "train", "--force", "--seed", "5", "--threads", "1", "--max-iter", "20")[0] == 0
    second = ranking(capsys, demo, companies)
    assert second != first
    code, out, _ = run(capsys, "--db", demo, "models", "rollback")
    assert code == 0 and Registry(tmp_path / "models").promoted_id() in out
    assert ranking(capsys, demo, companies) == first
    assert run(capsys, "--db", demo, "models", "rollback")[0] == 0
    assert ranking(capsys, demo, companies) == transparent
    code, _, err = run(capsys, "--db", demo, "models", "rollback")
    assert code == 2 and "nothing to roll back" in err
    events = [e["action"] for e in Registry(tmp_path / "models").history()]
    assert events == ["promote", "promote", "rollback", "rollback"]


def test_unknown_or_malformed_model_ids_are_refused(demo, tmp_path, capsys):
    code, _, err = run(capsys, "--db", demo, "models", "show", "../../etc")
    assert code == 2 and "not valid" in err
    code, _, err = run(capsys, "--db", demo, "models", "promote", "ranker-nope")
    assert code == 2 and "not in the registry" in err


def test_train_without_outcomes_says_what_to_do(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REPRISE_MODELS_DIR", str(tmp_path / "models"))
    code, _, err = run(capsys, "--db", sqlite_url, "train")
    assert code == 2 and "there is no store at" in err
    store.connect(sqlite_url).dispose()
    code, _, err = run(capsys, "--db", sqlite_url, "train")
    assert code == 2 and "reprise import outcomes" in err


def test_evaluate_writes_a_report_with_plots(trained, tmp_path, capsys):
    demo = trained
    out_dir = tmp_path / "report"
    code, out, _ = run(capsys, "--db", demo, "evaluate", "--out", str(out_dir), "--repeats", "1")
    assert code == 0 and "transparent" in out
    text = (out_dir / "report.md").read_text()
    for heading in ("## Metrics per model", "## Permutation importance", "## Score distributions by option kind",
                    "disagrees most with"):
        assert heading in text
    assert "| sector |" in text
    for png in ("metrics.png", "permutation_importance.png", "scores_by_kind.png"):
        assert (out_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| ranker-" in text and "| transparent |" in text
    assert "new: evaluated" in text and "No other learned model is compared" in text
    assert "A metric shown as `nan`" in text and "A negative drop means" in text


def test_evaluate_compares_models_on_companies_none_was_trained_on(trained, tmp_path, capsys):
    demo = trained
    assert run(capsys, "--db", demo, "train", "--seed", "3", *FAST)[0] == 0  # new, not promoted
    out_dir = tmp_path / "report"
    assert run(capsys, "--db", demo, "evaluate", "--out", str(out_dir), "--repeats", "1")[0] == 0
    text = (out_dir / "report.md").read_text()
    registry = Registry(tmp_path / "models")
    new, promoted = registry.cards()[-1], registry.card(registry.promoted_id())
    held_new = set(new["training"]["heldout_sirens"])
    held_promoted = set(promoted["training"]["heldout_sirens"])
    seen = len(held_new - held_promoted)
    assert seen > 0  # another split: the promoted model trained on some of the new one's held-out companies
    assert f"| {promoted['id']} | promoted: serving now, may have trained on {seen} of these {len(held_new)} " in text
    assert f"| {new['id']} | new: evaluated | 0 |" in text
    assert (f"### On the companies no compared model was trained on ({len(held_new & held_promoted)} of "
            f"{len(held_new)})") in text
    assert f"disagrees most with {promoted['id']} (promoted)" in text
