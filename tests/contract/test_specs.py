"""One contract test over every record spec and every comparison: the same columns everywhere
(specs, store tables, API bodies), and every feature a float32 column in [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from api import schemas
from matcher.contract.imports import TABLES
from matcher.contract.rules import Place, Rule
from matcher.contract.specs import SPECS
from matcher.contract.validate import Validator
from matcher.demo import synth_candidates, synth_companies
from matcher.ranking.compare import CANDIDATE_COMPARISONS, FEATURES, employees_features
from matcher.ranking.engine import Engine
from matcher.ranking.index import CandidateIndex

API_IN = {"companies": schemas.CompanyIn, "candidates": schemas.CandidateIn, "outcomes": schemas.OutcomeIn}
API_OUT = {"companies": schemas.CompanyOut, "candidates": schemas.CandidateOut, "outcomes": schemas.OutcomeOut}


@pytest.mark.parametrize("kind", list(SPECS))
def test_a_record_has_the_same_columns_in_the_spec_the_store_and_the_api(kind):
    spec = SPECS[kind]
    assert set(spec.key) <= set(spec.columns) and set(spec.required) <= set(spec.columns)
    assert all(isinstance(rule, Rule) for rule in spec.rules.values())
    assert set(spec.columns) <= {c.name for c in TABLES[kind].c}, "every column has a place in the store"
    if kind in API_IN:
        assert list(API_IN[kind].model_fields) == list(spec.columns)
        assert set(spec.columns) <= set(API_OUT[kind].model_fields)
        for col, rule in spec.rules.items():
            assert API_IN[kind].model_fields[col].description == rule.describe()


@pytest.mark.parametrize("kind", list(SPECS))
def test_empty_cells_are_accepted_where_optional_and_named_where_required(kind):
    spec = SPECS[kind]
    clean, reasons = Validator(spec).run(pd.DataFrame([dict.fromkeys(spec.columns, "")]))
    for col in spec.required:
        assert f"{col} is required and is empty" in reasons.iat[0]
    for col, rule in spec.rules.items():
        if not isinstance(rule, Place) and col not in ("confidential", "procedure"):  # defaults
            value = clean[col].iat[0]
            assert value is None or value == [], f"{col}: an empty cell gave {value!r}"


@pytest.mark.parametrize("kind", list(SPECS))
@pytest.mark.parametrize("cell", ["∅", "-1", "1e400", "x" * 300, "a;b"])
def test_every_column_rule_returns_one_value_per_row_and_a_reason_naming_the_column(kind, cell):
    spec = SPECS[kind]
    raw = pd.DataFrame([dict.fromkeys(spec.columns, cell), dict.fromkeys(spec.columns, "")])
    clean, reasons = Validator(spec).run(raw)
    assert len(clean) == 2 and len(reasons) == 2
    for part in filter(None, reasons.iat[0].split("; ")):
        named = part.split(" ", 1)[0].split("/")[0]
        assert named in spec.columns or part.startswith(("one of", "no location", "lat and lon", "give ", "a circle")), part


@pytest.fixture(scope="module")
def small_engine():
    cand = synth_candidates(3000, seed=7)
    frame = cand.astype(object).where(cand.notna(), None)
    for col in ("sought_naf", "experience_naf", "pole", "partners"):
        frame[col] = frame[col].map(lambda v: v.split(";") if isinstance(v, str) else None)
    frame["radius_km"] = frame["radius_km"].astype(float)
    return Engine(CandidateIndex.from_frame(frame))


@pytest.mark.parametrize("comparison", CANDIDATE_COMPARISONS, ids=lambda c: c.name)
def test_every_comparison_is_a_float32_column_in_0_1(small_engine, comparison):
    companies = synth_companies(25, seed=11)
    ix = small_engine.index
    seen = 0
    for company in companies.astype(object).where(companies.notna(), None).to_dict("records"):
        q, _ = small_engine.query_for(company)
        pos, dist = ix.within_reach(q.lat, q.lon)
        values = comparison.compute(q, ix, pos, dist)
        assert values.shape == (len(pos),) and values.dtype == np.float32
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
        seen += len(pos)
    assert seen > 1000


def test_the_employees_features_lie_in_0_1_and_fill_only_their_columns(small_engine):
    companies = synth_companies(25, seed=12)
    for company in companies.astype(object).where(companies.notna(), None).to_dict("records"):
        q, _ = small_engine.query_for(company)
        x = employees_features(q, coop_nearby=True)
        assert x.shape == (1, len(FEATURES)) and x.dtype == np.float32
        assert ((x >= 0) & (x <= 1)).all() and not x[0, :len(CANDIDATE_COMPARISONS)].any()
