"""The plain approach every benchmark compares with: a pandas cross join, per-pair RapidFuzz.

For one company: cross-join it with every candidate, compute the distance, the NAF-label text
similarity pair by pair with ``fuzz.token_set_ratio``, a weighted score, and sort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from matcher.reference import naf


def naf_text(codes: pd.Series) -> pd.Series:
    nom = naf.nomenclature()
    labels = dict(zip(nom.codes, nom.labels))
    return codes.map(lambda c: labels.get(c, "") if isinstance(c, str) else "")


def plain_match(company: dict, candidates: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    left = pd.DataFrame([company]).add_prefix("c_")
    pairs = left.merge(candidates, how="cross")
    la1, lo1 = np.radians(pairs["c_lat"].astype(float)), np.radians(pairs["c_lon"].astype(float))
    la2, lo2 = np.radians(pairs["lat"].astype(float)), np.radians(pairs["lon"].astype(float))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    pairs["distance_km"] = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    pairs = pairs[pairs["distance_km"] <= pairs["radius"]]
    text = pairs["c_text"].iloc[0] if len(pairs) else ""
    pairs["sector_sim"] = [fuzz.token_set_ratio(text, t) / 100 for t in pairs["text"]]
    pairs["score"] = 0.6 * pairs["sector_sim"] + 0.4 * np.exp(-pairs["distance_km"] / 30)
    return pairs.nlargest(top, "score")


def prepare(candidates: pd.DataFrame, default_radius: dict[str, float]) -> pd.DataFrame:
    """Candidate columns the plain approach needs: location, radius and a sector text."""
    radius = pd.to_numeric(candidates.get("radius_km"), errors="coerce")
    radius = radius.fillna(candidates["kind"].map(default_radius))
    text = naf_text(candidates["naf"]).where(candidates["naf"].notna(), candidates.get("sought_activity", ""))
    return pd.DataFrame({"candidate_id": candidates["candidate_id"], "lat": candidates["lat"].astype(float),
                         "lon": candidates["lon"].astype(float), "radius": radius, "text": text.fillna("")})
