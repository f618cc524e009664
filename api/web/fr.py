"""French formatting for the pages (Babel, locale fr_FR): ``21 janv. 2026``, ``1 200``, ``12,3 km``."""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, parse_pattern

LOCALE = Locale.parse("fr_FR")
PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=8)
def _pattern(digits: int) -> NumberPattern:
    # parsed once: Babel's format_decimal parses its pattern and locale on every call (3x the cost)
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


def as_date(value: object) -> dt.date | None:
    """A date from a store value (ISO text, date or datetime); None when empty or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def date(value: object) -> str:
    """``21 janv. 2026`` (empty when there is no date)."""
    d = as_date(value)
    return format_date(d, "d MMM y", locale=LOCALE) if d else ""


def moment(value: dt.datetime | None) -> str:
    """A stored time (naive UTC) in Paris time: ``21 janv. 2026 à 14:05``."""
    if value is None:
        return ""
    aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    return format_datetime(aware.astimezone(PARIS), "d MMM y 'à' HH:mm", locale=LOCALE)


def number(value: object, digits: int = 0) -> str:
    """``1 200``, ``12,3``; empty for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        value = round(value, digits)  # a page shows many equal rounded values: formatted once each
    return _formatted(value, digits)


@lru_cache(maxsize=8192)
def _formatted(value: float | int, digits: int) -> str:
    return _pattern(digits).apply(value, LOCALE)


def km(value: object) -> str:
    return f"{number(value, 1)} km" if value is not None else ""


def signed(value: float, digits: int = 2) -> str:
    """``+0,20`` / ``−0,05`` (a true minus sign)."""
    text = number(abs(value), digits)
    return ("−" if value < 0 else "+") + text


def euros(value: object) -> str:
    return f"{number(value)} €" if value is not None and not (isinstance(value, float) and math.isnan(value)) else ""


def siren(value: str | None) -> str:
    """``802 649 921`` (with no-break spaces)."""
    if not value or len(value) != 9:
        return value or ""
    return "\u00a0".join((value[:3], value[3:6], value[6:]))


def days_left(deadline: object, today: dt.date) -> tuple[int | None, str]:
    """Days until a deadline and the words for it: ``dans 3 jours``, ``aujourd'hui``, ``échue depuis 2 jours``."""
    d = as_date(deadline)
    if d is None:
        return None, ""
    n = (d - today).days
    if n == 0:
        return 0, "aujourd'hui"
    if n > 0:
        return n, "demain" if n == 1 else f"dans {number(n)} jours"
    return n, "échue depuis 1 jour" if n == -1 else f"échue depuis {number(-n)} jours"
