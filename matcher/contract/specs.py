"""The records of the data contract (docs/contract.md §1): keys, required columns, column rules.

One place for column names and the words of the contract (procedures, kinds, outcomes); the
API's request bodies are built from these specs (``api.schemas``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from matcher.contract.codes import (
    CandidateId,
    CommuneList,
    Departements,
    NafCode,
    NafList,
    OutcomeCandidate,
    Siren,
    SirenList,
)
from matcher.contract.rules import (
    Band,
    Bool,
    Choice,
    IsoDate,
    LegalForm,
    Number,
    Place,
    Rule,
    Text,
    TextList,
)
from matcher.errors import InvalidRecord

PROCEDURES = ("none", "mandat_ad_hoc", "conciliation", "sauvegarde", "redressement", "liquidation")
CONFIDENTIAL_BY_LAW = ("mandat_ad_hoc", "conciliation")  # prevention procedures
CANDIDATE_KINDS = ("company", "pole_member", "cooperative", "repreneur", "employee_group")
# who keeps a candidate's record: the pole ("import", a file or the API) or the SIRENE import
CANDIDATE_SOURCES = ("import", "sirene")
EMPLOYEES = "employees"  # the option of a company's own employees (employees:<siren>)
OPTION_KINDS = (*CANDIDATE_KINDS, EMPLOYEES)
OUTCOMES = ("rejected", "contacted", "interested", "offer", "takeover")  # graded, best last
HEADCOUNT_BANDS = {  # SIRENE trancheEffectifs: (from, to); NN = not an employer
    "NN": (0, 0), "00": (0, 0), "01": (1, 2), "02": (3, 5), "03": (6, 9), "11": (10, 19),
    "12": (20, 49), "21": (50, 99), "22": (100, 199), "31": (200, 249), "32": (250, 499),
    "41": (500, 999), "42": (1000, 1999), "51": (2000, 4999), "52": (5000, 9999), "53": (10000, 20000),
}
SCOP_LEGAL_FORMS = ("5458", "5558", "5658")  # SIRENE categorieJuridique of a SCOP
# How far a candidate would go when its file gives no radius_km (km). A person taking over a
# business moves further than a local firm; a cooperative network covers a département or two.
DEFAULT_RADIUS_KM = {"company": 50.0, "pole_member": 80.0, "cooperative": 120.0, "repreneur": 150.0,
                     "employee_group": 30.0}
LOCATION_COLUMNS = ("lat", "lon", "commune", "postal_code")
# Ranges that catch absurd values (a headcount of 1e12, a radius of 100,000 km) while admitting
# every real firm: the largest French employers count a few hundred thousand employees.
MAX_HEADCOUNT = 1_000_000
MAX_EUROS = 1e12
MAX_RADIUS_KM = 2_000.0  # France métropolitaine is about 1,000 km across
HEADCOUNT = Number(integer=True, minimum=0, maximum=MAX_HEADCOUNT)
EUROS = Number(minimum=0, maximum=MAX_EUROS)
RADIUS = Number(minimum=0, strict_min=True, maximum=MAX_RADIUS_KM)


@dataclass(frozen=True)
class Spec:
    """A contract record: its key, required columns and the rule of each column."""

    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    rules: dict[str, Rule]
    location: bool = False
    one_of: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.rules)


_PLACE = {c: Place() for c in LOCATION_COLUMNS}

COMPANY = Spec(
    name="company", key=("siren",), required=("siren", "name"), location=True,
    one_of=(("naf", "activity"),),
    rules={
        "siren": Siren(), "name": Text(), "naf": NafCode(), "activity": Text(), **_PLACE,
        "headcount": HEADCOUNT, "headcount_band": Band(),
        "revenue_eur": EUROS, "procedure": Choice(PROCEDURES), "procedure_date": IsoDate(future_days=1),
        "offer_deadline": IsoDate(future_days=730), "pole": Text(), "confidential": Bool(), "ess": Bool(),
        "legal_form": LegalForm(), "description": Text(),
    },
)
CANDIDATE = Spec(
    name="candidate", key=("candidate_id",), required=("candidate_id", "kind", "name"), location=True,
    rules={
        "candidate_id": CandidateId(), "kind": Choice(CANDIDATE_KINDS), "name": Text(), "naf": NafCode(),
        "sought_naf": NafList(prefixes=True), "sought_activity": Text(), "experience_naf": NafList(),
        **_PLACE, "radius_km": RADIUS, "headcount": HEADCOUNT,
        "revenue_eur": EUROS, "budget_eur": EUROS, "max_target_headcount": HEADCOUNT, "legal_form": LegalForm(),
        "ess": Bool(),
        "esus": Bool(), "pole": TextList(), "partners": SirenList(), "trains_apprentices": Bool(),
        "source": Choice(CANDIDATE_SOURCES),
    },
)
OUTCOME = Spec(
    name="outcome", key=("siren", "candidate_id", "outcome", "date"), required=("siren", "candidate_id", "outcome"),
    rules={"siren": Siren(), "candidate_id": OutcomeCandidate(), "outcome": Choice(OUTCOMES),
           "date": IsoDate(future_days=1), "advisor": Text(), "note": Text()},
)
POLE = Spec(
    name="pole", key=("pole_id",), required=("pole_id", "name"), one_of=(("departements", "communes", "lat"),),
    rules={"pole_id": Text(), "name": Text(), "departements": Departements(), "communes": CommuneList(),
           "lat": Number(), "lon": Number(), "radius_km": RADIUS, "cooperative_support": Bool()},
)
SPECS = {"companies": COMPANY, "candidates": CANDIDATE, "outcomes": OUTCOME, "poles": POLE}


def parse_kinds(text: str | None, *, field: str = "kinds") -> list[str] | None:
    """``company,cooperative`` -> list (None when empty); :class:`InvalidRecord` naming the
    words that are not option kinds."""
    if not text:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in OPTION_KINDS]
    if bad or not kinds:
        raise InvalidRecord(f"{field} {','.join(bad) or text} is not a kind; expected some of "
                            f"{', '.join(OPTION_KINDS)}, comma-separated", field=field, value=text)
    return kinds


def headcount_estimate(headcount: object, band: object) -> float | None:
    """Employees from a headcount or, failing that, the middle of a SIRENE band."""
    if headcount is not None and not pd.isna(headcount):
        return float(headcount)
    if band:
        lo, hi = HEADCOUNT_BANDS[band]
        return (lo + hi) / 2
    return None


def is_cooperative(legal_form: pd.Series, name: pd.Series) -> pd.Series:
    """SCOP by legal form, SCOP or SCIC named in the name (SIRENE has no SCIC legal form)."""
    return legal_form.isin(SCOP_LEGAL_FORMS) | name.astype(str).str.upper().str.contains(r"\bSCOP\b|\bSCIC\b",
                                                                                            regex=True)
