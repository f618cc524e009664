"""`reprise evaluate`: a Markdown report with PNG plots comparing rankers on held-out companies.

The held-out companies are those the evaluated model's card records (it never trained on them);
every scorer ranks everything the engine considers for each of them. The report says, per model,
how many of them it may have been trained on (the promoted model trained on every company with
outcomes but its own held-out ones) and compares the models again on the companies none of them
was trained on; it explains `nan` metrics and negative importances, and its plots name which
model is new and which promoted. The report holds: metrics per model, permutation importance
per feature (drop in NDCG@10 when a feature's column is
shuffled across the held-out pairs), score distributions by option kind, and the companies where
the evaluated model's top 10 differs most from the current model's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from matcher.contract.outputs import refused, write_text
from matcher.errors import NothingToLearn
from matcher.learning.measures import METRICS, metrics_table, ranking_metrics
from matcher.learning.pairs import Pairs, best_grades, ranking_pairs
from matcher.learning.registry import Registry
from matcher.ranking.compare import FEATURES, trade_linked
from matcher.ranking.engine import Engine
from matcher.ranking.index import KINDS
from matcher.ranking.score import TransparentScorer
from matcher.store.records import company_rows

TOP = 10
AT_MOST = " (at most: those not among its own held-out companies)"
IMPORTANCE_OPTIONS = 200  # options per company for permutation importance


def sample_options(pairs: Pairs, *, per_company: int = 200, seed: int = 0) -> Pairs:
    """Every labelled option of each company, topped up with never-contacted ones drawn at random
    to ``per_company`` options: keeps permutation importance affordable on large considered sets."""
    key = np.where(pairs.labelled, -1.0, np.random.default_rng(seed).random(len(pairs)))
    siren = pairs.siren.astype(str)
    order = np.lexsort((key, siren))
    first = np.r_[True, siren[order][1:] != siren[order][:-1]]
    starts = np.flatnonzero(first)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    keep = np.zeros(len(pairs), dtype=bool)
    keep[order[(rank < per_company) | pairs.labelled[order]]] = True
    return pairs.subset(keep)


def permutation_importance(scorer: Any, pairs: Pairs, *, repeats: int = 3,
                           seed: int = 0) -> dict[str, tuple[float, float]]:
    """Feature -> (mean, std) drop in NDCG@10 when its column is shuffled across the pairs."""
    rng = np.random.default_rng(seed)
    linked = pairs.trade_link
    base = ranking_metrics(pairs.siren, pairs.grade, scorer.score_options(pairs.X, pairs.is_employees)[0],
                           linked)["ndcg@10"]
    out = {}
    for j, name in enumerate(FEATURES):
        drops = []
        for _ in range(repeats):
            X = pairs.X.copy()
            X[:, j] = X[rng.permutation(len(X)), j]
            shuffled = scorer.score_options(X, pairs.is_employees)[0]
            # the trade link moves with the shuffled column: it is read from the same features
            drops.append(base - ranking_metrics(pairs.siren, pairs.grade, shuffled,
                                                trade_linked(X, pairs.is_employees))["ndcg@10"])
        out[name] = (float(np.mean(drops)), float(np.std(drops)))
    return out


def disagreements(pairs: Pairs, a: np.ndarray, b: np.ndarray, *, top: int = TOP) -> list[dict[str, Any]]:
    """Per company: overlap of the two top-``top`` lists, each one's NDCG@10 and its top 3."""
    rows = []
    linked = pairs.trade_link
    for siren in np.unique(pairs.siren):
        at = np.flatnonzero(pairs.siren == siren)
        ta = at[np.lexsort((at, -a[at], ~linked[at]))][:top]
        tb = at[np.lexsort((at, -b[at], ~linked[at]))][:top]
        grade = pairs.grade[at]
        rows.append({
            "siren": str(siren), "overlap": len(set(ta) & set(tb)) / max(1, min(top, len(at))),
            "ndcg_a": ranking_metrics(pairs.siren[at], grade, a[at], linked[at])["ndcg@10"],
            "ndcg_b": ranking_metrics(pairs.siren[at], grade, b[at], linked[at])["ndcg@10"],
            "top_a": [f"{pairs.candidate_id[i]} ({pairs.grade[i]})" for i in ta[:3]],
            "top_b": [f"{pairs.candidate_id[i]} ({pairs.grade[i]})" for i in tb[:3]],
        })
    return sorted(rows, key=lambda r: (r["overlap"], r["siren"]))


