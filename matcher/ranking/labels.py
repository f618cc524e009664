"""Every feature in plain words: a short label and one sentence, in English and in French.

The one table the CLI table and its legend, the digests, the API (``labels``) and the web pages
read; a feature name (``emp_coop_support``) never reaches a person without its words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from matcher.ranking.compare import FEATURES


class Words(NamedTuple):
    label: str
    text: str


BASELINE = "baseline"
# feature -> (English label, English sentence, French label, French sentence)
_TABLE: dict[str, tuple[str, str, str, str]] = {
    "sector": ("same trade", "Works in the company's trade: the deeper the shared NAF level, the more it counts.",
               "même métier",
               "Exerce le métier de l'entreprise : plus le code NAF partagé est précis, plus il compte."),
    "interest": ("seeks this trade", "Said it wants to take over a business in this trade.",
                 "recherche ce métier", "A déclaré vouloir reprendre une activité de ce métier."),
    "experience": ("has run this trade", "Someone in it has run or worked in this trade.",
                   "expérience du métier", "Une personne a dirigé ou exercé ce métier."),
    "value_chain": ("supplier or customer", "Works upstream or downstream of the company's trade.",
                    "fournisseur ou client du métier", "Travaille en amont ou en aval du métier de l'entreprise."),
    "proximity": ("nearby", "Close to the company: full next door, a third at 30 km.",
                  "proximité", "Proche de l'entreprise : plein effet sur place, un tiers à 30 km."),
    "workforce": ("can take the staff", "Large enough to take on the company's employees.",
                  "capacité d'absorber l'effectif", "Assez grande pour reprendre les salariés de l'entreprise."),
    "budget": ("can afford it", "Its budget covers the estimated price of the business.",
               "budget suffisant", "Son budget couvre le prix estimé de l'entreprise."),
    "ess": ("social economy", "Member of the social and solidarity economy (ESUS approval counts most).",
            "économie sociale et solidaire",
            "Membre de l'économie sociale et solidaire (l'agrément ESUS compte le plus)."),
    "pole": ("pole member", "Member of a pole that follows the case.",
             "membre du pôle", "Membre d'un pôle qui suit le dossier."),
    "partnership": ("already a partner", "Already works with the company.",
                    "déjà partenaire", "Travaille déjà avec l'entreprise."),
    "apprentices": ("trains apprentices", "Trains apprentices locally.",
                    "forme des apprentis", "Forme des apprentis sur le territoire."),
    "urgency": ("ready to act fast", "Can move quickly, which counts more when the procedure is urgent.",
                "prêt à agir vite", "Peut agir vite, ce qui compte plus quand la procédure presse."),
    "discretion": ("trusted on a confidential case", "A trusted member (pole member, cooperative) on a "
                   "confidential case.", "discrétion (dossier confidentiel)",
                   "Membre de confiance (du pôle, coopérative) pour un dossier confidentiel."),
    "emp_workforce": ("enough employees for a SCOP", "The company has enough employees to form a cooperative.",
                      "effectif suffisant pour une SCOP", "L'entreprise a assez de salariés pour former une SCOP."),
    "emp_procedure": ("time the procedure leaves", "The procedure leaves the employees time to organise "
                      "(a safeguard most, a liquidation least).", "temps laissé par la procédure",
                      "La procédure laisse aux salariés le temps de s'organiser (sauvegarde : le plus, "
                      "liquidation : le moins)."),
    "emp_labour_intensive": ("skills are the value", "A trade whose value lies in the people's skills.",
                             "métier de main-d'œuvre", "Un métier dont la valeur tient aux savoir-faire des salariés."),
    "emp_ess": ("already social economy", "The company is already in the social economy or a SCOP.",
                "entreprise de l'économie sociale", "L'entreprise est déjà dans l'économie sociale ou en SCOP."),
    "emp_coop_support": ("cooperative support nearby", "A cooperative union in the pole, or a cooperative "
                         "within 50 km, can support the employees.", "accompagnement coopératif sur le territoire",
                         "Une union coopérative du pôle, ou une coopérative à moins de 50 km, peut accompagner "
                         "les salariés."),
    BASELINE: ("model baseline", "What the learned model gives any option before looking at its features.",
               "socle du modèle", "Ce que le modèle appris donne à toute option avant de regarder ses critères."),
}
assert set(_TABLE) == {*FEATURES, BASELINE}, "every feature needs its words"
LANGUAGES = ("en", "fr")


def words(feature: str, lang: str = "en") -> Words:
    """The feature's short label and sentence in ``lang`` (``en`` or ``fr``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not available; expected one of {', '.join(LANGUAGES)}")
    row = _TABLE.get(feature)
    if row is None:
        plain = feature.replace("_", " ")
        return Words(plain, plain)
    return Words(*row[:2]) if lang == "en" else Words(*row[2:])


def label(feature: str, lang: str = "en") -> str:
    """The short label of a feature."""
    return words(feature, lang).label


def labels_map(features: Iterable[str] | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """``{feature: {"en": {"label", "text"}, "fr": {...}}}`` for ``features`` (all when None)."""
    names = list(_TABLE) if features is None else list(dict.fromkeys(features))
    return {f: {lang: words(f, lang)._asdict() for lang in LANGUAGES} for f in names}


def legend_words(features: Iterable[str], lang: str = "en") -> list[Words]:
    """The words of the features named, in the table's order."""
    wanted = set(features)
    return [words(f, lang) for f in _TABLE if f in wanted]


def legend(features: Iterable[str], lang: str = "en") -> list[str]:
    """``label: sentence`` lines for the features named, in the table's order."""
    return [f"{w.label}: {w.text}" for w in legend_words(features, lang)]
