"""The same ranking done with the Python Record Linkage Toolkit (``recordlinkage``).

The record-linkage way, stage by stage: candidates are exploded into one row per NAF division
they carry (own ``naf``, ``sought_naf``, ``experience_naf``) and **blocked** on the company's
division (``Index().block``); each pair is **compared** on sector text (Jaro-Winkler between NAF
labels, or the sought-activity text), distance (``geo``, exponential kernel) and size (``numeric``,
gaussian on log headcount vs the candidate's capacity); a **classifier**
(``LogisticRegressionClassifier``, scikit-learn inside) trained once gives each pair a probability;
pairs beyond the candidate's radius are dropped and the 10 most probable are the ranking.

Labels: a pair is a match when the engine's transparent scorer (``matcher.ranking.score.TransparentScorer``,
the default of ``Engine``) puts the candidate in the company's top 10, on training companies
distinct from the benchmark's query companies.

recordlinkage 0.16 as published on PyPI imports ``jellyfish.jaro_winkler_similarity`` (the
jellyfish >= 1.0 name), so ``method="jarowinkler"`` works with jellyfish 1.3: no pin is needed.
Blocking misses candidates whose only sector is a free-text ``sought_activity`` (no division):
that is the toolkit's usual recall cost, kept as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import recordlinkage
from plain import naf_text, prepare
from recordlinkage.compare import Geographic, Numeric, String

from matcher.contract.specs import DEFAULT_RADIUS_KM, headcount_estimate

FEATURES = ["sector_text", "distance", "size"]


def _compare() -> recordlinkage.Compare:
    return recordlinkage.Compare([
        String("text", "text", method="jarowinkler", label="sector_text"),
        Geographic("lat", "lon", "lat", "lon", method="exp", offset=0.0, scale=30.0, label="distance"),
        Numeric("log_size", "log_capacity", method="gauss", offset=0.3, scale=1.0, label="size"),
    ])


def prepare_candidates(candidates: pd.DataFrame) -> pd.DataFrame:
    """One row per (candidate, NAF division): the columns blocking and comparison read."""
    base = prepare(candidates.assign(lat=candidates["lat"].astype(float), lon=candidates["lon"].astype(float)),
                   DEFAULT_RADIUS_KM)
    cap = pd.to_numeric(candidates["max_target_headcount"], errors="coerce").astype(float)
    cap = cap.fillna(pd.to_numeric(candidates["headcount"], errors="coerce").astype(float))
    base["log_capacity"] = np.log1p(cap.to_numpy())
    codes = (candidates["naf"].fillna("") + ";" + candidates["sought_naf"].fillna("") + ";"
             + candidates["experience_naf"].fillna(""))
    div = codes.str.split(";").explode().str[:2]
    div = div[div.str.fullmatch(r"\d\d").fillna(False)]
    rows = pd.DataFrame({"pos": div.index.to_numpy(), "division": div.to_numpy()}).drop_duplicates()
    out = base.iloc[rows["pos"].to_numpy()].reset_index(drop=True)
    out["division"] = rows["division"].to_numpy()
    return out


def prepare_companies(companies: pd.DataFrame, inferer: Any) -> pd.DataFrame:
    """Company rows for the peer; a missing NAF is inferred from the activity text (as the engine does)."""
    nafs = companies["naf"].astype(object).where(companies["naf"].notna(), None).tolist()
    missing = [i for i, c in enumerate(nafs) if not c]
    texts = companies["activity"].fillna("").astype(str).tolist()
    for i, guesses in zip(missing, inferer.infer([texts[i] for i in missing], top=1)):
        nafs[i] = guesses[0][0] if guesses else None
    naf = pd.Series(nafs, index=companies.index, dtype=object)
    heads = [headcount_estimate(None if pd.isna(h) else int(h), None if pd.isna(b) else b)
             for h, b in zip(companies["headcount"], companies["headcount_band"])]
    return pd.DataFrame({
        "siren": companies["siren"].to_numpy(), "division": naf.str[:2].to_numpy(),
        "text": naf_text(naf).where(naf.notna(), companies["activity"]).fillna("").to_numpy(),
        "lat": companies["lat"].astype(float).to_numpy(), "lon": companies["lon"].astype(float).to_numpy(),
        "log_size": np.log1p(np.array([np.nan if h is None else h for h in heads], dtype=float)),
    })


def compare_pairs(companies: pd.DataFrame, cands: pd.DataFrame) -> pd.DataFrame:
    """Block on division, compare, and drop pairs beyond the candidate's radius."""
    pairs = recordlinkage.Index().block("division").index(companies, cands)
    X = _compare().compute(pairs, companies, cands)
    left, right = pairs.get_level_values(0).to_numpy(), pairs.get_level_values(1).to_numpy()
    dist = _pair_distance(companies, cands, left, right)
    return X[dist <= cands["radius"].to_numpy()[right]]


def _pair_distance(companies, cands, left, right) -> np.ndarray:
    la1, lo1 = np.radians(companies["lat"].to_numpy()[left]), np.radians(companies["lon"].to_numpy()[left])
    la2, lo2 = np.radians(cands["lat"].to_numpy()[right]), np.radians(cands["lon"].to_numpy()[right])
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def train(companies: pd.DataFrame, cands: pd.DataFrame, top_ids: dict[str, list[str]]
          ) -> recordlinkage.LogisticRegressionClassifier:
    """Fit the classifier on the training companies' pairs, labelled by the engine's top 10."""
    X = compare_pairs(companies.reset_index(drop=True), cands)
    left, right = X.index.get_level_values(0), X.index.get_level_values(1)
    sirens = companies["siren"].to_numpy()[left]
    ids = cands["candidate_id"].to_numpy()[right]
    wanted = {(s, c) for s, cs in top_ids.items() for c in cs}
    is_match = np.fromiter(((s, c) in wanted for s, c in zip(sirens, ids)), dtype=bool, count=len(X))
    clf = recordlinkage.LogisticRegressionClassifier()
    clf.fit(X, X.index[is_match])
    return clf


def rl_match(company: pd.DataFrame, cands: pd.DataFrame, clf, top: int = 10) -> list[str]:
    """Candidate ids of the ``top`` most probable pairs for one company (a one-row frame)."""
    X = compare_pairs(company.reset_index(drop=True), cands)
    if X.empty:
        return []
    prob = clf.prob(X)
    best = np.argsort(-prob.to_numpy(), kind="stable")[:top]
    # one company has one division and candidate rows are unique per division: no duplicates
    return [str(c) for c in cands["candidate_id"].to_numpy()[X.index.get_level_values(1).to_numpy()[best]]]

