"""Ranked options for the case page, kept per serving engine like the API's answers.

The API caches rendered JSON; the pages need the result itself, so they keep their own small
LRU, tied to the :class:`~api.live_engine.Serving` it was computed with: a rebuilt index or a
reloaded model starts from an empty one.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from api.live_engine import Serving
from api.match_cache import MatchCache
from matcher.contract.confidentiality import Viewer
from matcher.ranking.results import MatchResult

_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@dataclass
class Ranked:
    """A result, and what a page derived from it (kept with it: the same company row, index and
    model give the same options, map and words)."""

    result: MatchResult
    views: dict[str, Any] = field(default_factory=dict)


def _cache(serving: Serving, size: int) -> MatchCache:
    with _lock:
        cache = _caches.get(serving)
        if cache is None:
            cache = _caches[serving] = MatchCache(size)
        return cache


def ranked(serving: Serving, company: dict[str, Any], *, top: int, explain: bool, limit: int,
           size: int, viewer: Viewer) -> Ranked:
    """The engine's result for a stored company as ``viewer`` may know it (from the cache when
    the row and what the viewer may know are unchanged)."""
    cache = _cache(serving, size)
    key = cache.key(company, top, explain, limit, viewer.key())
    entry = cache.get(key)
    if entry is None:
        entry = Ranked(serving.engine.match(company, top=top, explain_exclusions=explain, exclusions_limit=limit,
                                            viewer=viewer))
        cache.put(key, entry)
    return entry
