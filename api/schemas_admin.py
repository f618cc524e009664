"""Bodies of the operational endpoints: model card, API keys, audit log, health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import UtcTime

Role = Literal["advisor", "analyst", "admin"]


# fields named model_… are the ranking model's: pydantic's own namespace is left unguarded here (pydantic < 2.10
# warns on such names otherwise)
_MODEL_FIELDS = ConfigDict(protected_namespaces=())


class ModelCard(BaseModel):
    model_config = _MODEL_FIELDS
    model_id: str
    kind: Literal["transparent", "learned"]
    card: dict[str, Any] = Field(description="the model card: weights for the transparent scorer, "
                                             "training data, scores and versions for a learned one")
    candidates: int = Field(description="candidates in the serving index")
    index_built_at: UtcTime
    previous_model_id: str | None = Field(None, description="set by a reload")


class KeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"role": "advisor", "poles": ["ptce-estuaire"], "label": "Chargée de mission, Estuaire"}]})
    role: Role
    poles: list[str] = Field(default_factory=list, description="advisor keys only: the poles it serves")
    label: str | None = Field(None, max_length=200)


class KeyOut(BaseModel):
    key_id: str = Field(description="public prefix of the key, shown in lists and the audit log")
    role: str
    poles: list[str]
    label: str | None = None
    created_at: UtcTime | None = None
    revoked_at: UtcTime | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="the secret key; shown once, stored only as a hash")


class AuditEntry(BaseModel):
    id: int
    key_id: str | None
    at: UtcTime
    siren: str | None
    action: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next: int | None = Field(None, description="pass as `before` for older entries; null at the end")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    model_config = _MODEL_FIELDS
    status: Literal["ready"]
    candidates: int
    model_id: str = Field(description="the ranker serving")
    index_built_at: UtcTime
    model_refused: str | None = Field(
        None, description="why the promoted model is not serving (it failed its checks); the last good model "
                          "or the transparent scorer serves instead")
