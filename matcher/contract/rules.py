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

from matcher.contract.identifiers import (
    clean_siren,
    is_commune,
    is_departement,
    luhn_valid,
    normalize_commune,
    normalize_departement,
)
from matcher.reference import naf

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
class Siren(Rule):
    """9 digits, Luhn-valid; spaces allowed"""

    def check(self, col, s, fail):
        v = clean_siren(s)
        shape = v.str.fullmatch(r"\d{9}")
        fail((s != "") & ~shape, lambda: col + " " + s + " is not 9 digits")
        ok = np.zeros(len(v), dtype=bool)
        if shape.any():
            ok[shape.to_numpy()] = luhn_valid(v[shape])
        fail(shape & ~ok, lambda: col + " " + v + " fails the Luhn check (a SIREN's 9th digit is a check digit)")
        return v.where(v != "", None)


@dataclass(frozen=True)
class CandidateId(Rule):
    """a SIREN for a company (Luhn-valid), any other non-empty id for a person"""

    def check(self, col, s, fail):
        v = clean_siren(s)
        looks_siren = v.str.fullmatch(r"\d{9}")
        ok = np.ones(len(v), dtype=bool)
        if looks_siren.any():
            ok[looks_siren.to_numpy()] = luhn_valid(v[looks_siren])
        fail(looks_siren & ~ok, lambda: col + " " + v + " looks like a SIREN but fails the Luhn check")
        return v.where(looks_siren, s.str.strip()).where(s != "", None)


@dataclass(frozen=True)
class OutcomeCandidate(Rule):
    """a stored candidate's id, or employees:<siren> for the company's own employees"""

    def check(self, col, s, fail):
        emp = s.str.match(r"^employees:")
        tail = clean_siren(s.str.replace(r"^employees:", "", regex=True))
        fail(emp & ~tail.str.fullmatch(r"\d{9}"),
             lambda: col + " " + s + " must be employees:<siren> with a 9-digit SIREN")
        ids = CandidateId().check(col, s.where(~emp, ""), fail)
        return ids.where(~emp, "employees:" + tail).where(s != "", None)


@dataclass(frozen=True)
class NafCode(Rule):
    """NAF rév. 2 sub-class, as 43.32A or 4332A"""

    def check(self, col, s, fail):
        v = map_distinct(s, lambda x: naf.normalize(x) if x else "").astype(str)
        known = v.isin(naf.nomenclature().index.keys())
        fail((s != "") & ~known,
             lambda: col + " " + s + " is not a NAF rév. 2 sub-class (expected e.g. 43.32A or 4332A)")
        return v.where(known, None)


@dataclass(frozen=True)
class NafList(Rule):
    """NAF rév. 2 sub-classes (or, with ``prefixes``, codes or prefixes: 43, 43.3, 43.32, 43.32A)"""

    prefixes: bool = False
    many: ClassVar[bool] = True

    def describe(self) -> str:
        return ("list of NAF codes or prefixes (43, 43.3, 43.32, 43.32A)" if self.prefixes
                else "list of NAF rév. 2 sub-classes")

    def check(self, col, s, fail):
        norm = naf.normalize_prefix if self.prefixes else naf.normalize
        known = naf.nomenclature().index

        def parse(cell: str | None) -> tuple[list[str], list[str]]:
            good, bad = [], []
            for x in split_list(cell):
                n = norm(x)
                (good if n and (self.prefixes or n in known) else bad).append(n or x)
            return good, bad

        parsed = map_distinct(s, parse)
        bad = parsed.map(lambda p: ", ".join(p[1]))
        what = "NAF codes or prefixes (43, 43.3, 43.32, 43.32A)" if self.prefixes else "NAF rév. 2 sub-classes"
        fail(bad != "", lambda: col + " has " + bad + ", which are not " + what)
        return parsed.map(lambda p: p[0])


@dataclass(frozen=True)
class TextList(Rule):
    """list of ids"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        return map_distinct(s, split_list)


@dataclass(frozen=True)
class Departements(Rule):
    """list of département codes (44, 2A, 974); 1..9 read as 01..09 (a spreadsheet drops the zero)"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        items = TextList().check(col, s, fail).map(lambda xs: [normalize_departement(x) for x in xs])
        bad = items.map(lambda xs: ", ".join(x for x in xs if not is_departement(x)))
        fail(bad != "", lambda: col + " has " + bad + ", which are not département codes (01..95, 2A, 2B, 971..976)")
        return items


@dataclass(frozen=True)
class CommuneList(Rule):
    """list of INSEE commune codes (5 characters, 2A/2B for Corsica; 4 digits read with their lost zero)"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        items = TextList().check(col, s, fail).map(lambda xs: [normalize_commune(x) for x in xs])
        bad = items.map(lambda xs: ", ".join(x for x in xs if not is_commune(x)))
        fail(bad != "", lambda: col + " has " + bad + ", which are not INSEE commune codes (5 characters, "
             "2A/2B for Corsica)")
        return items


@dataclass(frozen=True)
class SirenList(Rule):
    """list of SIRENs (9 digits, Luhn-valid)"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        items = TextList().check(col, s, fail).map(lambda xs: ["".join(x.split()) for x in xs])
        flat = pd.Series([x for xs in items for x in xs], dtype=object)
        bad_set: set[str] = set()
        if len(flat):
            shape = flat.str.fullmatch(r"\d{9}").fillna(False).astype(bool)
            ok = np.zeros(len(flat), dtype=bool)
            if shape.any():
                ok[shape.to_numpy()] = luhn_valid(flat[shape])
            bad_set = set(flat[~ok])
        bad = items.map(lambda xs: ", ".join(x for x in xs if x in bad_set))
        fail(bad != "", lambda: col + " has " + bad + ", which are not valid SIRENs (9 digits, Luhn)")
        return items


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
