"""A statistical text model of NAF divisions, for wording no lexicon foresaw.

Character n-grams (2 to 5, within words: robust to typos, plurals and inflections) and word
unigrams and bigrams, TF-IDF weighted, feed a linear SVM (``LinearSVC``) that scores the NAF
divisions. It learns from what generalises rather than from a longer word list:

- the nomenclature's own structure: every label of every level (sub-class, class, group,
  division: "Commerce de gros …", "Édition de journaux", "Réparation d'ordinateurs …") named
  with its division;
- the trade lexicon (``reprise_data/trade_lexicon.csv``), each term with its code's division;
- real registry wording, hand-labelled (``reprise_data/activity_examples.csv``: the development
  half of a BODACC A issue's activity texts, with their division), weighted ``EXAMPLE_WEIGHT``.

Scores are turned into probabilities by a softmax with temperature ``TEMPERATURE`` (calibrated
on the development texts by cross-validation, so that "0.6" is right about 60% of the time).

Built deterministically (sorted inputs, a fixed ``random_state``) in about 2 s at first use and
kept for the process (``default_model``): no pickled artefact is shipped or loaded, so there is
no binary to keep in step with its inputs and nothing to unpickle.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from itertools import chain, pairwise

import numpy as np
from scipy import sparse

from matcher.reference.activity_text import tokens
from matcher.reference.naf import nomenclature
from matcher.reference.text import fold
from matcher.reference.trade_lexicon import lexicon_rows

C = 0.3
TEMPERATURE = 8.0
EXAMPLE_WEIGHT = 3.0


def model_text(text: str) -> str:
    """What the model reads: folded, stemmed content words (as the lexicon matches them)."""
    return " ".join(tokens(fold(text or "")))


def training_corpus(lexicon_rows: Sequence[dict[str, str]], examples: Sequence[tuple[str, int]] = ()
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(texts, divisions, weights): the NAF labels of every level, the lexicon, the examples."""
    nom = nomenclature()
    rows: list[tuple[str, int, float]] = [(label, int(code[:2]), 1.0) for code, label in zip(nom.codes, nom.labels)]
    rows += [(label, int(code[:2]), 1.0) for code, label in sorted(nom.level_labels.items()) if code[0].isdigit()]
    rows += [(r["term"], int(r["naf"][:2]), 1.0) for r in lexicon_rows]
    rows += [(text, int(div), EXAMPLE_WEIGHT) for text, div in examples]
    texts = [model_text(t) for t, _, _ in rows]
    keep = [i for i, t in enumerate(texts) if t]
    return ([texts[i] for i in keep], np.array([rows[i][1] for i in keep], dtype=np.int16),
            np.array([rows[i][2] for i in keep]))


class DivisionModel:
    """Probabilities of the NAF divisions for activity texts (see the module's docstring)."""

    def __init__(self, texts: Sequence[str], divisions: np.ndarray, weights: np.ndarray | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union
        from sklearn.svm import LinearSVC

        self.vectorizer_ = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32),
        )
        X = self.vectorizer_.fit_transform(list(texts))
        # dual: what "auto" picks with more n-grams than texts (scikit-learn >= 1.5), said for older ones
        self.svm_ = LinearSVC(C=C, dual=True, random_state=0).fit(X, divisions, sample_weight=weights)
        self.divisions_ = self.svm_.classes_.astype(np.int16)
        self.coef_ = np.ascontiguousarray(self.svm_.coef_.T, dtype=np.float32)
        self.intercept_ = self.svm_.intercept_.astype(np.float32)
        self._char, self._word = (t for _, t in self.vectorizer_.transformer_list)
        self._char_analyzer = self._char.build_analyzer()
        self._word_analyzer = self._word.build_analyzer()
        self._grams: dict[str, list[int]] = {}  # word -> its character n-gram columns

    def _word_grams(self, word: str) -> list[int]:
        cols = self._grams.get(word)
        if cols is None:
            vocab = self._char.vocabulary_
            cols = self._grams[word] = [vocab[g] for g in self._char_analyzer(word) if g in vocab]
        return cols

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of texts already put through :func:`model_text`: the fitted vectorizers'
        output (character part, then word part, each L2-normalised). Character n-grams never
        cross a word (``char_wb``), so a text's counts are the sum of its words' and each distinct
        word is analysed once; the weights are computed with numpy on the counts, without the
        per-call validation and sparse products of scikit-learn's path (a query infers one
        text: that overhead was most of its cost)."""
        grams = self._word_grams
        vocab = self._word.vocabulary_
        char = self._tfidf(self._char.idf_, [list(chain.from_iterable(map(grams, t.split()))) for t in texts])
        word = self._tfidf(self._word.idf_, [[vocab[g] for g in self._words_and_pairs(t) if g in vocab]
                                             for t in texts])
        return sparse.hstack([char, word], format="csr", dtype=np.float32)

    @staticmethod
    def _words_and_pairs(text: str) -> list[str]:
        """The word analyzer's output on a :func:`model_text` (words of 2+ letters, then pairs)."""
        words = [w for w in text.split() if len(w) > 1]
        return words + [f"{a} {b}" for a, b in pairwise(words)]

    @staticmethod
    def _tfidf(idf: np.ndarray, rows: list[list[int]]) -> sparse.csr_matrix:
        n = len(rows)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        cols = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(indptr[-1]))
        X = sparse.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(n, len(idf)))
        X.sum_duplicates()  # counts, columns sorted within each row
        data = (np.log(X.data) + np.float32(1.0)) * idf[X.indices].astype(np.float32)  # sublinear tf × idf
        row = np.repeat(np.arange(n), np.diff(X.indptr))
        norms = np.sqrt(np.bincount(row, weights=data * data, minlength=n)).astype(np.float32)
        X.data = data / norms[row]
        return X

    def decision(self, X: sparse.csr_matrix) -> np.ndarray:
        """(n, len(divisions_)) SVM scores of TF-IDF rows."""
        return np.asarray(X @ self.coef_) + self.intercept_

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(divisions_)) probabilities; texts already put through :func:`model_text`."""
        if not len(texts):
            return np.zeros((0, len(self.divisions_)), dtype=np.float32)
        return softmax(self.decision(self.transform(texts)))


def softmax(z: np.ndarray) -> np.ndarray:
    """Calibrated probabilities from SVM scores (temperature ``TEMPERATURE``)."""
    z = TEMPERATURE * (z - z.max(axis=1, keepdims=True))
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def shipped_examples() -> list[tuple[str, int]]:
    """The hand-labelled registry texts shipped with Reprise, as (text, division)."""
    with (files("reprise_data") / "activity_examples.csv").open(encoding="utf-8", newline="") as fh:
        return [(r["text"], int(r["division"])) for r in csv.DictReader(fh)]


@lru_cache(maxsize=1)
def default_model() -> DivisionModel:
    """The model on the shipped lexicon, nomenclature and examples, built once per process."""
    return DivisionModel(*training_corpus(lexicon_rows(), shipped_examples()))
