"""The packaged trade lexicon (``reprise_data/trade_lexicon.csv``: term, NAF sub-class, weight),
read and checked once: every code a NAF rév. 2 sub-class, every weight in (0, 1]."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from importlib.resources import files

from matcher.reference.activity_text import tokens
from matcher.reference.naf import nomenclature
from matcher.reference.text import fold


def lexicon_rows() -> list[dict[str, str]]:
    """The packaged lexicon's rows as read from its CSV file."""
    with (files("reprise_data") / "trade_lexicon.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def phrase_codes(rows: Sequence[dict[str, str]]) -> dict[tuple[str, ...], dict[str, float]]:
    """Stemmed phrase -> {code: weight} (the largest weight when a phrase repeats a code).

    Raises ValueError naming the term, the value and what is accepted on a code that is not a
    NAF sub-class, a term empty once normalised, or a weight outside (0, 1]."""
    nom = nomenclature()
    grouped: dict[tuple[str, ...], dict[str, float]] = {}
    for row in rows:
        term, code = row["term"], (row["naf"] or "").strip()
        if code not in nom.index:
            raise ValueError(
                f"trade lexicon: term {term!r} maps to naf {code!r}, which is not a NAF "
                "rév. 2 sub-class (expected the dotted form, e.g. 43.31Z)"
            )
        key = tuple(tokens(fold(term)))
        if not key:
            raise ValueError(f"trade lexicon: term {term!r} is empty once normalised")
        try:
            weight = float(row.get("weight") or 1.0)
        except ValueError:
            weight = -1.0
        if not 0.0 < weight <= 1.0:
            raise ValueError(
                f"trade lexicon: term {term!r} has weight {row.get('weight')!r}; "
                "expected a number in (0, 1]"
            )
        codes = grouped.setdefault(key, {})
        codes[code] = max(weight, codes.get(code, 0.0))
    return grouped
