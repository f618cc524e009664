"""Free-text activity (as registry notices write it) -> NAF rév. 2 sub-classes.

``infer`` combines the statistical division model (:mod:`matcher.reference.sector_model`) with
the lexicon's reading (``lexicon_infer`` alone, the inferer as it was before the model):

Batched over distinct texts: (1) words unknown to the lexicon and the NAF labels are corrected
in one ``process.cdist`` call (``maconerie`` -> ``maconnerie``); (2) exact phrase hits of the
trade lexicon (``reprise_data/trade_lexicon.csv``, plus every NAF label written in full), longest
phrase first, ``weight`` breaking ties, each trade named giving its codes, the first named first
unless a later one is much more specific; (3) the comma-separated parts no term covers go through
one ``process.cdist`` call against the 732 NAF labels.

Scores are in 0..1. A lexicon hit scores ``weight * DECAY**k`` (``k`` = rank of the trade in the
text, times ``TYPO_FACTOR`` when a word was corrected); a label match scores
``similarity * LABEL_FACTOR``, so it never outranks a clean lexicon hit.
**Confidence threshold:** a code is proposed only when its score reaches ``MIN_SCORE`` (0.4);
label matches count only from ``LABEL_CUTOFF`` (token-set similarity, 0..100) and typo
corrections from ``TYPO_CUTOFF``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate

import numpy as np
from rapidfuzz import fuzz, process

from matcher.reference.activity_text import (
    FUZZY_DROP,
    LABEL_NOT_A_TRADE,
    Segments,
    normalize_activity,
    qualifier,
    tokens,
)
from matcher.reference.naf import nomenclature
from matcher.reference.sector_model import DivisionModel, default_model, model_text, softmax
from matcher.reference.text import fold
from matcher.reference.trade_lexicon import lexicon_rows as lexicon_rows_packaged
from matcher.reference.trade_lexicon import phrase_codes

BLEND = 1.0  # weight of the lexicon's reading next to the model's probability
MIN_PROBA = 0.1  # calibrated: below it, the model's first division is right less than half the time
MORE_PROBA = 0.001  # a second or third division, for top-3 use
MIN_SCORE = 0.4
DECAY = 0.85
TYPO_CUTOFF = 85.0
TYPO_FACTOR = 0.9
LABEL_CUTOFF = 88.0
LABEL_FACTOR = 0.6
LABEL_PHRASE_WEIGHT = 0.9
RARE_LABEL_DF = 8  # a word in at most this many labels singles them out
QUALIFIER_PENALTY = 0.6
STRONG_WEIGHT = 0.6
_CHUNK = 4096  # rows per cdist call, bounds the score matrix's memory

def _ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: -kv[1])


class SectorInferer:
    """Infers NAF sub-classes from activity texts. Build once (about 0.1 s), reuse."""

    def __init__(self, lexicon_rows: Sequence[dict[str, str]] | None = None, *,
                 model: DivisionModel | None = None) -> None:
        nom = nomenclature()
        grouped = phrase_codes(lexicon_rows_packaged() if lexicon_rows is None else lexicon_rows)
        self.lexicon_ = {k: tuple(_ranked(c)) for k, c in grouped.items()}
        for code, label in zip(nom.codes, nom.labels, strict=True):  # a full label is a phrase
            key = tuple(tokens(fold(label)))
            if len(key) >= 2 and key[0] != "autre" and key not in LABEL_NOT_A_TRADE:
                self.lexicon_.setdefault(key, ((code, LABEL_PHRASE_WEIGHT),))
        self.longest_: dict[str, int] = {}  # first word -> longest phrase starting with it
        for key in self.lexicon_:
            self.longest_[key[0]] = max(len(key), self.longest_.get(key[0], 0))
        self.codes_ = nom.codes
        self.divisions_ = np.asarray(nom.divisions)
        self.labels_ = [
            " ".join(t for t in tokens(fold(label)) if t not in FUZZY_DROP)
            for label in nom.labels
        ]
        holders: dict[str, list[int]] = {}
        for j, label in enumerate(self.labels_):
            for t in set(label.split()):
                holders.setdefault(t, []).append(j)
        self.rare_label_words_ = {  # word -> mask of the few labels holding it
            t: np.isin(np.arange(len(self.labels_)), js)
            for t, js in holders.items() if len(js) <= RARE_LABEL_DF
        }
        self.vocabulary_ = sorted({t for k in self.lexicon_ for t in k} | set(holders))
        self.known_ = frozenset(self.vocabulary_)
        self.division_rows_ = {int(d): np.flatnonzero(self.divisions_ == d) for d in np.unique(self.divisions_)}
        self.model_ = model
        self.label_matrix_ = None

    def _corrections(self, words: list[str]) -> dict[str, str]:
        """Closest vocabulary word for each unknown word long enough to be a typo."""
        unknown = [w for w in words if len(w) >= 5 and w not in self.known_ and not w.isdigit()]
        fixes: dict[str, str] = {}
        for lo in range(0, len(unknown), _CHUNK):
            chunk = unknown[lo : lo + _CHUNK]
            sims = process.cdist(
                chunk, self.vocabulary_, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF,
                dtype=np.uint8, workers=-1,
            )
            for w, j, s in zip(chunk, sims.argmax(axis=1), sims.max(axis=1), strict=True):
                if s:
                    fixes[w] = self.vocabulary_[j]
        return fixes

    def _lexicon_hits(self, segments: Segments, fixed: set[int]):
        """Hits as (position, codes), longest then heaviest phrase first, without overlap; and
        the parts left to label matching (no hit, or only hits a qualifier rules out)."""
        flat = [t for seg in segments for t in seg]
        seg_of = [i for i, seg in enumerate(segments) for _ in seg]
        seg_start = list(accumulate((len(s) for s in segments), initial=0))  # plain lists: tiny arrays
        found = []
        for start, token in enumerate(flat):
            for n in range(min(self.longest_.get(token, 0), len(flat) - start), 0, -1):
                codes = self.lexicon_.get(tuple(flat[start : start + n]))
                if codes:
                    found.append((start, n, codes))
        taken = [False] * len(flat)
        quals = [qualifier(seg) for seg in segments]
        hits, covered, left = [], set(), set()
        for start, n, codes in sorted(found, key=lambda h: (-h[1], -h[2][0][1], h[0])):
            if any(taken[start : start + n]):
                continue
            taken[start : start + n] = [True] * n
            seg, qual = seg_of[start], quals[seg_of[start]]
            if codes[0][1] >= STRONG_WEIGHT:  # a generic word alone leaves room for a label
                covered.add(seg)
            factor = TYPO_FACTOR if fixed and fixed.intersection(range(start, start + n)) else 1.0
            if qual and start > seg_start[seg] + qual[0] and qual[1] not in flat[start : start + n]:
                in_scope = [int(c[:2]) in qual[2] for c, _ in codes]
                if not any(in_scope):
                    left.add(seg)
                scale = [factor * (1.0 if ok else QUALIFIER_PENALTY) for ok in in_scope]
                hits.append((start, [(c, w * f) for (c, w), f in zip(codes, scale, strict=True)]))
            elif factor != 1.0:
                hits.append((start, [(c, w * factor) for c, w in codes]))
            else:  # the common case: the phrase's codes as they are (a shared tuple, never changed)
                hits.append((start, codes))
        left |= set(range(len(segments))) - covered
        return hits, sorted(left)

    def _label_matches(self, queries: list[str]) -> list[list[tuple[str, float]]]:
        """Up to three NAF labels per query. token_set rewards a query contained in a label,
        token_sort breaks its ties towards the closest label. A label qualifies only when it holds
        a query word that singles out a few labels ("commerce de detail" is in forty)."""
        out: list[list[tuple[str, float]]] = []
        for lo in range(0, len(queries), _CHUNK):
            chunk = [
                " ".join(w for w in q.split() if w not in FUZZY_DROP)
                for q in queries[lo : lo + _CHUNK]
            ]
            sims = process.cdist(
                chunk, self.labels_, scorer=fuzz.token_set_ratio, score_cutoff=LABEL_CUTOFF,
                dtype=np.float32, workers=-1,
            )
            sims += process.cdist(
                chunk, self.labels_, scorer=fuzz.token_sort_ratio, dtype=np.float32, workers=-1
            ) * (sims > 0) / 1000
            for row, query in enumerate(chunk):
                words = query.split()
                holding = [self.rare_label_words_[w] for w in words if w in self.rare_label_words_]
                allowed = np.logical_or.reduce([np.zeros(sims.shape[1], bool), *holding])
                if qual := qualifier(words):
                    allowed &= np.isin(self.divisions_, list(qual[2]))
                sims[row, ~allowed] = 0
                best = [j for j in np.argsort(-sims[row])[:3] if sims[row, j] > 0]
                out.append([
                    (self.codes_[j], min(float(sims[row, j]), 100.0) / 100 * LABEL_FACTOR)
                    for j in best
                ])
        return out

    @property
    def model(self) -> DivisionModel:
        """The statistical division model (built at first use, shared by the process)."""
        if self.model_ is None:
            self.model_ = default_model()
        return self.model_

    def _label_matrix(self):
        if self.label_matrix_ is None:
            self.label_matrix_ = self.model.transform([model_text(t) for t in nomenclature().labels]).T.tocsr()
        return self.label_matrix_

    def infer(self, texts: Sequence[str], *, top: int = 3) -> list[list[tuple[str, float]]]:
        """Up to ``top`` (code, score) per text, best first; [] when nothing is confident.

        The division comes from the statistical model's calibrated probabilities, raised by the
        lexicon's own reading (``BLEND`` × its score, then scaled back to 0..1); within a
        division, the lexicon's code, else the sub-class whose label is nearest the text. The
        first division is proposed only from ``MIN_PROBA``, the others from ``MORE_PROBA``.
        Texts with no activity ("non précisée", "sans activité") get no code."""
        raw = ["" if t is None else str(t) for t in texts]
        norm, readings = self._read(raw, top=top, labels=False)
        distinct = list(readings)
        if not distinct:
            return [[] for _ in raw]
        model = self.model
        X = model.transform([" ".join(w for seg in readings[s][0] for w in seg) for s in distinct])
        proba = np.zeros((len(distinct), 100), dtype=np.float32)
        proba[:, model.divisions_] = softmax(model.decision(X))
        lexicon = self._lexicon_scores([readings[s][1] for s in distinct])
        proba += BLEND * lexicon
        proba /= 1.0 + BLEND
        order = np.argsort(-proba, axis=1)[:, :top]
        best = np.take_along_axis(proba, order, axis=1)
        keep = best >= MORE_PROBA
        keep[:, 0] = best[:, 0] >= MIN_PROBA
        keep = np.logical_and.accumulate(keep, axis=1)
        lex = lexicon > 0
        need = np.flatnonzero((keep & ~np.take_along_axis(lex, order, axis=1)).any(axis=1)).tolist()
        sims = (X[need] @ self._label_matrix()).toarray() if need else None
        sim_row = {k: r for r, k in enumerate(need)}
        result: dict[Segments | None, list[tuple[str, float]]] = {None: []}
        for k, segs in enumerate(distinct):
            picked: list[tuple[str, float]] = []
            for j in range(top):
                if not keep[k, j] or len(picked) >= top:
                    break
                d = int(order[k, j])
                named = [(c, s) for c, s in readings[segs][1] if int(c[:2]) == d]
                if named:  # the lexicon's codes of that division, each with its own reading
                    lead = named[0][1]
                    picked += [(c, round(float(best[k, j]) - BLEND * (lead - s) / (1.0 + BLEND), 3))
                               for c, s in named]
                else:
                    rows = self.division_rows_[d]
                    picked.append((self.codes_[int(rows[np.argmax(sims[sim_row[k], rows])])],
                                   round(float(best[k, j]), 3)))
            result[segs] = picked[:top]
        return [list(result[norm[t]]) for t in raw]

    def _lexicon_scores(self, readings: list[list[tuple[str, float]]]) -> np.ndarray:
        """(n, 100): per division, the lexicon's best score for it in each reading."""
        out = np.zeros((len(readings), 100), dtype=np.float32)
        for k, codes in enumerate(readings):
            for code, score in codes:
                d = int(code[:2])
                out[k, d] = max(out[k, d], score)
        return out

    def lexicon_infer(self, texts: Sequence[str], *, top: int = 3) -> list[list[tuple[str, float]]]:
        """The trade lexicon and RapidFuzz label matching alone, as Reprise read texts before the
        statistical model (kept for comparison: ``bench/sector_accuracy.py``)."""
        raw = ["" if t is None else str(t) for t in texts]
        norm, readings = self._read(raw, top=top, labels=True)
        return [list(readings[norm[t]][1]) if norm[t] is not None else [] for t in raw]

    def _read(self, raw: list[str], *, top: int, labels: bool):
        """Per text its segments (None: no activity); per distinct segments, the typo-corrected
        segments and the lexicon's reading (with the label matching of the parts no term
        covers when ``labels``)."""
        norm = {t: normalize_activity(t) for t in dict.fromkeys(raw)}
        distinct = [s for s in dict.fromkeys(norm.values()) if s is not None]
        fixes = self._corrections(list({w for segs in distinct for seg in segs for w in seg}))
        pending = []
        for segs in distinct:
            fixed_segs = tuple(tuple(fixes.get(w, w) for w in seg) for seg in segs)
            flat = [w for seg in segs for w in seg]
            fixed = {i for i, w in enumerate(flat) if w in fixes}
            pending.append((segs, fixed_segs, *self._lexicon_hits(fixed_segs, fixed)))
        queries = list(dict.fromkeys(" ".join(p[1][i]) for p in pending for i in p[3])) if labels else []
        matched = dict(zip(queries, self._label_matches(queries), strict=True))
        readings: dict[Segments, tuple[Segments, list[tuple[str, float]]]] = {}
        for segs, fixed_segs, hits, left in pending:
            seg_start = list(accumulate((len(s) for s in fixed_segs), initial=0))
            named = hits + [(int(seg_start[i]), matched.get(" ".join(fixed_segs[i]), [])) for i in left]
            scores: dict[str, float] = {}
            rank = 0
            for _, codes in sorted(named, key=lambda x: x[0]):
                if codes:
                    for code, score in codes:  # later trades weigh less: the first is the main
                        s = round(score * DECAY**rank, 3)
                        if s >= MIN_SCORE and s > scores.get(code, 0.0):
                            scores[code] = s
                    rank += 1
            readings[segs] = (fixed_segs, _ranked(scores)[:top])
        return norm, readings

    def infer_one(self, text: str) -> list[tuple[str, float]]:
        """:meth:`infer` for a single text."""
        return self.infer([text])[0]


@lru_cache(maxsize=1)
def default_inferer() -> SectorInferer:
    """The inferer built on the packaged trade lexicon, once per process."""
    return SectorInferer()
