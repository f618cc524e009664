"""The postings that tie candidates to a company, read once with the candidates in reach.

A candidate is tied to a company by a declared interest in its trade (posted under the NAF
prefixes of each level), a person's experience of it (likewise), membership of one of its poles
or partnership with it. :class:`Ties` numbers those postings for one company, one bit each;
reading the candidates in reach from them (:meth:`~matcher.ranking.reach.Reach.ties_in_box`)
records, per candidate, the bits of the postings that hold it (its tags). The features drawn from
postings then come from the tags (:meth:`Ties.column`) instead of a binary search of every
posting for every candidate (``CandidateIndex.deepest``, ``membership``): the same values, since
the tags say exactly which of those postings hold the candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.ranking.compare import DIVISION_LEVEL, INTEREST_LEVEL_VALUE, SECTOR_LEVEL_VALUE
from matcher.ranking.postings import naf_ancestors

MAX_TIES = 63  # bits of an int64 tag
TABLE_BITS = 12  # up to this many postings, a feature's values come from a table of every tag


@dataclass(frozen=True)
class Ties:
    """One company's postings: per bit, the family and key of the posting, the feature it
    gives and that feature's value for a candidate it holds (deeper NAF levels, larger values)."""

    family: tuple[str, ...]
    key: tuple[str, ...]
    feature: tuple[str, ...]
    value: tuple[float, ...]

    @classmethod
    def of(cls, naf_code: str | None, poles: list[str], siren: str) -> Ties | None:
        """The postings of a company (None when they are more than a tag holds)."""
        rows: list[tuple[str, str, str, float]] = []
        for depth, prefix in enumerate(naf_ancestors(naf_code or ""), start=2):
            rows.append(("sought", prefix, "interest", float(INTEREST_LEVEL_VALUE[depth])))
            rows.append(("experience", prefix, "experience", float(SECTOR_LEVEL_VALUE[depth])))
        rows += [("poles", p, "pole", 1.0) for p in poles] + [("partners", siren, "partnership", 1.0)]
        if len(rows) > MAX_TIES:
            return None
        return cls(*(tuple(c) for c in zip(*rows)))  # type: ignore[arg-type]

    @property
    def linking(self) -> int:
        """The bits of the postings that link a candidate to the trade (``compare.trade_linked``):
        a declared interest, or experience at the division's level or deeper."""
        return sum(1 << b for b, (f, v) in enumerate(zip(self.feature, self.value))
                   if (f == "interest" and v > 0) or (f == "experience" and v >= DIVISION_LEVEL))

    def bits_of(self, family: str) -> int:
        """The bits of the postings of a family (``poles``: a candidate with one is a member)."""
        return sum(1 << b for b, f in enumerate(self.family) if f == family)

    def postings(self, index) -> list[np.ndarray]:
        """The index's posting of each bit (empty where it has none)."""
        empty = np.zeros(0, np.int32)
        return [getattr(index, f).get(k, empty) for f, k in zip(self.family, self.key)]

    def weighted(self, weights: dict[str, float], tags: np.ndarray) -> np.ndarray:
        """The sum of the features ``weights`` names, each times its weight, for candidates with
        ``tags``: one gather in a table of every tag when the postings are few."""
        if len(self.feature) <= TABLE_BITS:
            codes = np.arange(1 << len(self.feature))
            return sum(np.float32(w) * self.column(f, codes) for f, w in weights.items())[tags]
        return sum(np.float32(w) * self.column(f, tags) for f, w in weights.items())

    def column(self, feature: str, tags: np.ndarray) -> np.ndarray:
        """The feature's value for candidates with ``tags``: the largest value among the
        postings of that feature holding each (0 when none does)."""
        bits = sorted(((v, b) for b, (f, v) in enumerate(zip(self.feature, self.value)) if f == feature))
        if len(self.feature) <= TABLE_BITS:  # one value per possible tag, then one gather
            codes = np.arange(1 << len(self.feature))
            table = np.zeros(len(codes), dtype=np.float32)
            for v, b in bits:  # larger values overwrite
                table[(codes >> b) & 1 == 1] = v
            return table[tags]
        out = np.zeros(len(tags), dtype=np.float32)
        for v, b in bits:
            out[(tags >> b) & 1 == 1] = v
        return out
