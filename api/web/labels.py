"""The words of the web application: kinds, procedures, outcomes and exclusion reasons in plain
French, in one place; the features' words come from the engine's one table
(``matcher.ranking.labels``), shared with the CLI, the digests and the API."""

from __future__ import annotations

from matcher.contract.specs import HEADCOUNT_BANDS
from matcher.ranking import labels as shared

KINDS = {
    "pole_member": "Membre du pôle",
    "cooperative": "Coopérative (SCOP, SCIC)",
    "employees": "Salariés de l'entreprise (SCOP)",
    "repreneur": "Repreneur (personne)",
    "company": "Entreprise locale",
    "employee_group": "Groupe de salariés",
}
EMPLOYEES_NAME = "Les salariés de l'entreprise, en SCOP"

PROCEDURES = {
    "none": "aucune",
    "mandat_ad_hoc": "Mandat ad hoc",
    "conciliation": "Conciliation",
    "sauvegarde": "Sauvegarde",
    "redressement": "Redressement judiciaire",
    "liquidation": "Liquidation judiciaire",
}
# Most urgent first: a liquidation sells the assets within weeks
PROCEDURE_URGENCY = {"liquidation": 0, "redressement": 1, "sauvegarde": 2, "conciliation": 3, "mandat_ad_hoc": 4,
                     "none": 5}

# The advisor's words for an outcome and the contract's (CONTRACT §1.3), graded, best last
OUTCOMES = {"refus": "rejected", "contacté": "contacted", "intéressé": "interested", "offre": "offer",
            "reprise": "takeover"}
OUTCOME_WORDS = {v: k for k, v in OUTCOMES.items()}
OUTCOME_ORDER = ("contacté", "intéressé", "offre", "reprise", "refus")  # the order of a call's life

REASONS = {
    "same_company": "l'entreprise elle-même",
    "in_difficulty": "elle-même en difficulté",
    "confidential_outside_pole": "hors du pôle d'un dossier confidentiel",
    "kind_filter": "type d'option non demandé",
    "out_of_radius": "trop loin (hors de son rayon d'action)",
    "not_scored": "sans lien avec le métier et trop loin pour entrer dans la liste",
    "no_employees": "pas de salariés connus",
}

ROLES = {"advisor": "chargé·e de mission", "analyst": "analyste", "admin": "administrateur·rice"}


def feature(name: str) -> str:
    """A feature's short French label, from the one table of the engine (``matcher.ranking.labels``)."""
    return shared.label(name, "fr")


def feature_text(name: str) -> str:
    """A feature's French sentence, from the same table."""
    return shared.words(name, "fr").text


def reason(code: str) -> str:
    return REASONS.get(code, code.replace("_", " "))


def band(code: str | None) -> str:
    """A SIRENE headcount band in words: ``11`` -> ``10 à 19``."""
    if not code or code not in HEADCOUNT_BANDS:
        return ""
    lo, hi = HEADCOUNT_BANDS[code]
    return "aucun salarié" if hi == 0 else f"{lo} à {hi}"
