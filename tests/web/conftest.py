"""A small territory for the web pages: two poles, open cases (one confidential per pole),
candidates around them, and one account per role."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from api.web.accounts import create_user
from matcher import store
from matcher.contract.imports import import_frame
from matcher.reference.communes import shipped

PASSWORD = "un mot de passe solide"
TODAY = dt.date.today()


def luhn(prefix: str) -> str:
    """A Luhn-valid SIREN from 8 digits."""
    for last in "0123456789":
        digits = [int(c) for c in prefix + last]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return prefix + last
    raise AssertionError(prefix)


def day(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


# Nantes (44) for pole A, Angers (49) for pole B
POLES = [
    {"pole_id": "ptce-a", "name": "PTCE Estuaire", "departements": "44", "cooperative_support": "true"},
    {"pole_id": "ptce-b", "name": "PTCE Anjou", "departements": "49"},
]
SIRENS = {k: luhn(p) for k, p in {"menuiserie": "80264992", "boulangerie": "41234567", "secret_a": "51234567",
                                  "secret_b": "61234567", "angers": "71234567", "couvreur": "31234567"}.items()}
COMPANIES = [
    {"siren": SIRENS["menuiserie"], "name": "Menuiserie Durand", "naf": "16.23Z", "commune": "44109", "headcount": 12,
     "procedure": "redressement", "procedure_date": day(-20), "offer_deadline": day(9), "revenue_eur": 1_200_000},
    {"siren": SIRENS["boulangerie"], "name": "Boulangerie du Port", "naf": "10.71C", "commune": "44184",
     "headcount": 4, "procedure": "liquidation", "procedure_date": day(-3), "offer_deadline": day(2)},
    {"siren": SIRENS["couvreur"], "name": "Couverture Leroy", "activity": "couvreur zingueur", "commune": "44143",
     "headcount": 7, "procedure": "sauvegarde", "procedure_date": day(-60)},
    {"siren": SIRENS["secret_a"], "name": "Atelier Discret", "naf": "16.23Z", "commune": "44020", "headcount": 9,
     "procedure": "conciliation", "procedure_date": day(-5), "pole": "ptce-a"},
    {"siren": SIRENS["secret_b"], "name": "Fonderie Angevine", "naf": "24.51Z", "commune": "49007", "headcount": 30,
     "procedure": "mandat_ad_hoc", "procedure_date": day(-8), "pole": "ptce-b"},
    {"siren": SIRENS["angers"], "name": "Imprimerie d'Anjou", "naf": "18.12Z", "commune": "49007", "headcount": 15,
     "procedure": "redressement", "procedure_date": day(-15), "offer_deadline": day(20)},
]
CANDIDATES = [
    {"candidate_id": luhn("55210055"), "kind": "company", "name": "Atelier Bois de Loire", "naf": "16.23Z",
     "commune": "44109", "headcount": 30, "budget_eur": 900_000},
    {"candidate_id": luhn("42100001"), "kind": "pole_member", "name": "Charpentes du Sillon", "naf": "16.10A",
     "commune": "44184", "headcount": 20, "pole": "ptce-a", "max_target_headcount": 15},
    {"candidate_id": luhn("43100002"), "kind": "cooperative", "name": "SCOP Menuisiers Associés", "naf": "43.32A",
     "commune": "44143", "legal_form": "5458", "ess": "true", "headcount": 25},
    {"candidate_id": "rep-001", "kind": "repreneur", "name": "Jeanne Morel", "experience_naf": "16.23Z;10.71C",
     "commune": "44109", "budget_eur": 250_000},
    {"candidate_id": luhn("44100003"), "kind": "company", "name": "Fournil de l'Erdre", "naf": "10.71C",
     "commune": "44109", "headcount": 8},
    {"candidate_id": luhn("45100004"), "kind": "pole_member", "name": "Imprimerie Coopérative", "naf": "18.12Z",
     "commune": "49007", "pole": "ptce-b", "headcount": 12},
    {"candidate_id": luhn("46100005"), "kind": "company", "name": "Métallerie du Maine", "naf": "24.51Z",
     "commune": "49007", "pole": "ptce-b", "headcount": 40},
    {"candidate_id": luhn("47100006"), "kind": "company", "name": "Toitures de Bretagne", "naf": "43.91A",
     "commune": "35238", "headcount": 10, "radius_km": 20},  # Rennes: out of its own reach
]
USERS = {
    "advisor_a": ("claire.martin@ptce-a.fr", "advisor", ["ptce-a"]),
    "advisor_b": ("paul.roux@ptce-b.fr", "advisor", ["ptce-b"]),
    "analyst": ("analyste@reprise.fr", "analyst", []),
    "admin": ("admin@reprise.fr", "admin", []),
}


def build_territory(url: str) -> dict[str, dict]:
    """Import the territory into the store at ``url``; returns the accounts by name."""
    db = store.connect(url)
    for kind, rows in (("poles", POLES), ("companies", COMPANIES), ("candidates", CANDIDATES)):
        report = import_frame(db, kind, pd.DataFrame(rows), communes=shipped())
        assert not report.rejected, report.summary()
    users = {name: create_user(db, email=email, password=PASSWORD, role=role, poles=poles)
             for name, (email, role, poles) in USERS.items()}
    db.dispose()
    return users


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, email: str, password: str = PASSWORD, *, follow: bool = False):
    """Post the sign-in form as a browser would (the form first, for its token)."""
    form = client.get("/connexion")
    return client.post("/connexion", data={"email": email, "password": password, "csrf": csrf_of(form.text),
                                           "suite": "/"}, follow_redirects=follow)


@pytest.fixture
def territory(sqlite_url):
    return sqlite_url, build_territory(sqlite_url)
