"""Request and response bodies, with OpenAPI examples.

Record bodies are deliberately loose (strings, numbers, booleans, lists): they are checked by the
same validation as file imports (``matcher.contract.imports.validate_frame``); their fields are
built from the contract's record specs (``matcher.contract.specs``), so a bad SIREN or NAF gets
the same message through the API as in a rejects file. Unknown fields are kept in ``extra``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from matcher.contract.specs import CANDIDATE, COMPANY, OUTCOME, Spec
from matcher.contract.values import storable_problem


def _utc(value: dt.datetime) -> dt.datetime:
    """Store times are naive UTC; answer them as RFC 3339 with their zone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]
Scalar = str | int | float | bool | None
Listish = str | list[str | int | float] | None

COMPANY_EXAMPLE = {
    "siren": "802649921", "name": "Menuiserie Durand", "naf": "16.23Z",
    "activity": "menuiserie bois, escaliers", "lat": 47.2184, "lon": -1.5536, "headcount": 12,
    "procedure": "redressement", "procedure_date": "2026-10-02", "offer_deadline": "2026-12-15",
    "pole": "ptce-estuaire", "ess": False,
}
CANDIDATE_EXAMPLE = {
    "candidate_id": "552100554", "kind": "pole_member", "name": "Atelier Bois de l'Erdre",
    "naf": "16.23Z", "sought_naf": ["16", "43.32"], "lat": 47.29, "lon": -1.52, "radius_km": 60,
    "headcount": 25, "budget_eur": 300000, "ess": True, "pole": ["ptce-estuaire"],
}
OUTCOME_EXAMPLE = {"siren": "802649921", "candidate_id": "552100554", "outcome": "contacted",
                   "date": "2026-11-20", "note": "meeting planned"}


class RecordIn(BaseModel):
    """A contract record; every field is validated as in a file import."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = storable_problem(data)
        if problem:
            raise ValueError(problem)
        return data


def _record_model(name: str, spec: Spec, example: dict[str, Any], doc: str) -> type[RecordIn]:
    """The request body of a contract record, built from its spec: one loose field per column
    (lists accept a JSON array or ``;``-separated text), described by the column's rule."""
    fields: dict[str, Any] = {
        col: (Listish if rule.many else Scalar, Field(None, description=rule.describe()))
        for col, rule in spec.rules.items()
    }
    base = type(f"_{name}Base", (RecordIn,), {"model_config": ConfigDict(json_schema_extra={"examples": [example]}),
                                                "__doc__": doc})
    return create_model(name, __base__=base, __doc__=doc, **fields)


CompanyIn = _record_model("CompanyIn", COMPANY, COMPANY_EXAMPLE, "A company in difficulty (docs/contract.md §1.1).")
CandidateIn = _record_model("CandidateIn", CANDIDATE, CANDIDATE_EXAMPLE,
                            "A takeover candidate (docs/contract.md §1.2); lists as JSON arrays or ;-separated text.")
OutcomeIn = _record_model("OutcomeIn", OUTCOME, OUTCOME_EXAMPLE,
                          "What happened with one option (docs/contract.md §1.3).")


class CompanyOut(BaseModel):
    siren: str
    name: str
    naf: str | None = None
    activity: str | None = None
    lat: float
    lon: float
    commune: str | None = None
    postal_code: str | None = None
    departement: str | None = None
    headcount: float | None = None
    headcount_band: str | None = None
    revenue_eur: float | None = None
    procedure: str
    procedure_date: str | None = None
    offer_deadline: str | None = None
    pole: str | None = None
    confidential: bool
    ess: bool | None = None
    legal_form: str | None = None
    description: str | None = None
    source: str = Field(description="import, scan or api")
    extra: dict[str, Any] | None = Field(None, description="fields outside the contract, kept as received")
    updated_at: UtcTime | None = None


class CandidateOut(BaseModel):
    candidate_id: str
    kind: str
    name: str
    naf: str | None = None
    sought_naf: list[str] | None = None
    sought_activity: str | None = None
    experience_naf: list[str] | None = None
    lat: float
    lon: float
    commune: str | None = None
    postal_code: str | None = None
    departement: str | None = None
    radius_km: float | None = None
    headcount: float | None = None
    revenue_eur: float | None = None
    budget_eur: float | None = None
    max_target_headcount: float | None = None
    legal_form: str | None = None
    ess: bool | None = None
    esus: bool | None = None
    pole: list[str] | None = None
    partners: list[str] | None = None
    trains_apprentices: bool | None = None
    source: str | None = Field(None, description="import (declared by the pole) or sirene (kept by `reprise "
                                                 "import sirene`)")
    left_pool: str | None = Field(None, description="why it left the pool (ceased, closed, not_in_register); "
                                                    "empty while it is a candidate")
    left_at: str | None = Field(None, description="ISO date it left the pool")
    extra: dict[str, Any] | None = Field(None, description="fields outside the contract, kept as received")
    updated_at: UtcTime | None = None


class OutcomeOut(BaseModel):
    siren: str
    candidate_id: str
    outcome: str
    date: str = Field(description="ISO date, empty when unknown")
    advisor: str | None = None
    note: str | None = None
    recorded_at: UtcTime | None = None


class CompanyPage(BaseModel):
    items: list[CompanyOut]
    next: str | None = Field(None, description="pass as `after` for the next page; null on the last")


class CandidatePage(BaseModel):
    items: list[CandidateOut]
    next: str | None = Field(None, description="pass as `after` for the next page; null on the last")


class Reject(BaseModel):
    index: int = Field(description="position of the record in the request array, from 0")
    key: str | None = Field(None, description="siren or candidate_id as received")
    reason: str


class BulkReport(BaseModel):
    """Like an import summary: good records are stored, each bad one is listed with its reason."""

    read: int
    stored: int
    new: int
    rejected: int
    rejects: list[Reject]


class MatchOption(BaseModel):
    """One row of docs/contract.md §2."""

    siren: str
    rank: int
    candidate_id: str
    kind: str
    name: str
    score: float
    distance_km: float
    trade_link: bool = Field(description="shares the company's NAF division, works up- or downstream of it, "
                                         "declared an interest in the trade or has experience of it; options "
                                         "without a trade link come after every linked one")
    explanation: dict[str, float | list[str]] = Field(
        description="contribution of each feature to the score (the words for each feature are in the "
                    "answer's `labels`); how the company was read is in the answer's `notes`, once")


class Exclusion(BaseModel):
    candidate_id: str
    kind: str
    name: str
    reason: str
    distance_km: float


class FeatureWords(BaseModel):
    label: str = Field(description="short label, e.g. `same trade`")
    text: str = Field(description="one sentence saying what the feature means")


class MatchResponse(BaseModel):
    siren: str
    model: str = Field(description="id of the ranker that produced the scores")
    notes: list[str] = Field(description="how the company was read (e.g. a sector inferred from its activity "
                                         "text), said once for the case")
    options: list[MatchOption]
    labels: dict[str, dict[str, FeatureWords]] = Field(
        description="for every feature named in the options' explanations: its words by language "
                    "(`en`, `fr`), e.g. `{\"emp_coop_support\": {\"en\": {\"label\": \"cooperative support "
                    "nearby\", \"text\": \"…\"}, \"fr\": {…}}}`")
    excluded_counts: dict[str, int]
    exclusions: list[Exclusion] | None = Field(None, description="with explain_exclusions=true")
    exclusions_total: int | None = Field(None, description="exclusions before the listing limit")


class FieldError(BaseModel):
    field: str
    value: Any = None
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