def _plots(out: Path, metrics: dict, importance: dict, scores: dict[str, np.ndarray], kinds: np.ndarray,
           roles: dict[str, str]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(metrics)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ax.bar(np.arange(len(METRICS)) + i * width, [metrics[name][m] for m in METRICS], width,
               label=f"{name} ({roles[name]})")
    ax.set_xticks(np.arange(len(METRICS)) + width * (len(names) - 1) / 2, METRICS)
    ax.set_ylim(0, 1)
    ax.set_title("Held-out companies of the new model")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=100)
    plt.close(fig)

    order = sorted(importance, key=lambda f: importance[f][0])
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh(order, [importance[f][0] for f in order], xerr=[importance[f][1] for f in order])
    ax.set_xlabel("drop in NDCG@10 when shuffled (below 0: shuffling helped, see the report)")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(f"Permutation importance, {next(n for n, r in roles.items() if r.startswith('new'))} (new)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "permutation_importance.png", dpi=100)
    plt.close(fig)

    present = [k for k in range(len(KINDS)) if np.any(kinds == k)]
    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 4), squeeze=False, sharey=True)
    for ax, (name, s) in zip(axes[0], scores.items()):
        ax.boxplot([s[kinds == k] for k in present], showfliers=False)
        ax.set_xticks(range(1, len(present) + 1), [KINDS[k] for k in present], rotation=30, fontsize=8)
        ax.set_title(f"{name} ({roles[name]})", fontsize=9)
    axes[0][0].set_ylabel("score")
    fig.tight_layout()
    fig.savefig(out / "scores_by_kind.png", dpi=100)
    plt.close(fig)


def _fair_section(fair_metrics: dict, n_fair: int, n_heldout: int, current_id: str | None) -> list[str]:
    """The comparison on the companies no compared model was trained on."""
    if current_id is None:
        return ["No other learned model is compared: every figure above is on companies no model was trained on.", ""]
    head = [f"### On the companies no compared model was trained on ({n_fair} of {n_heldout})", ""]
    if not fair_metrics:
        return [*head, (f"None: every held-out company of the new model may have been in the training set of "
                        f"{current_id}. The table above favours {current_id}; retrain with the same `--seed` "
                        "to share the split."), ""]
    return [*head, (f"Held out by the new model and by {current_id} alike: the fair comparison. The table above "
                    f"also counts companies {current_id} may have trained on, which favours it."), "",
            metrics_table(fair_metrics, markdown=True), ""]


