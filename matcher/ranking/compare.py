"""Stage 2: pairwise features, one small class each, computed for all candidates of a query at once.

Every feature is a float32 column in [0, 1]. Candidate options and the company's own employees
have separate feature sets; the columns of the other set are 0 on their rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from matcher.contract.specs import SCOP_LEGAL_FORMS
from matcher.ranking.index import COOP, ESS, ESUS, KIND_CODE, TRAINS, CandidateIndex
from matcher.reference import naf
from matcher.reference.value_chain import value_chain_matrix

# Value of the deepest NAF level shared: none, section, division, group, class, sub-class
SECTOR_LEVEL_VALUE = np.array([0.0, 0.1, 0.45, 0.7, 0.85, 1.0], dtype=np.float32)
# Value of a declared interest at prefix depth: -, -, division, group, class, sub-class
INTEREST_LEVEL_VALUE = np.array([0.0, 0.0, 0.7, 0.8, 0.9, 1.0], dtype=np.float32)
PROXIMITY_SCALE_KM = 30.0
PROCEDURE_URGENCY = {"liquidation": 1.0, "redressement": 0.6, "sauvegarde": 0.3,
                     "conciliation": 0.2, "mandat_ad_hoc": 0.2, "none": 0.1}
# Share of the value left to a buyer by the procedure (a liquidation sells at a discount)
PRICE_FACTOR = {"liquidation": 0.4, "redressement": 0.6, "sauvegarde": 0.8,
                "conciliation": 1.0, "mandat_ad_hoc": 1.0, "none": 1.0}
# Time the procedure leaves the employees to organise a SCOP takeover
EMPLOYEE_TIME = {"sauvegarde": 1.0, "conciliation": 0.9, "mandat_ad_hoc": 0.9, "redressement": 0.8,
                 "none": 0.6, "liquidation": 0.15}
READINESS = np.zeros(len(KIND_CODE), dtype=np.float32)
for _k, _v in {"company": 1.0, "pole_member": 1.0, "cooperative": 1.0, "repreneur": 0.6,
               "employee_group": 0.4}.items():
    READINESS[KIND_CODE[_k]] = _v
# Trades where the value is in the people: construction, food crafts, restaurants, care, cleaning…
LABOUR_INTENSIVE_DIVISIONS = frozenset(
    [1, 2, 10, 13, 14, 15, 16, 18, 25, 31, 33, 41, 42, 43, 45, 49, 55, 56, 74, 78, 80, 81, 85, 86,
     87, 88, 90, 93, 95, 96]
)


@dataclass
class Query:
    """What the features need to know of the company in difficulty."""

    siren: str
    naf: str | None
    lat: float
    lon: float
    headcount: float | None
    revenue_eur: float | None
    procedure: str
    confidential: bool
    ess: bool
    legal_form: str | None
    poles: list[str] = field(default_factory=list)
    cooperative_support: bool = False

    @property
    def naf_idx(self) -> int:
        return naf.nomenclature().index.get(self.naf, -1) if self.naf else -1

    @property
    def division(self) -> int:
        return int(self.naf[:2]) if self.naf else -1

    def estimated_price(self) -> float | None:
        """A rough price for the business: a share of turnover, else of headcount."""
        factor = PRICE_FACTOR.get(self.procedure, 1.0)
        if self.revenue_eur:
            return 0.3 * self.revenue_eur * factor
        if self.headcount:
            return 30_000.0 * self.headcount * factor
        return None


class Comparison:
    name: str = ""
    # 0 for a candidate outside every posting linking it to the company (declared interest or
    # experience in its trade, its poles, its partners): such candidates skip the computation
    postings_only = False
    # measured from the distance or from the candidate's own figures (workforce, budget): a bound
    # made before those are read (``TransparentScorer.posted_bounds``) takes them at 1, their largest
    measured = False
    # the one index column its value depends on (besides the company), if there is one: its
    # values for every value of that column make a table (``score.value_table``)
    reads: str | None = None

    def compute(self, q: Query, ix: CandidateIndex, pos: np.ndarray, dist: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@lru_cache(maxsize=1024)
def _sector_table(naf_idx: int) -> np.ndarray:
    """The sector feature of a company of sub-class ``naf_idx`` against every sub-class (by
    index), then 0 for an unknown one (index -1): one gather per candidate."""
    table = SECTOR_LEVEL_VALUE[naf.level_table(naf_idx)]
    table.setflags(write=False)
    return table


@lru_cache(maxsize=128)
def _chain_table(division: int) -> np.ndarray:
    """The value-chain feature of a company of ``division`` against every sub-class (by index),
    then 0 for an unknown one (index -1)."""
    divisions = naf.nomenclature().divisions
    table = np.zeros(len(divisions) + 1, dtype=np.float32)
    table[:len(divisions)] = value_chain_matrix()[division, divisions]
    table.setflags(write=False)
    return table


class Sector(Comparison):
    """Deepest level of the NAF tree shared by the candidate's activity and the company's."""
    name = "sector"
    reads = "naf_idx"

    def compute(self, q, ix, pos, dist):
        if q.naf_idx < 0:
            return np.zeros(len(pos), np.float32)
        return _sector_table(q.naf_idx)[ix.naf_idx[pos]]


class Interest(Comparison):
    """The candidate declared it wants this trade (sought_naf, or inferred from sought_activity)."""
    name = "interest"
    postings_only = True

    def compute(self, q, ix, pos, dist):
        return INTEREST_LEVEL_VALUE[ix.deepest("sought", q.naf, pos)]


class Experience(Comparison):
    """A person's experience in the trade (experience_naf)."""
    name = "experience"
    postings_only = True

    def compute(self, q, ix, pos, dist):
        return SECTOR_LEVEL_VALUE[ix.deepest("experience", q.naf, pos)]


