"""Single-case reads."""

from __future__ import annotations

import pandas as pd

from matcher.contract.imports import import_frame
from matcher.store.records import get_company, get_company_uniform

ROWS = [{"siren": s, "name": f"Firm {s}", "naf": "10.71C", "lat": 47.2, "lon": -1.5, "procedure": "liquidation"}
        for s in ("732829320", "552100554", "443061841")]


def test_the_uniform_read_answers_as_the_plain_one(db):
    assert get_company_uniform(db, "552100554") is None  # nothing stored at all
    import_frame(db, "companies", pd.DataFrame(ROWS))
    for row in ROWS:
        got = get_company_uniform(db, row["siren"])
        assert got == get_company(db, row["siren"]) and got["name"] == row["name"]
        assert "found" not in got
    # absent SIRENs, below, between and above the stored ones: None, never the row read instead
    for absent in ("100000009", "500000004", "999999990"):
        assert get_company(db, absent) is None
        assert get_company_uniform(db, absent) is None
