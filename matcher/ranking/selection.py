"""Which options make the list: the best ones, linked to the trade first, with a mix of kinds;
and the score one more option would need to change it (what the search strategies and the
best-first passes bound their candidates by)."""

from __future__ import annotations

import numpy as np

# A kind is viable enough to be kept in the list when its best option scores at least this
# share of the best option overall (and at least MIN_VIABLE).
MIX_SHARE = 0.6
MIN_VIABLE = 0.3


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first (ties: lower index first)."""
    n = len(scores)
    k = min(k, n)
    if n > k > 0:
        # argpartition picks any of the options tied at the k-th score: take the lowest indices
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        above = np.flatnonzero(scores > kth)
        order = np.concatenate([above, np.flatnonzero(scores == kth)[:k - len(above)]])
    else:
        order = np.arange(n) if k > 0 else np.zeros(0, dtype=np.int64)
    return order[np.lexsort((order, -scores[order]))]


def entry_thresholds(scores: np.ndarray, kinds: np.ndarray, top: int, n_kinds: int,
                     linked: np.ndarray | None = None, *, newcomer_linked: bool = True) -> np.ndarray | None:
    """Per kind, a score below which one more option of that kind leaves ``select_top`` unchanged
    (None when any such option could enter). ``linked``: the options' trade links (all linked
    when None); ``newcomer_linked``: whether the option added has one.

    A linked newcomer competes with the linked options only: below their k-th best score it stays
    out of their plain top k, so the kinds present there and the mix floor do not change. Of a
    kind present there, it then changes nothing. Of an absent kind, it matters only by becoming
    that kind's best option (above the current one) while reaching the mix floor. An unlinked
    newcomer only fills the places the linked options leave: none when they fill the list.
    """
    if linked is None or bool(np.all(linked)):
        return _mixed_thresholds(scores, kinds, top, n_kinds) if newcomer_linked else (
            None if len(scores) < top else np.full(n_kinds, np.inf))
    linked = np.asarray(linked, dtype=bool)
    if newcomer_linked:
        return _mixed_thresholds(scores[linked], kinds[linked], top, n_kinds)
    places = top - int(linked.sum())
    if places <= 0:
        return np.full(n_kinds, np.inf)
    others = scores[~linked]
    if len(others) < places:
        return None
    return np.full(n_kinds, float(others[top_k(others, places)[-1]]))


def _mixed_thresholds(scores: np.ndarray, kinds: np.ndarray, top: int, n_kinds: int) -> np.ndarray | None:
    if len(scores) < top or top <= 0:
        return None
    order = top_k(scores, top)
    kth = float(scores[order[-1]])
    floor = max(MIN_VIABLE, MIX_SHARE * float(scores[order[0]]))
    # a kind's best option matters only above the floor: the options below it are left out first
    above = np.flatnonzero(scores > floor)
    above_scores, above_kinds = scores[above], kinds[above]
    best_of_kind = np.full(n_kinds, -np.inf)
    for kind in np.flatnonzero(np.bincount(above_kinds, minlength=n_kinds)):  # a few kinds: faster than maximum.at
        best_of_kind[kind] = above_scores[above_kinds == kind].max()
    out = np.minimum(kth, np.maximum(floor, best_of_kind))
    out[np.unique(kinds[order])] = kth
    return out


def select_top(scores: np.ndarray, kinds: np.ndarray, top: int, linked: np.ndarray | None = None) -> np.ndarray:
    """Indices of the top options in list order: linked to the trade first, best first.

    ``linked`` (all True when None) marks the options with a trade link
    (:func:`matcher.ranking.compare.trade_linked`). The linked options are selected first, keeping
    a mix of kinds among them; options without a trade link only fill the places left, best
    first, after every linked one, so they never appear when enough linked options exist and the
    mix of kinds never pulls one of them ahead of a linked option.
    """
    if linked is None or bool(np.all(linked)):
        return _select_mixed(scores, kinds, top)
    linked = np.asarray(linked, dtype=bool)
    inside = np.flatnonzero(linked)
    chosen = inside[_select_mixed(scores[inside], kinds[inside], top)]
    places = top - len(chosen)
    if places > 0:
        outside = np.flatnonzero(~linked)
        chosen = np.concatenate([chosen, outside[top_k(scores[outside], places)]]).astype(np.int64)
    return chosen


def _select_mixed(scores: np.ndarray, kinds: np.ndarray, top: int) -> np.ndarray:
    """Indices of the top options, best first, keeping a mix of kinds when several are viable.

    Each kind whose best option is viable (≥ MIN_VIABLE and ≥ MIX_SHARE × the best score) gets
    at least one place, taken from the lowest-scored option of the most represented kind.
    """
    n = len(scores)
    if n == 0 or top <= 0:
        return np.zeros(0, dtype=np.int64)
    order = top_k(scores, top)
    chosen = order.tolist()
    chosen_kinds = kinds[order].tolist()
    best = float(scores[chosen[0]])
    floor = max(MIN_VIABLE, MIX_SHARE * best)
    present = set(chosen_kinds)
    absent = [kind for kind in np.flatnonzero(np.bincount(kinds)).tolist() if kind not in present]
    if not absent or len(chosen) < 2:
        return order
    for kind in absent:
        members = np.flatnonzero(kinds == kind)
        champion = int(members[np.argmax(scores[members])])
        if scores[champion] < floor:
            continue
        chosen_scores = scores[chosen].tolist()
        counts: dict = {}
        lowest: dict = {}
        for kd, sc in zip(chosen_kinds, chosen_scores):
            counts[kd] = counts.get(kd, 0) + 1
            lowest[kd] = min(lowest.get(kd, sc), sc)
        crowded = max(counts, key=lambda kd: (counts[kd], -lowest[kd]))
        if counts[crowded] < 2:
            continue
        victim = min((sc, -i, at) for at, (i, c, sc) in enumerate(zip(chosen, chosen_kinds, chosen_scores))
                     if c == crowded)[2]
        chosen[victim], chosen_kinds[victim] = champion, kind
    chosen_arr = np.asarray(chosen)
    return chosen_arr[np.lexsort((chosen_arr, -scores[chosen_arr]))]