class ValueChain(Comparison):
    """The candidate works upstream or downstream of the company (a bakery and a flour mill)."""
    name = "value_chain"
    reads = "naf_idx"

    def compute(self, q, ix, pos, dist):
        if q.division < 0:
            return np.zeros(len(pos), np.float32)
        return _chain_table(q.division)[ix.naf_idx[pos]]


class Proximity(Comparison):
    """Distance decay: 1 next door, 0.37 at 30 km, 0.14 at 60 km."""
    name = "proximity"
    measured = True

    def compute(self, q, ix, pos, dist):
        return np.exp(-dist / PROXIMITY_SCALE_KM).astype(np.float32)


class Workforce(Comparison):
    """Share of the company's workforce the candidate can absorb (0.5 when either is unknown)."""
    name = "workforce"
    measured = True

    def compute(self, q, ix, pos, dist):
        cap = ix.capacity[pos]
        if not q.headcount:
            return np.full(len(pos), 0.5 if q.headcount is None else 1.0, np.float32)
        return np.where(np.isnan(cap), 0.5, np.minimum(1.0, cap / q.headcount)).astype(np.float32)


class Budget(Comparison):
    """Budget against the estimated price (0.5 when either is unknown)."""
    name = "budget"
    measured = True

    def compute(self, q, ix, pos, dist):
        price = q.estimated_price()
        budget = ix.budget[pos]
        if not price:
            return np.full(len(pos), 0.5, np.float32)
        return np.where(np.isnan(budget), 0.5, np.minimum(1.0, budget / price)).astype(np.float32)


class SocialEconomy(Comparison):
    """ESUS approval (1), ESS membership (0.6, 1 when the company is ESS too)."""
    name = "ess"
    reads = "flags"

    def compute(self, q, ix, pos, dist):
        f = ix.flags[pos]
        ess = np.where((f & ESS) > 0, 1.0 if q.ess else 0.6, 0.0)
        return np.where((f & ESUS) > 0, 1.0, ess).astype(np.float32)


class PoleMember(Comparison):
    """The candidate belongs to a pole that follows the company."""
    name = "pole"
    postings_only = True

    def compute(self, q, ix, pos, dist):
        return ix.membership("poles", q.poles, pos).astype(np.float32)


class Partnership(Comparison):
    """The candidate already cooperates with the company (its partners list)."""
    name = "partnership"
    postings_only = True

    def compute(self, q, ix, pos, dist):
        return ix.membership("partners", [q.siren], pos).astype(np.float32)


class Apprentices(Comparison):
    """The candidate trains apprentices: skills stay local."""
    name = "apprentices"
    reads = "flags"

    def compute(self, q, ix, pos, dist):
        return ((ix.flags[pos] & TRAINS) > 0).astype(np.float32)


class Urgency(Comparison):
    """Procedure urgency times the candidate's readiness to act fast (an established firm)."""
    name = "urgency"
    reads = "kind"

    def compute(self, q, ix, pos, dist):
        return (PROCEDURE_URGENCY.get(q.procedure, 0.1) * READINESS[ix.kind[pos]]).astype(np.float32)


