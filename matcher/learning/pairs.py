"""Training data for the learned ranker, from the outcomes advisors recorded.

A pair (company, option) is graded by its best recorded outcome: rejected 0 < contacted 1 <
interested 2 < offer 3 < takeover 4 (``employees:<siren>`` is an option like any other). Its
features are the engine's own (``Engine.features_for``), so the model learns on exactly what it
will score.

Never-contacted candidates. Outcomes exist only for the few candidates an advisor chose to
contact, and they were chosen because they looked plausible. Trained on those alone, a model
never sees the far-away, wrong-trade candidates the engine also considers, and may rank them
anywhere. So for each training company we add, from the engine's own considered set, up to
``unlabelled_ratio`` x (number of labelled pairs) never-contacted candidates drawn at random as
grade 0, with a lower weight ``unlabelled_weight``: most are poor options (that is why nobody
called them), but some are good ones nobody thought of, so they count less than a real
rejection. Companies with no outcome at all are left out: nobody looked at their options.
On the demo territory (5-fold by company, twice) this lifts held-out NDCG@10 from 0.417 (contacted
pairs only) to 0.466 (ratio 2, weight 0.5); paired difference +0.050 +/- 0.006.

Evaluation ranks, for each held-out company, everything the engine considers (never-contacted
candidates count as grade 0), which is the list advisors actually see. Companies are split with
``GroupShuffleSplit``: a company is never in both train and test.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit
from sqlalchemy.engine import Engine as DbEngine

from matcher.contract.specs import EMPLOYEES, OUTCOMES
from matcher.errors import NothingToLearn
from matcher.learning import UNLABELLED_RATIO, UNLABELLED_WEIGHT
from matcher.learning.measures import ranking_metrics
from matcher.ranking.compare import FEATURES, trade_linked
from matcher.ranking.engine import Engine
from matcher.ranking.score import Scorer
from matcher.store.records import outcome_rows

log = logging.getLogger(__name__)
GRADE = {name: grade for grade, name in enumerate(OUTCOMES)}  # rejected 0 .. takeover 4


@dataclass
class Pairs:
    """Rows of (company, option) with the engine's features, a grade and a training weight."""

    siren: np.ndarray
    candidate_id: np.ndarray
    X: np.ndarray
    grade: np.ndarray
    weight: np.ndarray
    labelled: np.ndarray
    kind: np.ndarray
    is_employees: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.grade)

    @property
    def trade_link(self) -> np.ndarray:
        """Which options have a trade link (listed first, see ``select_top``)."""
        return trade_linked(self.X, self.is_employees)

    def subset(self, mask: np.ndarray) -> Pairs:
        return Pairs(**{f.name: getattr(self, f.name)[mask] for f in fields(self) if f.name != "stats"})

    def sha256(self) -> str:
        """Hash of what the model is trained on: ids, grades, weights and features."""
        h = hashlib.sha256()
        for col in (self.siren, self.candidate_id):
            h.update("\x1f".join(map(str, col)).encode())
        for arr in (self.grade, self.weight, self.X):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


def best_grades(db: DbEngine) -> pd.DataFrame:
    """``siren, candidate_id, grade``: the best recorded outcome of each pair."""
    rows = outcome_rows(db)
    df = pd.DataFrame(rows, columns=["siren", "candidate_id", "outcome"]) if rows else \
        pd.DataFrame(columns=["siren", "candidate_id", "outcome"])
    df = df[["siren", "candidate_id", "outcome"]].copy()
    df["grade"] = df["outcome"].map(GRADE)
    bad = df["grade"].isna()
    if bad.any():
        log.warning("%d outcomes with an unknown grade ignored (expected %s)", int(bad.sum()), ", ".join(OUTCOMES))
    df = df[~bad].astype({"grade": np.int8})
    return (df.groupby(["siren", "candidate_id"], as_index=False)["grade"].max()
              .sort_values(["siren", "candidate_id"], kind="stable").reset_index(drop=True))


def _stack(parts: list[dict[str, np.ndarray]], n_features: int, stats: dict[str, int]) -> Pairs:
    if not parts:
        empty = np.zeros(0)
        return Pairs(np.zeros(0, object), np.zeros(0, object), np.zeros((0, n_features), np.float32),
                     empty.astype(np.int8), empty.astype(np.float32), empty.astype(bool),
                     empty.astype(np.int8), empty.astype(bool), stats)
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Pairs(**cat, stats=stats)


def _company_pairs(engine: Engine, company: dict[str, Any], ids: list[str], grade: np.ndarray,
                   weight: np.ndarray, labelled: np.ndarray) -> dict[str, np.ndarray]:
    X, kinds, is_emp, _ = engine.features_for(company, ids)
    return {"siren": np.full(len(ids), company["siren"], dtype=object), "candidate_id": np.asarray(ids, dtype=object),
            "X": X, "grade": grade.astype(np.int8), "weight": weight.astype(np.float32),
            "labelled": labelled, "kind": kinds, "is_employees": is_emp}


