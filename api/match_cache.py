"""Ranked results kept per serving engine, so repeated reads of a case skip the ranking.

An entry is keyed by the company's whole stored row and the request's parameters; it lives on
the :class:`~api.live_engine.Serving` it was computed with, so a rebuilt index or a reloaded
model starts from an empty cache. Every read is still audited.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class MatchCache:
    """A bounded, thread-safe LRU of rendered match answers (JSON bytes); size 0 disables it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(company: dict[str, Any], *params: Any) -> tuple:
        row = tuple(sorted((k, repr(v)) for k, v in company.items()))
        return row, params

    def get(self, key: tuple) -> bytes | None:
        if not self.size:
            return None
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple, value: bytes) -> None:
        if not self.size:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
