"""What a BODACC judgment says: its category (contract §4), procedure, dates and offer deadline.

Reads the layouts of the open-data dataset ``annonces-commerciales`` (API response
``{"results": [...]}``, JSON array, JSON Lines, the ``;`` CSV export) through
:func:`matcher.contract.files.read_records`. Nested fields (``jugement``, ``listepersonnes``,
``listeetablissements``) may be JSON-encoded strings or objects; ``personne`` may be one object or
a list; ``activite`` may be a list; a person may have several addresses. Dates are ISO or French
text (``21 décembre 2007``, ``1er mars 2008``, with non-breaking spaces).

A signal's category comes from ``jugement.nature`` (accents and case folded), the first matching
rule in :data:`NATURE_RULES` winning; ``famille`` is the fallback when the nature says nothing. A
catch-all judgment (``Autre jugement et ordonnance``, or a bare ``Jugement``) is classified from the
start of its ``complementJugement`` by :data:`DECISION_RULES` when that text says what was decided
(the other ``Autre …`` natures too, falling back on the nature), else it is ``other``. Natures mapped (each row is checked by the tests against :func:`classify`):

| famille | nature | category |
|---|---|---|
| Jugement d'ouverture | Jugement d'ouverture d'une procédure de sauvegarde | opening_safeguard |
| Jugement d'ouverture | Jugement d'ouverture d'une procédure de sauvegarde accélérée | opening_safeguard |
| Jugement d'ouverture | Jugement d'ouverture d'une procédure de sauvegarde financière accélérée | opening_safeguard |
| Jugement d'ouverture | Jugement d'extension d'une procédure de sauvegarde | opening_safeguard |
| Jugement d'ouverture | Jugement d'ouverture d'une procédure de redressement judiciaire | opening_receivership |
| Jugement d'ouverture | Jugement d'ouverture d'une procédure de traitement de sortie de crise | opening_receivership |
| Jugement d'ouverture | Jugement d'extension d'une procédure de redressement judiciaire | opening_receivership |
| Jugement prononçant | Jugement de conversion en redressement judiciaire de la procédure de sauvegarde | opening_receivership |
| Jugement prononçant | Jugement prononçant la résolution du plan de sauvegarde et le redressement judiciaire | opening_receivership |
| Jugement prononçant | Jugement prononçant la résolution du plan de traitement de sortie de crise et le redressement judiciaire | opening_receivership |
| Jugement d'ouverture | Jugement d'ouverture de liquidation judiciaire | opening_liquidation |
| Jugement d'ouverture | Jugement d'ouverture d'une procédure de liquidation judiciaire simplifiée | opening_liquidation |
| Jugement d'ouverture | Jugement d'extension de liquidation judiciaire | opening_liquidation |
| Jugement prononçant | Jugement prononçant la liquidation judiciaire | opening_liquidation |
| Jugement prononçant | Jugement de conversion en liquidation judiciaire | opening_liquidation |
| Jugement prononçant | Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde financière accélérée | opening_liquidation |
| Extrait de jugement | Jugement prononçant la résolution du plan de redressement et la liquidation judiciaire | opening_liquidation |
| Jugement prononçant | Jugement prononçant la résolution du plan de cession et la liquidation judiciaire | opening_liquidation |
| Jugement prononçant | Jugement de reprise de la procédure de liquidation judiciaire | opening_liquidation |
| Jugement d'ouverture | Jugement d'ouverture de la procédure de rétablissement professionnel | other |
| Extrait de jugement | Jugement de plan de redressement | plan |
| Extrait de jugement | Jugement arrêtant le plan de sauvegarde | plan |
| Extrait de jugement | Jugement arrêtant le plan de sauvegarde financière accélérée | plan |
| Extrait de jugement | Jugement de plan de traitement de sortie de crise | plan |
| Extrait de jugement | Jugement modifiant le plan de redressement | plan |
| Extrait de jugement | Jugement modifiant le plan de continuation | plan |
| Extrait de jugement | Jugement arrêtant le plan de cession | sale_plan |
| Extrait de jugement | Jugement arrêtant un plan de cession | sale_plan |
| Extrait de jugement | Jugement modifiant le plan de cession | sale_plan |
| Jugement de clôture | Jugement de clôture pour insuffisance d'actif | closure |
| Jugement de clôture | Jugement de clôture pour insuffisance d'actif et autorisant la reprise des poursuites individuelles | closure |
| Jugement de clôture | Jugement de clôture pour extinction du passif | closure |
| Jugement de clôture | Jugement de clôture de la procédure de sauvegarde | closure |
| Jugement de clôture | Jugement mettant fin à la procédure de redressement judiciaire | closure |
| Jugement de clôture | Jugement mettant fin à la procédure de sauvegarde financière accélérée | closure |
| Jugement de clôture | Autre jugement de clôture | closure |
| Avis de dépôt | Dépôt de l'état des créances | claims |
| Avis de dépôt | Dépôt de l'état des créances Loi de 1985 | claims |
| Avis de dépôt | Dépôt de l'état des créances et du projet de répartition | claims |
| Avis de dépôt | Dépôt de l'état de collocation | claims |
| Avis de dépôt | Liste des créances nées après le jugement d'ouverture d'une procédure de redressement judiciaire | claims |
| Avis de dépôt | Dépôt du projet de répartition | claims |
| Avis de dépôt | Autre avis de dépôt | claims |
| Extrait de jugement | Jugement accordant un délai pour déposer la liste des créances | claims |
| Extrait de jugement | Jugement d'interdiction de gérer | sanction |
| Extrait de jugement | Jugement d'interdiction de gérer Loi de 1985 | sanction |
| Extrait de jugement | Jugement de faillite personnelle | sanction |
| Extrait de jugement | Jugement prononçant la résolution du plan de redressement | other |
| Extrait de jugement | Jugement prononçant la prolongation de la période d'observation | other |
| Extrait de jugement | Jugement de désignation des organes de la procédure | other |
| Extrait de jugement | Jugement modifiant la date de cessation des paiements | other |
| Arrêt de la Cour d'Appel | Arrêt de la cour d'appel infirmant une décision soumise à publicité | other |
| Arrêt de la Cour d'Appel | Autre arrêt de la Cour d'Appel | other |
| Extrait de jugement | Autre jugement et ordonnance | from complementJugement, else other |
| Jugement prononçant | Autre jugement prononçant | from complementJugement, else other |
| Jugement d'ouverture | Autre jugement d'ouverture | from complementJugement, else other |

``procedure`` follows the contract: ``sauvegarde``/``redressement``/``liquidation`` for openings,
``none`` for closures, empty (unchanged) otherwise; ``procedure_hint`` is the procedure the nature
names, used only to create a company first seen through a non-opening signal.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from matcher.reference.text import fold

CATEGORIES = ("opening_safeguard", "opening_receivership", "opening_liquidation", "plan", "sale_plan",
              "closure", "claims", "sanction", "other")
CATEGORY_PROCEDURE = {"opening_safeguard": "sauvegarde", "opening_receivership": "redressement",
                      "opening_liquidation": "liquidation", "closure": "none"}
ACTIONABLE = frozenset({"opening_safeguard", "opening_receivership", "opening_liquidation"})
CATCH_ALL = re.compile(r"^(autre (jugement|ordonnance)\b.*|jugement|ordonnance|)$")

_R = r"\W{0,3}"  # tolerate punctuation between words
NATURE_RULES: tuple[tuple[str, str], ...] = (
    (r"creances|repartition|releve de forclusion|collocation|\bdepot\b", "claims"),
    (r"retablissement professionnel", "other"),
    (r"resolution du plan.*liquidation|liquidation.*resolution du plan", "opening_liquidation"),
    (r"resolution du plan de (sauvegarde|traitement).*redressement", "opening_receivership"),
    (r"resolution du plan", "other"),
    (r"conver\w*.*liquidation|reprise de (la )?(procedure de )?liquidation", "opening_liquidation"),
    (r"conver\w*.*redressement", "opening_receivership"),
    (r"(ouverture|extension).*sauvegarde", "opening_safeguard"),
    (r"(ouverture|extension|prononcant|ouvrant).*(redressement|sortie de crise)", "opening_receivership"),
    (r"(ouverture|extension|prononcant|ouvrant).*liquidation", "opening_liquidation"),
    (r"cloture|mettant fin|extinction du passif|insuffisance d.actif", "closure"),
    (r"plan de cession|\bcession\b", "sale_plan"),
    (r"periode d.observation|prorog|prolong", "other"),
    (r"\bplan\b", "plan"),
    (r"interdiction|faillite personnelle", "sanction"),
    (r"appel|annulation|infirm|retractation|rapport", "other"),
)
FAMILLE_RULES: tuple[tuple[str, str], ...] = (
    (r"avis de depot", "claims"),
    (r"cloture", "closure"),
)
# Decisions stated at the start of a catch-all judgment's text ("Arrête un plan de sauvegarde - …").
DECISION_RULES: tuple[tuple[str, str], ...] = (
    (r"^\W*(jugement )?(rejet|deboute|dit n.y avoir lieu|declare irrecevable|surseoit|sursis|renvo)", "other"),
    (r"(arret|adopt|homolog|ordonn)\w*" + _R + r"(le |un |du )?plan de cession|ordonn\w* la cession",
     "sale_plan"),
    (r"resolution du plan.{0,80}liquidation", "opening_liquidation"),
    (r"resolution du plan.{0,80}redressement", "opening_receivership"),
    (r"(arret|adopt|homolog|modifi)\w*" + _R + r"(le |un |du |les? modalites du )?plan\b", "plan"),
    (r"(prononc|ouvr|ouverture|conver)\w*.{0,60}liquidation judiciaire", "opening_liquidation"),
    (r"(prononc|ouvr|ouverture|conver)\w*.{0,60}redressement judiciaire", "opening_receivership"),
    (r"(ouvr|ouverture)\w*.{0,60}sauvegarde", "opening_safeguard"),
    (r"(prononc\w* la )?cloture|extinction du passif|insuffisance d.actif", "closure"),
    (r"interdiction de gerer|faillite personnelle", "sanction"),
)
DECISION_SPAN = 300  # characters of complementJugement read for the decision
_PROCEDURE_WORDS = (("liquidation", "liquidation"), ("redressement", "redressement"), ("sauvegarde", "sauvegarde"))

MONTHS = {"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
          "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12}
_DATE_FR = re.compile(r"\b(\d{1,2})(?:er)?\s+(" + "|".join(MONTHS) + r")\s+(\d{4})\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")
_DATE_NUM = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_ANY_DATE = f"(?:{_DATE_FR.pattern}|{_DATE_ISO.pattern}|{_DATE_NUM.pattern})"
_OFFER = re.compile(r"offres?\b[^.]{0,160}?(" + _ANY_DATE + ")")

@lru_cache(maxsize=4096)
def _fold_label(text: Any) -> str:
    """:func:`fold` for the few distinct short labels (nature, famille), cached."""
    return fold(text)


def parse_date(text: Any) -> str | None:
    """ISO date from ``2026-04-20``, ``20/04/2026``, ``21 décembre 2007`` or ``1er mars 2008``."""
    folded = fold(text)
    for pattern, order in ((_DATE_ISO, (0, 1, 2)), (_DATE_FR, (2, 1, 0)), (_DATE_NUM, (2, 1, 0))):
        m = pattern.search(folded)
        if m:
            parts = [m.group(i + 1) for i in order]
            try:
                month = int(parts[1]) if parts[1].isdigit() else MONTHS[parts[1]]
                return dt.date(int(parts[0]), month, int(parts[2])).isoformat()
            except (ValueError, KeyError):
                return None
    return None


def _first(rules: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, category in rules:
        if re.search(pattern, text):
            return category
    return None


def classify(famille: Any, nature: Any, complement: Any = None) -> str:
    """The contract category of a judgment from its ``famille``, ``nature`` and text."""
    nat = _fold_label(nature) if isinstance(nature, str) else fold(nature)
    found = _decision(complement) if CATCH_ALL.match(nat) else None
    if found is None and nat.startswith("autre jugement et ordonnance"):
        return "other"  # the catch-all proper: its text, not its famille, says what was decided
    return found or _nature_category(nat) or _first(FAMILLE_RULES, fold(famille)) or "other"


@lru_cache(maxsize=4096)
def _nature_category(nat: str) -> str | None:
    return _first(NATURE_RULES, nat)


def _decision(complement: Any) -> str | None:
    return _first(DECISION_RULES, _head(complement))


def _head(complement: Any) -> str:
    """The folded start of a judgment's text, where the decision is stated."""
    return fold(str(complement)[:DECISION_SPAN + 100] if isinstance(complement, str) else complement)[:DECISION_SPAN]


def decision_text(jug: dict) -> str:
    """What says the decision: the nature, or the start of a catch-all judgment's text."""
    nat = fold(jug.get("nature"))
    return _head(jug.get("complementJugement")) if CATCH_ALL.match(nat) else nat


def procedure_hint(*texts: Any) -> str | None:
    """The procedure a text names (liquidation before redressement before sauvegarde)."""
    folded = " ".join(fold(t) for t in texts)
    return next((proc for word, proc in _PROCEDURE_WORDS if word in folded), None)


def offer_deadline(complement: Any) -> str | None:
    """The date by which takeover offers must be filed, when the judgment's text gives one."""
    if not isinstance(complement, str) or "offre" not in complement.lower():
        return None
    m = _OFFER.search(fold(complement))
    return parse_date(m.group(1)) if m else None
