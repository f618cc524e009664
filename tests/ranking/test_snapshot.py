"""The index snapshot: written beside the store, opened instead of rebuilt, never served stale or damaged."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from matcher import store
from matcher.cli.main import main
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.ranking import snapshot
from matcher.ranking.engine import Engine
from matcher.ranking.index import CandidateIndex
from matcher.settings import Settings
from matcher.store import changes
from matcher.store.records import company_rows


@pytest.fixture
def demo(tmp_path):
    files = generate(tmp_path / "files", candidates=600, companies=60)
    db = store.connect(f"sqlite:///{tmp_path / 'demo.db'}")
    for kind in ("poles", "companies", "candidates"):
        assert import_file(db, kind, files[kind]).rejected == 0
    yield db, tmp_path / "demo.db.index", files
    db.dispose()


def _same_answers(a: Engine, b: Engine, companies: list[dict]) -> bool:
    return all(a.match(c, top=10, explain_exclusions=True).payload(explain=True)
               == b.match(c, top=10, explain_exclusions=True).payload(explain=True) for c in companies)


def test_snapshot_is_written_then_opened_and_answers_as_a_rebuild(demo):
    db, folder, _ = demo
    first = Engine.open(db, folder)
    assert first.reader.opened_from == "build" and snapshot.current(folder) is not None
    snapshot.open_generation.cache_clear()  # as a new process would
    second = Engine.open(db, folder)
    assert second.reader.opened_from == "snapshot" and second.index.source == str(snapshot.current(folder))
    assert isinstance(second.index.lat.base, np.memmap) or second.index.lat.base is not None  # mapped, not copied
    manifest = json.loads((snapshot.current(folder) / "manifest.json").read_text())
    assert manifest["revision"] == changes.revision(db) and manifest["candidates"] == len(second.index)
    assert _same_answers(second, Engine.from_store(db), company_rows(db)[:25])


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "manifest from another revision", "other code"])
def test_a_damaged_or_stale_snapshot_is_rebuilt_never_served(demo, damage):
    db, folder, _ = demo
    Engine.open(db, folder)
    gen = snapshot.current(folder)
    if damage == "flip a byte":
        path = gen / "lat.npy"
        raw = bytearray(path.read_bytes())
        raw[-3] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif damage == "truncate":
        path = gen / "names.data.npy"
        path.write_bytes(path.read_bytes()[:-10])
    else:
        manifest = json.loads((gen / "manifest.json").read_text())
        key, value = ("revision", manifest["revision"] + 5) if damage.startswith("manifest") else ("fingerprint", "x")
        manifest[key] = value
        (gen / "manifest.json").write_text(json.dumps(manifest))
    snapshot.open_generation.cache_clear()
    reopened = Engine.open(db, folder)
    assert reopened.reader.opened_from == "build"
    assert snapshot.current(folder) != gen
    assert _same_answers(reopened, Engine.from_store(db), company_rows(db)[:10])


def test_a_store_made_again_does_not_get_the_old_snapshot(demo, tmp_path):
    db, folder, files = demo
    Engine.open(db, folder)
    db.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"demo.db{suffix}").unlink(missing_ok=True)
    db = store.connect(f"sqlite:///{tmp_path / 'demo.db'}")
    for kind in ("poles", "companies", "candidates"):  # same revision numbers, other times
        import_file(db, kind, files[kind])
    snapshot.open_generation.cache_clear()
    assert Engine.open(db, folder).reader.opened_from == "build"
    db.dispose()


def test_an_index_opened_from_a_snapshot_travels_as_its_path(demo):
    db, folder, _ = demo
    engine = Engine.open(db, folder)
    blob = pickle.dumps(engine)
    assert len(blob) < 20_000 < len(pickle.dumps(Engine.from_store(db)))
    back = pickle.loads(blob)
    assert isinstance(back.index, CandidateIndex) and back.reader is None
    assert _same_answers(back, engine, company_rows(db)[:5])


def test_import_keeps_the_snapshot_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("REPRISE_INDEX_PATH", raising=False)
    files = generate(tmp_path / "files", candidates=300, companies=30)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    for kind in ("poles", "companies", "candidates"):
        assert main(["--db", url, "import", kind, str(files[kind])]) == 0
    folder = Settings.load(database_url=url).index_dir()
    assert folder == tmp_path / "r.db.index" and snapshot.current(folder) is not None
    db = store.connect(url)
    assert json.loads((snapshot.current(folder) / "manifest.json").read_text())["revision"] == changes.revision(db)
    siren = company_rows(db)[0]["siren"]
    assert main(["--db", url, "match", siren, "--format", "json"]) == 0
    db.dispose()


def test_a_folder_that_cannot_be_written_keeps_the_index_in_memory(demo, tmp_path):
    db, _, _ = demo
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    engine = Engine.open(db, blocker / "index")  # its parent is a file: nothing can be created there
    assert engine.reader.opened_from == "build" and engine.reader.folder is None
    assert _same_answers(engine, Engine.from_store(db), company_rows(db)[:5])
