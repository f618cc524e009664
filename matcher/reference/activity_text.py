"""Registry activity texts as words: folding, stop words and legal boilerplate dropped, a crude
French singular, parts split on punctuation, and the qualifiers that fix the kind of activity
("fabrication de", "commerce de gros", "réparation de")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from matcher.reference.text import fold

# Grammatical words, then legal boilerplate that names no trade (BODACC "objet social" style).
_STOP = frozenset(
    ["a", "au", "aux", "avec", "c", "ce", "ces", "cet", "cette", "chez", "d", "dans", "de", "des", "du", "en", "et", "j", "l", "la", "le", "les", "leur", "leurs", "m", "n", "ou", "par", "pour", "qu", "que", "qui", "s", "sa", "sans", "se", "ses", "son", "sur", "t", "un", "une", "y"]
)
_BOILER = frozenset(
    ["toutes", "tous", "toute", "tout", "prestation", "prestations", "activite", "activites", "operation", "operations", "objet", "social", "sociale", "ets", "etablissement", "etablissements", "etc", "notamment", "ainsi", "generalement", "divers", "diverse", "diverses", "annexe", "annexes", "connexe", "connexes", "similaire", "similaires", "principale", "principalement", "accessoirement", "sarl", "sas", "sasu", "eurl", "snc", "selarl", "type", "genre", "nature"]
)
FUZZY_DROP = frozenset(["achat", "vente", "revente"])  # "l'achat, la vente": no trade
_TAIL = re.compile(  # everything after these words is the generic tail of an objet social
    r"\b(?:et )?(?:plus generalement|se rapportant|se rattachant|susceptibles? de|"
    r"directement ou indirectement|toutes operations)\b.*$"
)
_NO_ACTIVITY = re.compile(
    r"^(?:activite )?(?:non precisee?s?|non communiquee?s?|non renseignee?s?|non declaree?s?|"
    r"inconnue?s?|neant|sans activite|sans objet|aucune activite|aucune|nc|n c|nd|n d)$"
)
LABEL_NOT_A_TRADE = frozenset(  # label phrases that read as boilerplate once stop words go
    {("generale", "securite"), ("aide", "travail"), ("action", "hebergement"), ("siege", "social")}
)
# Words that fix the kind of activity of what follows them in a part of the text
# ("fabrication de jouets" is not toy retail): divisions where the named trade may fall.
_QUALIFIERS: dict[tuple[str, ...], frozenset[int]] = {
    ("fabrication",): frozenset(range(10, 34)), ("fabricant",): frozenset(range(10, 34)),
    ("commerce", "gro"): frozenset({45, 46}), ("grossiste",): frozenset({46}),
    ("commerce", "detail"): frozenset({45, 47}), ("reparation",): frozenset({33, 43, 45, 95}),
    ("culture",): frozenset({1}), ("elevage",): frozenset({1}),
    ("location",): frozenset({43, 49, 55, 68, 77}),
}
_QUALIFIER_STARTS = {words[0] for words in _QUALIFIERS}
_SEGMENT = re.compile(r"[,;:/()\[\]\.\n+&]+")
_TOKEN = re.compile(r"[a-z0-9]+")

Segments = tuple[tuple[str, ...], ...]


def _stem(token: str) -> str:
    """Crude French singular so that plural and singular forms meet."""
    if len(token) > 4 and token.endswith("eaux"):
        return token[:-1]
    if len(token) > 4 and token.endswith("aux"):
        return token[:-3] + "al"
    if len(token) > 3 and token[-1] in "sx" and not token.endswith("ss"):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    words = _TOKEN.findall(text.replace("'", " "))
    return [_stem(t) for t in words if t not in _STOP and t not in _BOILER]


def normalize_activity(text: str) -> Segments | None:
    """Comma-separated parts as stemmed content words; None when no real activity is stated."""
    folded = " ".join(fold(text or "").split())
    cut = _TAIL.sub("", folded).strip()
    if _TOKEN.search(cut):
        folded = cut
    bare = " ".join(_TOKEN.findall(folded))
    if not bare or _NO_ACTIVITY.match(bare):
        return None
    segments = tuple(seg for seg in (tuple(tokens(s)) for s in _SEGMENT.split(folded)) if seg)
    return segments or None


def qualifier(tokens: Sequence[str]) -> tuple[int, str, frozenset[int]] | None:
    """First qualifier in a run of words: (position, its first word, allowed divisions)."""
    for i, token in enumerate(tokens):
        if token in _QUALIFIER_STARTS:
            for words, divisions in _QUALIFIERS.items():
                if tuple(tokens[i : i + len(words)]) == words:
                    return i, words[0], divisions
    return None
