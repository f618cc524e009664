"""One text folding for every comparison of French words: case, accents, typographic signs."""

from __future__ import annotations

import math
import unicodedata
from typing import Any


def _fold_table() -> dict[int, str]:
    """Latin letters with diacritics -> base letters, typographic spaces and quotes -> plain ones."""
    table = {cp: "".join(c for c in unicodedata.normalize("NFKD", chr(cp)) if not unicodedata.combining(c))
             for cp in range(0xC0, 0x250)}
    table.update({ord("\u0153"): "oe", ord("\u0152"): "OE", ord("\u00e6"): "ae", ord("\u00c6"): "AE",
                  ord("\u2019"): "'", ord("\u02bc"): "'", 0xA0: " ", 0x202F: " ", 0x2009: " "})
    return {cp: rep for cp, rep in table.items() if rep != chr(cp)}


_FOLD = _fold_table()


def strip_accents(text: str) -> str:
    """``Maçonnerie Œuvre`` -> ``Maconnerie OEuvre`` (case kept)."""
    plain = text.translate(_FOLD)
    if plain.isascii():
        return plain
    return "".join(ch for ch in unicodedata.normalize("NFKD", plain) if not unicodedata.combining(ch))


def fold(text: Any) -> str:
    """Lower-case, accent-free, single-spaced text (``Maçonnerie  œuvre`` -> ``maconnerie oeuvre``).

    None and NaN give ``""``.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return " ".join(strip_accents(str(text)).lower().split())