def _known(engine: Engine, siren: str, ids: list[str]) -> np.ndarray:
    own = f"{EMPLOYEES}:{siren}"
    return np.array([c == own or engine.index.position(c) is not None for c in ids], dtype=bool)


def training_pairs(engine: Engine, companies: list[dict[str, Any]], grades: pd.DataFrame, *,
                   unlabelled_ratio: float = UNLABELLED_RATIO, unlabelled_weight: float = UNLABELLED_WEIGHT,
                   seed: int = 0) -> Pairs:
    """Labelled pairs of the companies, plus sampled never-contacted ones (see the module doc).

    Outcomes naming a candidate that is no longer stored are skipped and counted in ``stats``.
    """
    if unlabelled_ratio < 0 or not 0 <= unlabelled_weight <= 1:
        raise ValueError(f"unlabelled_ratio={unlabelled_ratio} must be >= 0 and unlabelled_weight="
                         f"{unlabelled_weight} within [0, 1]")
    by_siren = {s: g for s, g in grades.groupby("siren")}  # noqa: C416 - dict() reads a GroupBy as a mapping
    stats = {"companies": 0, "labelled": 0, "unlabelled": 0, "unknown_candidates": 0}
    parts = []
    for company in companies:
        g = by_siren.get(company["siren"])
        if g is None:
            continue
        ids = g["candidate_id"].astype(str).tolist()
        known = _known(engine, company["siren"], ids)
        stats["unknown_candidates"] += int((~known).sum())
        ids, grade = [c for c, k in zip(ids, known) if k], g["grade"].to_numpy()[known]
        if not ids:
            continue
        pool = np.setdiff1d(np.asarray(engine.considered_ids(company), dtype=object), np.asarray(ids, dtype=object))
        # one generator per company: the sample does not depend on which other companies are trained on
        rng = np.random.default_rng([seed, int(company["siren"])])
        k = min(len(pool), int(np.ceil(unlabelled_ratio * len(ids))))
        extra = rng.choice(pool, size=k, replace=False).tolist() if k else []
        n, m = len(ids), len(extra)
        parts.append(_company_pairs(engine, company, ids + extra, np.r_[grade, np.zeros(m)],
                                    np.r_[np.ones(n), np.full(m, unlabelled_weight)],
                                    np.r_[np.ones(n, bool), np.zeros(m, bool)]))
        stats["companies"] += 1
        stats["labelled"] += n
        stats["unlabelled"] += m
    return _stack(parts, len(FEATURES), stats)


def ranking_pairs(engine: Engine, companies: list[dict[str, Any]], grades: pd.DataFrame) -> Pairs:
    """For evaluation: everything the engine considers for each company, graded by the outcomes
    (0 when never contacted). Labelled options the engine does not consider are counted in
    ``stats["labelled_not_considered"]``: no scorer can put them in the list."""
    by_siren = {s: dict(zip(g["candidate_id"].astype(str), g["grade"])) for s, g in grades.groupby("siren")}
    stats = {"companies": 0, "pairs": 0, "labelled_not_considered": 0}
    parts = []
    for company in companies:
        known = by_siren.get(company["siren"], {})
        ids = engine.considered_ids(company)
        if not ids:
            continue
        grade = np.array([known.get(c, 0) for c in ids])
        labelled = np.array([c in known for c in ids], dtype=bool)
        stats["labelled_not_considered"] += len(known) - int(labelled.sum())
        parts.append(_company_pairs(engine, company, ids, grade, np.ones(len(ids)), labelled))
        stats["companies"] += 1
        stats["pairs"] += len(ids)
    return _stack(parts, len(FEATURES), stats)


def split_companies(grades: pd.DataFrame, *, test_size: float = 0.25, seed: int = 0) -> tuple[list[str], list[str]]:
    """(train SIRENs, held-out SIRENs): whole companies, never one in both."""
    sirens = grades["siren"].astype(str).to_numpy()
    if len(np.unique(sirens)) < 4:
        raise NothingToLearn(f"outcomes cover {len(np.unique(sirens))} companies; at least 4 are needed to hold "
                             "some out")
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train_idx, test_idx = next(splitter.split(sirens, groups=sirens))
    return sorted(set(sirens[train_idx])), sorted(set(sirens[test_idx]))


def evaluate_scorer(scorer: Scorer, pairs: Pairs) -> dict[str, float]:
    """Held-out metrics of any Scorer on ranking pairs."""
    scores, _ = scorer.score_options(pairs.X, pairs.is_employees)
    return ranking_metrics(pairs.siren, pairs.grade, scores, pairs.trade_link)
