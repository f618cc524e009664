"""Identifiers of the contract: SIREN (Luhn, La Poste's exception), département, commune and postal codes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from matcher.errors import InvalidRecord

LA_POSTE = "356000000"  # La Poste's SIREN fails the Luhn check and is valid all the same
_SPACES = re.compile(r"[\s\u00a0]")
_NINE = re.compile(r"[0-9]{9}")


def luhn_valid(digits: pd.Series | np.ndarray | Sequence[str]) -> np.ndarray:
    """Luhn check of SIREN strings, vectorised; La Poste's 356000000 is accepted, anything that is
    not 9 digits is not."""
    values = pd.Series(np.asarray(digits, dtype=object), dtype=object).astype(str)
    shape = values.str.fullmatch(r"\d{9}").to_numpy(dtype=bool)
    ok = np.zeros(len(values), dtype=bool)
    if shape.any():
        nine = values[shape].to_numpy(dtype=object)
        arr = np.frombuffer("".join(nine).encode("ascii"), dtype=np.uint8).reshape(-1, 9).astype(np.int16) - 48
        doubled = arr[:, 1::2] * 2  # from the right, every second digit of 9 is at odd positions
        doubled = doubled - 9 * (doubled > 9)
        total = arr[:, 0::2].sum(axis=1) + doubled.sum(axis=1)
        ok[shape] = (total % 10 == 0) | (nine == LA_POSTE)
    return ok


def siren_valid(siren: str) -> bool:
    """:func:`luhn_valid` for one 9-digit string (no pandas: this runs on every API request)."""
    if not _NINE.fullmatch(siren):
        return False
    total = 0
    for i, ch in enumerate(siren):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0 or siren == LA_POSTE


def clean_siren(values: pd.Series) -> pd.Series:
    """Strip spaces (``"802 649 921"`` -> ``"802649921"``)."""
    return values.str.replace("[\\s\u00a0]", "", regex=True)


def parse_siren(value: str, *, field: str = "siren") -> str:
    """One SIREN as stored (spaces removed); :class:`InvalidRecord` worded as a file import's reject."""
    v = _SPACES.sub("", value)
    if not _NINE.fullmatch(v):
        raise InvalidRecord(f"{field} {value} is not 9 digits", field=field, value=value)
    if not siren_valid(v):
        raise InvalidRecord(f"{field} {v} fails the Luhn check (a SIREN's 9th digit is a check digit)",
                            field=field, value=value)
    return v


DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"] + [str(n) for n in range(971, 977)]


def is_departement(code: str) -> bool:
    """01..95 (not 20), 2A, 2B, 971..976."""
    if code in ("2A", "2B"):
        return True
    if code.isdigit() and len(code) == 2:
        return 1 <= int(code) <= 95 and code != "20"
    return code.isdigit() and len(code) == 3 and 971 <= int(code) <= 976


def normalize_departement(code: str) -> str:
    """``2a`` -> ``2A``; ``1`` .. ``9`` -> ``01`` .. ``09`` (a leading zero lost by a spreadsheet)."""
    code = code.strip().upper()
    return code.zfill(2) if code.isdigit() and len(code) == 1 else code


_COMMUNE = re.compile(r"\d{5}|2[AB]\d{3}")
_POSTAL = re.compile(r"\d{5}")
COMMUNE_FORM = "an INSEE commune code (5 characters, 2A/2B for Corsica)"


def normalize_commune(code: str) -> str:
    """``2a004`` -> ``2A004``; ``1004`` -> ``01004`` (a leading zero lost by a spreadsheet).

    The one definition for every file: the ``commune`` of companies and candidates and the
    ``communes`` of poles."""
    code = code.strip().upper()
    return code.zfill(5) if code.isdigit() and len(code) == 4 else code


def is_commune(code: str) -> bool:
    """An INSEE commune code: 5 digits, or 2A/2B and 3 digits for Corsica."""
    return bool(_COMMUNE.fullmatch(code))


def normalize_postal_code(code: str) -> str:
    """``1630`` -> ``01630`` (a leading zero lost by a spreadsheet); spaces around dropped."""
    code = code.strip()
    return code.zfill(5) if code.isdigit() and len(code) == 4 else code


def is_postal_code(code: str) -> bool:
    """A French postal code: 5 digits."""
    return bool(_POSTAL.fullmatch(code))
