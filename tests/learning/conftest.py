"""The demo territory and one training on it, shared by the learning tests."""

from __future__ import annotations

import pytest

from matcher import store
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.learning import train as training
from matcher.ranking.engine import Engine

SMALL = {"n_threads": 1, "max_iter": 60, "learning_rate": 0.2}


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """The demo territory imported once into a SQLite file; each test copies it."""
    folder = tmp_path_factory.mktemp("demo")
    files = generate(folder, seed=2026)
    db = store.connect(f"sqlite:///{folder / 'template.db'}")
    for kind in ("poles", "companies", "candidates", "outcomes"):
        report = import_file(db, kind, files[kind], rejects_path=folder / f"{kind}.rejects.csv")
        assert report.summary()
    db.dispose()
    return folder / "template.db"


@pytest.fixture(scope="module")
def trained(demo_template):
    """One training on the demo (read-only for the tests that use it)."""
    db = store.connect(f"sqlite:///{demo_template}")
    yield db, training.train(Engine.from_store(db), db, seed=0, params=SMALL)
    db.dispose()