def report(db, registry: Registry, out_dir: str | Path, *, model_id: str | None = None,
           engine: Engine | None = None, repeats: int = 3) -> tuple[Path, dict[str, dict[str, float]]]:
    """Write ``report.md`` and its plots into ``out_dir``; returns its path and the metrics."""
    cards = registry.cards()
    if not cards:
        raise NothingToLearn(f"no trained model in {registry.root}; run `reprise train` first")
    card = registry.card(model_id) if model_id else cards[-1]
    new_id, current_id = card["id"], registry.promoted_id()
    heldout_sirens = card.get("training", {}).get("heldout_sirens") or []
    engine = engine or Engine.from_store(db)
    pairs = ranking_pairs(engine, company_rows(db, heldout_sirens), best_grades(db))
    if not len(pairs):
        raise NothingToLearn(f"none of the {len(heldout_sirens)} held-out companies of {new_id} has options "
                             "in this store")
    scorers: dict[str, Any] = {"transparent": TransparentScorer(), new_id: registry.load(new_id)}
    roles = {"transparent": "documented weights, trained on nothing", new_id: "new: evaluated"}
    # held-out companies of the new model that each scorer may have been trained on: a learned model
    # trains on every company with outcomes except its own held-out ones
    seen = {"transparent": 0, new_id: 0}
    fair = set(heldout_sirens)
    if current_id and current_id != new_id:
        scorers[current_id] = registry.load(current_id)
        roles[current_id] = "promoted: serving now"
        current_heldout = set(registry.card(current_id).get("training", {}).get("heldout_sirens") or [])
        seen[current_id] = len(set(heldout_sirens) - current_heldout)
        roles[current_id] += f", may have trained on {seen[current_id]} of these {len(heldout_sirens)} companies"
        fair &= current_heldout
    scores = {name: s.score_options(pairs.X, pairs.is_employees)[0] for name, s in scorers.items()}
    linked = pairs.trade_link
    metrics = {name: ranking_metrics(pairs.siren, pairs.grade, s, linked) for name, s in scores.items()}
    in_fair = np.isin(pairs.siren.astype(str), sorted(fair))
    fair_metrics = {name: ranking_metrics(pairs.siren[in_fair], pairs.grade[in_fair], s[in_fair], linked[in_fair])
                    for name, s in scores.items()} if in_fair.any() else {}
    importance = permutation_importance(scorers[new_id], sample_options(pairs, per_company=IMPORTANCE_OPTIONS),
                                        repeats=repeats)
    other = current_id if current_id and current_id != new_id else "transparent"
    diffs = disagreements(pairs, scores[new_id], scores[other])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        _plots(out, metrics, importance, scores, pairs.kind, roles)
    except OSError as exc:  # a full disk: the user's to fix, not a bug
        raise refused("--out", out, exc) from None
    names = {r["siren"]: r["name"] for r in company_rows(db, heldout_sirens)}
    negative = sorted(f for f, (m, _) in importance.items() if m < 0)
    lines = [
        f"# Ranker evaluation — {new_id}", "",
        (f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. New model (evaluated): {new_id}. Promoted model "
         f"(serving now): {current_id or 'none (the transparent scorer serves)'}."), "",
        (f"Held-out companies: the {len(heldout_sirens)} companies {new_id} was not trained on, "
         f"{len(pairs)} considered options; {pairs.stats.get('labelled_not_considered', 0)} recorded outcomes "
         "name options the engine does "
         "not consider (out of radius, in difficulty...) and cannot be ranked by any model. Grades: rejected 0 "
         "< contacted 1 < interested 2 < offer 3 < takeover 4, never contacted 0; relevant = interested or "
         "better. Options are ranked as the list shows them: those with a trade link first."), "",
        "## Metrics per model", "",
        "| model | role | of these held-out companies, trained on |", "|---|---|---|",
        *[f"| {name} | {roles[name]} | {seen[name]}{AT_MOST if name == current_id != new_id else ''} |"
          for name in scorers], "",
        metrics_table(metrics, markdown=True), "",
        *_fair_section(fair_metrics, len(fair), len(heldout_sirens), current_id if current_id != new_id else None),
        ("`companies` counts the held-out companies with at least one option graded interested or better: "
         "the others have no ideal ranking and are left out of every average. A metric shown as `nan` has no such "
         "company at all, so there is nothing to measure (not a zero)."), "",
        "![metrics](metrics.png)", "", f"## Permutation importance ({new_id}, new)", "",
        (f"On every labelled option and never-contacted ones drawn at random, up to {IMPORTANCE_OPTIONS} "
         f"options per held-out company; {repeats} shuffle(s) per feature. A drop near 0 means the model does "
         "not use the feature (or it never varies on these options). A negative drop means NDCG@10 went up "
         "when the feature was shuffled: on these held-out companies the model's use of it does not help "
         "(noise when within about one std of 0, else a pattern learnt on the training companies that does "
         "not hold here)."
         + (f" Negative here: {', '.join(negative)}." if negative else "")), "",
        "| feature | drop in NDCG@10 | std |", "|---|---|---|",
        *[f"| {f} | {m:.4f} | {s:.4f} |" for f, (m, s) in sorted(importance.items(), key=lambda kv: -kv[1][0])],
        "", "![permutation importance](permutation_importance.png)", "",
        "## Score distributions by option kind", "", "![scores by kind](scores_by_kind.png)", "",
        f"## Where {new_id} (new) disagrees most with {other} ({'promoted' if other == current_id else 'baseline'})",
        "",
        (f"Overlap = share of the top {TOP} in common. Top 3 shown as candidate (grade). NDCG@10 is `nan` "
         "for a company with no option graded interested or better."), "",
        f"| company | overlap | NDCG@10 new | NDCG@10 {other} | top 3 new | top 3 {other} |",
        "|---|---|---|---|---|---|",
        *[f"| {names.get(r['siren'], '')} ({r['siren']}) | {r['overlap']:.1f} | {r['ndcg_a']:.3f} | "
          f"{r['ndcg_b']:.3f} | {', '.join(r['top_a'])} | {', '.join(r['top_b'])} |" for r in diffs[:10]],
        "",
    ]
    path = out / "report.md"
    write_text(path, "\n".join(lines), option="--out")
    registry.record_evaluation({"model_id": new_id, "current_id": current_id, "report": str(path.resolve()),
                                "heldout_companies": len(heldout_sirens), "options": len(pairs), "metrics": metrics})
    return path, metrics
