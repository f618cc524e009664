"""What the store can hold and give back: one check for any value arriving as JSON (API bodies,
the extra fields of an imported record), at any depth."""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 16  # nesting of objects and arrays in an extra field
MAX_INT = 2**53  # beyond, a JSON number loses precision in every client's float
MAX_ITEMS = 10_000  # members of one object or array


def storable_problem(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Why ``value`` cannot be stored and answered back as JSON, naming where; None when it can.

    Refused: a NUL character or a lone surrogate in a string (neither survives UTF-8 or
    PostgreSQL), a number that is not finite or not representable exactly, nesting deeper than
    ``MAX_DEPTH`` (a value answered on every list page must render), containers over ``MAX_ITEMS``.
    """
    where = path or "the record"
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where} contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where} contains a lone surrogate (\\ud800-\\udfff), which is not text"
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            return f"{where} is a number with {len(str(abs(value)))} digits; at most {MAX_INT} is accepted"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"{where} {value} is not a finite number"
    elif isinstance(value, dict | list | tuple):
        if depth >= MAX_DEPTH:
            return f"{where} is nested deeper than {MAX_DEPTH} levels"
        if len(value) > MAX_ITEMS:
            return f"{where} has {len(value)} members; at most {MAX_ITEMS} are accepted"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            if isinstance(k, str) and (problem := storable_problem(k, where, depth)):
                return problem
            if problem := storable_problem(v, f"{path}.{k}" if path else str(k), depth + 1):
                return problem
    return None
