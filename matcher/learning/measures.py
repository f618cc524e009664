"""Ranking quality on held-out companies: NDCG@k, MAP and recall@k over graded outcomes.

Each company is one ranked list. Relevance is the best recorded grade of a pair
(rejected 0 < contacted 1 < interested 2 < offer 3 < takeover 4; a never-contacted candidate
is 0). NDCG uses the exponential gain ``2**grade - 1``; MAP and recall count a pair as relevant
from ``interested`` up (``RELEVANT_GRADE``). Companies without any relevant pair have no ideal
ranking and are left out of every average (their count is reported). Ties in score keep the
input order, so a scorer gains nothing from ties. With ``linked`` the options are ranked as the
list shows them: those with a trade link first (``matcher.ranking.selection.select_top``), each
part by score.

Everything is vectorised over all pairs at once: one sort by (company, -score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

RELEVANT_GRADE = 2
METRICS = ("ndcg@5", "ndcg@10", "map", "recall@10")


def _ranks(groups: np.ndarray, keys: np.ndarray, first: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order by (group, rows in ``first`` before the others, -key, input position); 0-based rank
    of each sorted row in its group."""
    n = len(groups)
    ahead = np.zeros(n) if first is None else -np.asarray(first, dtype=np.float64)
    order = np.lexsort((np.arange(n), -keys, ahead, groups))
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if n else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, lengths)
    return order, rank, g


def _group_codes(groups: Sequence) -> tuple[np.ndarray, int]:
    uniq, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    return codes.astype(np.int64), len(uniq)


def _dcg(codes: np.ndarray, n_groups: int, gain: np.ndarray, keys: np.ndarray, k: int,
         first: np.ndarray | None = None) -> np.ndarray:
    order, rank, g = _ranks(codes, keys, first)
    w = np.where(rank < k, gain[order] / np.log2(rank + 2.0), 0.0)
    return np.bincount(g, weights=w, minlength=n_groups)


def ranking_metrics(groups: Sequence, grades: np.ndarray, scores: np.ndarray,
                    linked: np.ndarray | None = None) -> dict[str, float]:
    """NDCG@5, NDCG@10, MAP and recall@10 averaged over companies with a relevant pair.

    ``groups`` names the company of each pair, ``grades`` its relevance (0-4), ``scores`` the
    scorer's output, ``linked`` (optional) each option's trade link: linked options are ranked
    first, as in the list. Also returns ``companies``: how many lists were averaged.
    """
    grades = np.asarray(grades, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if not (len(groups) == len(grades) == len(scores)):
        raise ValueError(f"groups, grades and scores must have the same length; got "
                         f"{len(groups)}, {len(grades)}, {len(scores)}")
    codes, n_groups = _group_codes(groups)
    relevant = (grades >= RELEVANT_GRADE).astype(np.float64)
    n_rel = np.bincount(codes, weights=relevant, minlength=n_groups)
    scored = n_rel > 0
    out: dict[str, float] = {"companies": int(scored.sum())}
    if not scored.any():
        return {**{m: float("nan") for m in METRICS}, **out}
    gain = 2.0 ** grades - 1.0
    for k in (5, 10):
        ideal = _dcg(codes, n_groups, gain, grades, k)
        actual = _dcg(codes, n_groups, gain, scores, k, linked)
        out[f"ndcg@{k}"] = float(np.mean(actual[scored] / ideal[scored]))
    order, rank, g = _ranks(codes, scores, linked)
    rel_sorted = relevant[order]
    # hits so far within the group: cumulative sum minus the group's cumulative sum at its start
    cum = np.cumsum(rel_sorted)
    firsts = np.flatnonzero(rank == 0)
    hits = cum - np.repeat((cum - rel_sorted)[firsts], np.diff(np.r_[firsts, len(g)]))
    precision_at_hit = np.where(rel_sorted > 0, hits / (rank + 1.0), 0.0)
    ap = np.bincount(g, weights=precision_at_hit, minlength=n_groups)
    out["map"] = float(np.mean(ap[scored] / n_rel[scored]))
    top = np.bincount(g, weights=np.where(rank < 10, rel_sorted, 0.0), minlength=n_groups)
    out["recall@10"] = float(np.mean(top[scored] / n_rel[scored]))
    return {m: out[m] for m in (*METRICS, "companies")}


def metrics_table(rows: Mapping[str, Mapping[str, float]], *, markdown: bool = False) -> str:
    """A fixed-width (or Markdown) table: one row per model, one column per metric."""
    header = ["model", *METRICS, "companies"]
    body = [[name, *(f"{m.get(c, float('nan')):.4f}" for c in METRICS), str(m.get("companies", ""))]
            for name, m in rows.items()]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                              for i, (v, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), *(fmt(r) for r in body)])
