"""Column rules for codes and identifiers: SIREN (Luhn), candidate ids, NAF codes and prefixes,
département and commune codes, lists of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

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
from matcher.contract.rules import Rule, TextList, map_distinct, split_list
from matcher.reference import naf


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
class Departements(Rule):
    """list of département codes (44, 2A, 974); 1..9 read as 01..09 (a spreadsheet drops the zero); each once"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        items = TextList().check(col, s, fail).map(lambda xs: _distinct(normalize_departement(x) for x in xs))
        bad = items.map(lambda xs: ", ".join(x for x in xs if not is_departement(x)))
        fail(bad != "", lambda: col + " has " + bad + ", which are not département codes (01..95, 2A, 2B, 971..976)")
        return items


@dataclass(frozen=True)
class CommuneList(Rule):
    """list of INSEE commune codes (5 characters, 2A/2B for Corsica; 4 digits read with their lost zero); each once"""

    many: ClassVar[bool] = True

    def check(self, col, s, fail):
        items = TextList().check(col, s, fail).map(lambda xs: _distinct(normalize_commune(x) for x in xs))
        bad = items.map(lambda xs: ", ".join(x for x in xs if not is_commune(x)))
        fail(bad != "", lambda: col + " has " + bad + ", which are not INSEE commune codes (5 characters, "
             "2A/2B for Corsica)")
        return items  # whether each code exists is checked against the communes table (validate.py)


def _distinct(codes) -> list[str]:
    """Codes in their first order, each once (``2a004;2A004`` is one commune)."""
    return list(dict.fromkeys(codes))


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
