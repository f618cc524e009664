"""Column rules of the contract: one small typed validator per kind of cell.

A rule receives a column of cells already turned into stripped text (``""`` when empty) and
returns the clean column; every bad cell is reported through ``fail(mask, message)`` with a
reason a person can act on (the column, the value, what is accepted). Work is column-wise, so a
million rows validate in seconds; ``map_distinct`` computes per distinct value what cannot be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

Messages = str | pd.Series | Callable[[], Any]
Fail = Callable[[Any, Messages], None]
TRUE_WORDS = frozenset({"true", "1", "oui", "yes", "o", "y", "vrai"})
FALSE_WORDS = frozenset({"false", "0", "non", "no", "n", "faux"})


def map_distinct(s: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``s.map(fn)`` computed once per distinct value (cells repeat a lot in real files).

    Missing values (None, NaN, NA) are one distinct value, passed to ``fn`` as None.
    """
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:len(uniques)] = [fn(u) for u in uniques]
    if (codes < 0).any():
        table[len(uniques)] = fn(None)  # code -1 picks the last slot
    return pd.Series(table[codes], index=s.index, dtype=object)


def split_list(cell: str | None) -> list[str]:
    """A ``;``-separated cell as its non-empty items."""
    return [x.strip() for x in cell.split(";") if x.strip()] if cell else []


class Rule:
    """A column rule. ``many`` rules take a list (``;``-separated text or a JSON array)."""

    many: ClassVar[bool] = False

    def check(self, col: str, s: pd.Series, fail: Fail) -> pd.Series:
        raise NotImplementedError

    def describe(self) -> str:
        """What the rule accepts, in words (used in the API schema)."""
        return (self.__doc__ or "").strip().splitlines()[0]


@dataclass(frozen=True)
class Text(Rule):
    """free text"""

    def check(self, col, s, fail):
        return s.where(s != "", None)


@dataclass(frozen=True)
class TextList(Rule):
    """list of ids"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        return map_distinct(s, split_list)


@dataclass(frozen=True)
class Number(Rule):
    """a finite number (``,`` or ``.`` as decimal mark), within the rule's range"""

    integer: bool = False
    minimum: float | None = None
    strict_min: bool = False
    maximum: float | None = None

    def describe(self) -> str:
        what = "a whole number" if self.integer else "a number"
        if self.minimum is not None:
            what += (" > " if self.strict_min else " ≥ ") + f"{self.minimum:g}"
        if self.maximum is not None:
            what += f" and ≤ {self.maximum:,.0f}".replace(",", " ")
        return what

    def check(self, col, s, fail):
        num = pd.to_numeric(s.str.replace(",", ".", regex=False).str.replace("[\\s\u00a0]", "", regex=True),
                            errors="coerce").astype(float)
        fail((s != "") & num.isna(), lambda: col + " " + s + " is not a number")
        infinite = num.notna() & ~np.isfinite(num.fillna(0.0))
        fail(infinite, lambda: col + " " + s + " is not a finite number")
        num = num.where(~infinite)
        if self.integer:
            fail(num.notna() & (num != num.round()), lambda: col + " " + s + " is not a whole number")
        if self.minimum is not None:
            low = (num <= self.minimum) if self.strict_min else (num < self.minimum)
            fail(num.notna() & low, lambda: col + " " + s + (" must be > " if self.strict_min else " must be ≥ ")
                 + f"{self.minimum:g}")
        if self.maximum is not None:
            fail(num.notna() & (num > self.maximum),
                 lambda: col + " " + s + f" is out of range: at most {self.maximum:,.0f}".replace(",", " "))
        return num.where(num.notna(), None)


@dataclass(frozen=True)
class Bool(Rule):
    """a boolean: true/false, 1/0, oui/non, yes/no, O/N"""

    def check(self, col, s, fail):
        low = s.str.lower()
        ok = low.isin(TRUE_WORDS | FALSE_WORDS) | (low == "")
        fail(~ok, lambda: col + " " + s + " is not a boolean (true/false, 1/0, oui/non, yes/no, O/N)")
        return map_distinct(low, lambda x: True if x in TRUE_WORDS else (False if x in FALSE_WORDS else None))


@dataclass(frozen=True)
class Choice(Rule):
    """one of a fixed set of words"""

    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)

    def check(self, col, s, fail):
        low = s.str.lower()
        fail((s != "") & ~low.isin(self.choices), lambda: col + " " + s + " is not one of " + ", ".join(self.choices))
        return low.where(low.isin(self.choices), None)


@dataclass(frozen=True)
class Band(Rule):
    """a SIRENE headcount band (trancheEffectifs: NN, 00, 01, 02, 03, 11 … 53)"""

    def check(self, col, s, fail):
        from matcher.contract.specs import HEADCOUNT_BANDS
        v = s.str.upper().str.zfill(2).where(s != "", "")
        fail((s != "") & ~v.isin(HEADCOUNT_BANDS.keys()),
             lambda: col + " " + s + " is not a SIRENE headcount band (" + ", ".join(HEADCOUNT_BANDS) + ")")
        return v.where(v.isin(HEADCOUNT_BANDS.keys()), None)


@dataclass(frozen=True)
class LegalForm(Rule):
    """a 4-digit SIRENE categorieJuridique code"""

    def check(self, col, s, fail):
        shape = s.str.fullmatch(r"\d{4}")
        fail((s != "") & ~shape, lambda: col + " " + s + " is not a 4-digit SIRENE categorieJuridique code")
        return s.where(shape, None)


@dataclass(frozen=True)
class IsoDate(Rule):
    """an ISO date (YYYY-MM-DD) from 1950, at most ``future_days`` after today"""

    future_days: int = 0

    def describe(self) -> str:
        later = f", at most {self.future_days} days after today" if self.future_days else ", not after today"
        return f"an ISO date (YYYY-MM-DD) from 1950-01-01{later}"

    def check(self, col, s, fail):
        shape = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
        d = pd.to_datetime(s.where(shape, None), format="%Y-%m-%d", errors="coerce")
        fail((s != "") & d.isna(), lambda: col + " " + s + " is not an ISO date (YYYY-MM-DD)")
        latest = pd.Timestamp(dt.date.today() + dt.timedelta(days=self.future_days + 1))
        out_of_range = d.notna() & ((d < pd.Timestamp("1950-01-01")) | (d >= latest))
        fail(out_of_range, lambda: col + " " + s + " is out of range: expected a date from 1950-01-01 to "
             + (latest - pd.Timedelta(days=1)).date().isoformat())
        return s.where(d.notna() & ~out_of_range, None)


@dataclass(frozen=True)
class Place(Rule):
    """part of the record's location (lat/lon, commune or postal_code), checked together"""
