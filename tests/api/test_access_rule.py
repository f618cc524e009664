"""The single-case visibility check does the work of a stored case for an absent SIREN and gives
the answers of the one rule for knowing."""

from __future__ import annotations

import itertools

from api.access import can_see, case_visible
from api.security import Principal
from matcher.reference.territories import Poles

POLES = Poles([
    {"pole_id": "estuaire", "departements": ["44"], "communes": [], "lat": None, "lon": None, "radius_km": None},
    {"pole_id": "lyon", "departements": [], "communes": [], "lat": 45.76, "lon": 4.84, "radius_km": 30},
    {"pole_id": "paris", "departements": [], "communes": ["75056"], "lat": None, "lon": None, "radius_km": None},
])
PRINCIPALS = [Principal(key_id="a1", role="advisor", poles=frozenset({"estuaire"})),
              Principal(key_id="a2", role="advisor", poles=frozenset({"lyon"})),
              Principal(key_id="a3", role="advisor", poles=frozenset({"paris", "lyon"})),
              Principal(key_id="an", role="analyst", poles=frozenset()),
              Principal(key_id="ad", role="admin", poles=frozenset())]
PLACES = [
    {"lat": 47.22, "lon": -1.55, "departement": "44", "commune": "44109", "postal_code": "44000"},
    {"lat": 45.75, "lon": 4.85, "departement": "69", "commune": "69123", "postal_code": "69003"},
    {"lat": 48.86, "lon": 2.35, "departement": "75", "commune": "75056", "postal_code": "75001"},
    {"lat": None, "lon": None, "departement": "44", "commune": None, "postal_code": None},
    {"lat": 43.6, "lon": 1.44, "departement": None, "commune": None, "postal_code": "31000"},
]


def test_case_visible_agrees_with_the_rule_for_every_case_and_key():
    checked = 0
    for place, pole, confidential in itertools.product(PLACES, [None, "estuaire", "lyon"], [False, True]):
        company = {"siren": "732829320", "pole": pole, "confidential": confidential, **place}
        for principal in PRINCIPALS:
            assert case_visible(principal, company, POLES) == can_see(principal, company, POLES), (company, principal)
            checked += 1
    assert checked == len(PLACES) * 3 * 2 * len(PRINCIPALS)
    # the rule itself, on two cases: a confidential case of the estuary is the estuary's only
    hidden = {"siren": "732829320", "pole": None, "confidential": True, **PLACES[0]}
    assert [case_visible(p, hidden, POLES) for p in PRINCIPALS] == [True, False, False, False, False]


def test_an_absent_siren_is_never_visible():
    assert not any(case_visible(p, None, POLES) for p in PRINCIPALS)