class Discretion(Comparison):
    """A confidential case is best handled by the pole's own members and cooperatives."""
    name = "discretion"

    def compute(self, q, ix, pos, dist):
        if not q.confidential:
            return np.zeros(len(pos), np.float32)
        trusted = np.isin(ix.kind[pos], [KIND_CODE["pole_member"], KIND_CODE["cooperative"]])
        return (trusted | ((ix.flags[pos] & COOP) > 0)).astype(np.float32)


CANDIDATE_COMPARISONS: tuple[Comparison, ...] = (
    Sector(), Interest(), Experience(), ValueChain(), Proximity(), Workforce(), Budget(),
    SocialEconomy(), PoleMember(), Partnership(), Apprentices(), Urgency(), Discretion(),
)
EMPLOYEE_FEATURES = ("emp_workforce", "emp_procedure", "emp_labour_intensive", "emp_ess", "emp_coop_support")
CANDIDATE_FEATURES = tuple(c.name for c in CANDIDATE_COMPARISONS)
FEATURES = CANDIDATE_FEATURES + EMPLOYEE_FEATURES


# An option has a trade link when it shares the company's NAF division (or deeper), works in an
# upstream or downstream division, declared an interest in the trade, or a person has run it
# (division level or deeper). The company's own employees run the trade. Options without one
# are listed after every linked option (``matcher.ranking.selection.select_top``).
_SECTOR, _INTEREST, _EXPERIENCE, _VALUE_CHAIN = (FEATURES.index(f) for f in
                                                 ("sector", "interest", "experience", "value_chain"))
DIVISION_LEVEL = float(SECTOR_LEVEL_VALUE[2])


def trade_linked(X: np.ndarray, is_employees: np.ndarray) -> np.ndarray:
    """(n,) bool: which options have a trade link (see above), from their feature rows."""
    X = np.asarray(X)
    return (np.asarray(is_employees, dtype=bool) | (X[:, _SECTOR] >= DIVISION_LEVEL)
            | (X[:, _INTEREST] > 0) | (X[:, _EXPERIENCE] >= DIVISION_LEVEL) | (X[:, _VALUE_CHAIN] > 0))


def candidate_features(q: Query, ix: CandidateIndex, pos: np.ndarray, dist: np.ndarray, *,
                       unlinked: bool = False, ties=None, tags: np.ndarray | None = None,
                       extra_rows: int = 0) -> np.ndarray:
    """(len(pos) + ``extra_rows``, len(FEATURES)) float32 in column order (each feature is
    written, and summed, as one contiguous column); the employees' columns and the extra rows
    (left for the caller to fill, such as the employees' own option) are 0.

    ``unlinked``: the candidates are known to be in none of the company's postings (see
    :meth:`CandidateIndex.linked`), so the features drawn from postings are 0 without a lookup.
    ``ties`` and ``tags``: the company's postings (``matcher.ranking.ties.Ties``) and the tags
    of each candidate, which give those features without a lookup either.
    """
    X = np.zeros((len(pos) + extra_rows, len(FEATURES)), dtype=np.float32, order="F")
    n = len(pos)
    for j, comp in enumerate(CANDIDATE_COMPARISONS):
        if not comp.postings_only:
            X[:n, j] = comp.compute(q, ix, pos, dist)
        elif ties is not None and tags is not None:
            X[:n, j] = ties.column(comp.name, tags)
        elif not unlinked:
            X[:n, j] = comp.compute(q, ix, pos, dist)
    return X


def employees_features(q: Query, *, coop_nearby: bool) -> np.ndarray:
    """(1, len(FEATURES)) float32 for the company's own employees forming a SCOP."""
    x = np.zeros((1, len(FEATURES)), dtype=np.float32)
    h = q.headcount
    workforce = 0.3 if h is None else float(np.interp(h, [0, 1, 3, 5, 10], [0.0, 0.2, 0.5, 0.8, 1.0]))
    labour = 1.0 if q.division in LABOUR_INTENSIVE_DIVISIONS else (0.3 if q.division >= 0 else 0.5)
    scop = q.legal_form in SCOP_LEGAL_FORMS
    support = 1.0 if q.cooperative_support else (0.6 if coop_nearby else 0.0)
    base = len(CANDIDATE_FEATURES)
    x[0, base:] = [workforce, EMPLOYEE_TIME.get(q.procedure, 0.6), labour, 1.0 if (q.ess or scop) else 0.0, support]
    return x
