"""What a command works with: the settings, and the store, communes and engine opened once."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from matcher.settings import Settings


@dataclass
class Context:
    settings: Settings
    out: Any = field(default_factory=lambda: sys.stdout)
    _db: Any = None
    _communes: Any = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        return cls(settings=Settings.load(database_url=getattr(args, "db", None)))

    @property
    def db_url(self) -> str:
        return self.settings.database_url

    def use_store(self, url: str) -> None:
        """Work on another store than the settings name (the demo's own)."""
        self.settings = self.settings.model_copy(update={"database_url": url})
        self._db = None

    def db(self, *, create: bool = True):
        """The store, opened (and its tables created) on first use. With ``create=False`` a
        SQLite file that does not exist is an error, not a new empty store."""
        if self._db is None:
            from matcher import store
            self._db = store.connect(self.db_url, create=create)
        return self._db

    def communes(self):
        """The communes table named by the settings, else the one shipped with Reprise."""
        if self._communes is None:
            from matcher.reference import communes
            self._communes = communes.load(self.settings.communes)
        return self._communes

    def registry(self):
        from matcher.learning.registry import Registry
        return Registry(self.settings.registry_dir())

    def scorer(self):
        """The promoted ranker of this store's registry, or the transparent scorer."""
        return self.registry().current_scorer()

    def engine(self):
        """The matching engine over the stored candidates, with the promoted ranker: the index
        snapshot beside the store with the changes since (built and written when absent or stale)."""
        from matcher.ranking.engine import Engine
        return Engine.open(self.db(), self.settings.index_dir(), scorer=self.scorer())

    def keep_index(self) -> None:
        """After an import: bring the index snapshot up to date when the changes are many (a
        small delta is applied by every process that opens the snapshot, in a fraction of a second)."""
        from matcher.ranking.reader import IndexReader
        reader = IndexReader(self.db(), self.settings.index_dir()).open()
        if reader.needs_compaction():
            reader.compact()

    def print(self, *args: Any) -> None:
        print(*args, file=self.out)
