"""Stage 3: scoring and explanations (the list itself is selected in ``selection.py``).

A scorer maps the feature matrix to scores in [0, 1] and per-feature contributions that add up
to each score. ``TransparentScorer`` is the day-one scorer with documented weights; a learned
ranker (``matcher.learning.ranker``) follows the same protocol.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

from matcher.ranking.compare import (
    CANDIDATE_COMPARISONS,
    CANDIDATE_FEATURES,
    EMPLOYEE_FEATURES,
    FEATURES,
    KIND_CODE,
    PROCEDURE_URGENCY,
    PROXIMITY_SCALE_KM,
    SECTOR_LEVEL_VALUE,
    Comparison,
    Query,
)
from matcher.reference import naf
from matcher.reference.value_chain import value_chain_matrix

MARGIN = 1e-5  # a bound is a float32 sum of the same terms as a score, in another order

# Weights of the transparent scorer: each contribution is weight × feature (features lie in
# [0, 1]). A candidate's weights sum to 1, so its score lies in [0, 1].
CANDIDATE_WEIGHTS = {
    "sector": 0.20,       # same trade: the strongest sign a firm can run the activity
    "interest": 0.14,     # it said it wants this trade
    "experience": 0.06,   # a person who has run this trade
    "value_chain": 0.06,  # upstream or downstream neighbour
    "proximity": 0.12,    # local anchoring, jobs stay where they are
    "workforce": 0.08,    # can take the employees on
    "budget": 0.08,       # can pay the estimated price
    "ess": 0.06,          # social and solidarity economy, ESUS
    "pole": 0.06,         # member of the pole that follows the case
    "partnership": 0.05,  # already cooperates with the company
    "apprentices": 0.03,  # trains locally
    "urgency": 0.04,      # ready to act fast when the procedure is urgent
    "discretion": 0.02,   # trusted within the pole on a confidential case
}
# The employees' option tops out at EMPLOYEE_CEILING rather than 1: even with every condition met,
# a SCOP takeover still needs employees willing to invest their savings and severance, which no
# feature observes, so a firm that fits perfectly stays ahead of it.
EMPLOYEE_CEILING = 0.75
EMPLOYEE_WEIGHTS = {
    "emp_workforce": 0.22,         # enough employees to form a SCOP
    "emp_procedure": 0.18,         # a procedure that leaves time (sauvegarde, redressement)
    "emp_labour_intensive": 0.15,  # value lies in the people's skills
    "emp_ess": 0.08,               # already in the social economy
    "emp_coop_support": 0.12,      # a cooperative union or incubator supports them nearby
}
assert abs(sum(CANDIDATE_WEIGHTS.values()) - 1) < 1e-9
assert abs(sum(EMPLOYEE_WEIGHTS.values()) - EMPLOYEE_CEILING) < 1e-9
assert tuple(CANDIDATE_WEIGHTS) == CANDIDATE_FEATURES and tuple(EMPLOYEE_WEIGHTS) == EMPLOYEE_FEATURES


class ScoreBound(Protocol):
    """How near a candidate with a weak tie to the company's trade must be to reach a score.

    A scorer that offers a bound lets the engine skip candidates proven unable to enter the list
    (``Engine.match``); one that does not has every candidate in reach scored.
    """

    def unlinked_reach_km(self, q: Query, threshold: float) -> float | None:
        """Distance beyond which a candidate with no link to the trade scores below ``threshold``
        (0: none reaches it even next door; None: distance alone cannot tell)."""

    def trade_reach_km(self, q: Query, threshold: float, *, own_division: bool | None = None) -> float | None:
        """The same for candidates tied to the trade by their own activity only: in the
        company's NAF division (``own_division`` True), in a value-chain neighbour's (False), or
        in either (None)."""


class Scorer(ABC):
    """Maps the feature matrix to scores in [0, 1] and per-column contributions adding up to them.

    ``contribution_names`` names the columns of the contributions; when ``has_baseline`` the last
    one is a constant baseline (a learned model's intercept) rather than a feature. ``bound`` is
    the scorer's :class:`ScoreBound`, or None when it offers none. ``card`` describes it.
    """

    model_id: str
    contribution_names: tuple[str, ...]
    has_baseline: bool = False

    @abstractmethod
    def score_options(self, X: np.ndarray, is_employees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores (n,) and contributions (n, len(contribution_names))."""

    @property
    def bound(self) -> ScoreBound | None:
        return None

    @property
    def card(self) -> dict[str, Any]:
        return {}


class TransparentScorer(Scorer):
    """Weighted sum of features with the documented weights above; bounded (see ``bound``)."""

    model_id = "transparent"
    contribution_names = FEATURES

    def __init__(self) -> None:
        self.weights = np.array([CANDIDATE_WEIGHTS.get(f, 0.0) + EMPLOYEE_WEIGHTS.get(f, 0.0) for f in FEATURES],
                                dtype=np.float32)

    def score_options(self, X: np.ndarray, is_employees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each score is its contributions added in feature order, one column at a time: the
        same sum whatever the layout of ``X`` (a row's score does not depend on which rows are
        scored with it), and contiguous additions for the column-ordered features of a query."""
        contrib = np.multiply(X, self.weights, order="F")
        scores = contrib[:, 0].copy()
        for j in range(1, contrib.shape[1]):
            scores += contrib[:, j]
        return scores, contrib

    @property
    def bound(self) -> TransparentScorer:
        return self

    @property
    def card(self) -> dict[str, Any]:
        return {
            "description": "weighted sum of features with documented weights; each option's score is "
                           "the sum of its features' contributions",
            "candidate_features": list(CANDIDATE_FEATURES), "candidate_weights": dict(CANDIDATE_WEIGHTS),
            "employee_features": list(EMPLOYEE_FEATURES), "employee_weights": dict(EMPLOYEE_WEIGHTS),
        }

    def unrelated_bound(self, q: Query) -> float:
        """The best score a candidate can reach with no link to the company's trade.

        "No link": its own activity is neither in the company's NAF division nor in a
        value-chain neighbour, and no posting (interest, experience, pole, partnership) ties it
        to the company. Every other feature is taken at its maximum.
        """
        w = CANDIDATE_WEIGHTS
        return float(w["sector"] * SECTOR_LEVEL_VALUE[1] + w["proximity"] + w["workforce"] + w["budget"]
                     + w["ess"] + w["apprentices"] + w["urgency"] * PROCEDURE_URGENCY.get(q.procedure, 0.1)
                     + (w["discretion"] if q.confidential else 0.0))

    def trade_bound(self, q: Query, *, own_division: bool | None = None) -> float:
        """The best score a candidate can reach when only its own activity ties it to the
        company's trade and no posting does: the unrelated bound with the sector term at its
        maximum for the company's own division (a neighbour's shares at most the section) and
        the value-chain term that of the division (1 for a neighbour); in either division
        (None), both at their maximum."""
        w = CANDIDATE_WEIGHTS
        if own_division is None:
            return self.unrelated_bound(q) - w["sector"] * float(SECTOR_LEVEL_VALUE[1]) + w["sector"] + w["value_chain"]
        if not own_division:
            return self.unrelated_bound(q) + w["value_chain"]
        own_chain = q.division >= 0 and bool(value_chain_matrix()[q.division, q.division])
        return (self.unrelated_bound(q) - w["sector"] * float(SECTOR_LEVEL_VALUE[1]) + w["sector"]
                + (w["value_chain"] if own_chain else 0.0))

    def unlinked_reach_km(self, q: Query, threshold: float) -> float | None:
        """Distance beyond which a candidate with no link to the trade scores below ``threshold``.

        Its proximity term is w·e^(−d/30), so its bound falls with distance. 0 when none can
        reach the threshold even next door; None when distance alone cannot rule them out.
        """
        return _reach_km(self.unrelated_bound(q), threshold)

    def trade_reach_km(self, q: Query, threshold: float, *, own_division: bool | None = None) -> float | None:
        """:meth:`unlinked_reach_km` for candidates tied to the trade by their own activity only."""
        return _reach_km(self.trade_bound(q, own_division=own_division), threshold)

    def posted_bounds(self, q: Query, ix, pos: np.ndarray, ties, tags: np.ndarray) -> np.ndarray:
        """Per candidate read from the company's postings (``ties``, each one's ``tags``), before
        its distance is measured: an upper bound of its score. Every feature is taken at its value
        but those measured from the distance or the candidate's own figures (proximity,
        workforce, budget), taken at 1, their largest. The features drawn from one column (its
        activity, its flags, its kind) come from a table of that column's values, the postings'
        from one of the tags: a few gathers per candidate instead of a distance and every feature."""
        measured = sum(self.weights[j] for j, c in enumerate(CANDIDATE_COMPARISONS) if c.measured)
        out = np.full(len(pos), measured, dtype=np.float32)
        posted: dict[str, float] = {}
        tables: dict[str, np.ndarray] = {}
        for j, comp in enumerate(CANDIDATE_COMPARISONS):
            w = self.weights[j]
            if comp.measured or not w:
                continue
            elif comp.postings_only:
                posted[comp.name] = float(w)
            elif comp.reads is not None:
                tables[comp.reads] = tables.get(comp.reads, np.float32(0)) + w * value_table(comp, q)
            else:
                out += w * comp.compute(q, ix, pos, None)
        for column, table in tables.items():
            out += table[getattr(ix, column)[pos]]
        if posted:
            out += ties.weighted(posted, tags)
        return out

    def posted_reach_km(self, bounds: np.ndarray, need: np.ndarray) -> np.ndarray:
        """Per candidate of score at most ``bounds`` next door (``posted_bounds``), the distance
        beyond which its score stays below ``need`` (0: never reaches it; inf: distance cannot
        tell): its proximity term, counted at 1 in the bound, is w·e^(−d/30)."""
        return _reach(np.asarray(bounds, dtype=np.float64) + MARGIN, np.asarray(need, dtype=np.float64))


def _reach(bounds: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Per score of at most ``bounds`` next door, whose proximity term decays as w·e^(−d/30),
    the distance beyond which it stays below ``need`` (0: never reaches it; inf: distance cannot
    tell)."""
    w = CANDIDATE_WEIGHTS["proximity"]
    room = need - (bounds - w)  # what proximity may add and stay below the threshold
    km = np.full(len(room), np.inf)
    short = room > 0
    km[short] = -PROXIMITY_SCALE_KM * np.log(np.minimum(room[short] / w, 1.0)) + 0.5  # margin for rounding
    km[bounds < need] = 0.0
    return km


def _reach_km(bound: float, threshold: float) -> float | None:
    """:func:`_reach` of one bound (None: distance cannot tell)."""
    km = float(_reach(np.array([bound]), np.array([threshold]))[0])
    return None if np.isinf(km) else km


def _column_values(column: str) -> np.ndarray:
    """Every value a column of the index can hold, in the order ``value_table`` lists them: its
    own values as indices into the table (a NAF index of -1, unknown, reads the last entry)."""
    if column == "naf_idx":
        return np.r_[np.arange(len(naf.nomenclature().divisions)), -1].astype(np.int16)
    if column == "flags":
        return np.arange(256, dtype=np.uint8)
    if column == "kind":
        return np.arange(len(KIND_CODE), dtype=np.int8)
    raise ValueError(f"no table of the values of column {column!r}")


def value_table(comp: Comparison, q: Query) -> np.ndarray:
    """The feature for a company against every value of the one column ``comp.reads``: indexed
    by a candidate's value of that column, it gives the candidate's feature (one gather). Made by
    the comparison itself, on a stand-in index holding every value once."""
    values = _column_values(comp.reads)
    return comp.compute(q, SimpleNamespace(**{comp.reads: values}), np.arange(len(values)), None)
