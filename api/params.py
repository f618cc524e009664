"""Checks of path and query parameters, with messages that name the parameter and the value."""

from __future__ import annotations

import re

import pandas as pd

from matcher.candidates import KINDS
from matcher.schema import clean_siren, luhn_valid

from .problems import invalid

OPTION_KINDS = KINDS  # candidate kinds and "employees"


def parse_siren(value: str, field: str = "siren") -> str:
    """A SIREN as stored (spaces removed), or 422 with the file import's wording."""
    v = clean_siren(pd.Series([value])).iloc[0]
    if not re.fullmatch(r"\d{9}", v):
        raise invalid(field, value, f"{field} {value} is not 9 digits")
    if not luhn_valid(pd.Series([v]))[0]:
        raise invalid(field, value, f"{field} {v} fails the Luhn check (a SIREN's 9th digit is a check digit)")
    return v


def check_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise invalid(field, value, f"{field} {value} is out of range; expected {low} to {high}")
    return value


def parse_kinds(text: str | None) -> list[str] | None:
    """``company,cooperative`` -> list; 422 naming the kinds that do not exist."""
    if not text:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in OPTION_KINDS]
    if bad or not kinds:
        raise invalid("kinds", text, f"kinds {','.join(bad) or text} is not a kind; expected some of "
                                     f"{', '.join(OPTION_KINDS)}, comma-separated")
    return kinds
