"""Rows of the demo territory and of benchmark-scale data: companies in difficulty and takeover
candidates drawn from the trade and place tables (``matcher.demo.territory``), vectorised."""


from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.contract.specs import CANDIDATE, COMPANY, POLE, SCOP_LEGAL_FORMS
from matcher.demo.territory import (
    ACTIVITIES,
    ACTIVITY_VARIANTS,
    DESCRIPTIONS,
    FIRST_NAMES,
    KIND_BIAS,
    KIND_SHARES,
    KINDS,
    LABOUR_INTENSIVE,
    PROCEDURE_SHARES,
    PROCEDURES,
    PRODUCTIVITY,
    SIBLINGS,
    SOUGHT,
    SOUGHT_SHARES,
    SURNAMES,
    TRADE_CODES,
    TRADE_DIV,
    TRADE_WEIGHTS,
    WORDS,
    Places,
    pick,
    pick_index,
)

COMPANY_COLUMNS = list(COMPANY.columns)
CANDIDATE_COLUMNS = [c for c in CANDIDATE.columns if c != "source"]  # the demo pole declares them all
POLE_COLUMNS = list(POLE.columns)
SCOP_FORMS = SCOP_LEGAL_FORMS
_BANDS = (np.array([1, 3, 6, 10, 20, 50, 100]),
          np.array(["00", "01", "02", "03", "11", "12", "21", "22"], dtype=object))
# Legal forms by kind of firm: (codes, shares), drawn as indices into _LEGAL_CODES (fast).
_LEGAL_CODES = np.array([None, "5499", "5710", "5720", "5498", "1000", "9220", *SCOP_FORMS,
                         "5460", "5560"], dtype=object)
_L = {code: i for i, code in enumerate(_LEGAL_CODES)}
_ESS_FORMS = [_L[c] for c in ("9220", *SCOP_FORMS)]
# Trades associations run (care, culture, sport, recycling, insertion: cleaning, garages, cafés).
_ASSOCIATIVE = np.isin(np.arange(100), [1, 38, 45, 56, 81, 85, 88, 90, 93])
_LEGAL = {"company": (("5499", "5710", "5720", "5498", "1000"), (.35, .3, .15, .1, .1)),
          "pole_member": (("5499", "5710", "9220", "5458", "5720"), (.25, .25, .3, .1, .1)),
          "scop": (SCOP_FORMS, (.6, .25, .15)), "scic": (("5460", "5560", "5710"), (.4, .2, .4)),
          "difficulty": (("5499", "5710", "5720", "5498", "1000", "9220", *SCOP_FORMS),
                         (.33, .18, .14, .08, .21, .04, .01, .005, .005))}
_RADIUS = {"company": (.35, (20, 30, 40, 50, 80, 100)), "pole_member": (.3, (15, 20, 30, 40, 60)),
           "cooperative": (.4, (30, 50, 80, 120, 150)),
           "repreneur": (.6, (10, 20, 30, 50, 80, 150, 200)), "employee_group": (.3, (5, 10, 20))}


def _ints(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    missing = np.asarray(missing, dtype=bool)
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)


def _bools(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.asarray(missing, dtype=bool))


def _text(values: np.ndarray) -> np.ndarray:
    """Empty strings become missing values."""
    values = np.asarray(values, dtype=object)
    return np.where(values == "", None, values)


def _headcount(rng: np.random.Generator, median: np.ndarray, high: int) -> np.ndarray:
    return np.clip(np.round(np.exp(rng.normal(np.log(median), 0.95))), 0, high)


def _revenue(rng: np.random.Generator, hc: np.ndarray, div: np.ndarray) -> np.ndarray:
    noise = np.exp(rng.normal(0.0, 0.35, len(hc)))
    return np.round(np.maximum(hc, 0.7) * PRODUCTIVITY[div] * noise, -3)


def _activity(rng: np.random.Generator, trade: np.ndarray, variants: np.ndarray) -> np.ndarray:
    return ACTIVITY_VARIANTS[pick_index(rng, ACTIVITIES, trade), variants]


def _legal(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    codes, shares = _LEGAL[kind]
    return np.array([_L[c] for c in codes])[rng.choice(len(codes), size=n, p=shares)]


def companies_frame(rng: np.random.Generator, n: int, places: Places,
               sirens: np.ndarray) -> pd.DataFrame:
    """Company rows, with hidden columns ``_naf`` (also when ``naf`` is left empty),
    ``_headcount`` (also when only the band is given) and ``_place``."""
    trade = rng.choice(len(TRADE_CODES), size=n, p=TRADE_WEIGHTS / TRADE_WEIGHTS.sum())
    div, code = TRADE_DIV[trade], TRADE_CODES[trade]
    k, lat, lon = places.locate(rng, n)
    legal = _legal(rng, "difficulty", n)
    legal = np.where(np.isin(div, [88, 90, 93, 85, 38]) & (rng.random(n) < 0.5), _L["9220"], legal)
    legal[(legal == _L["9220"]) & ~_ASSOCIATIVE[div]] = _L["5499"]
    hc = _headcount(rng, np.where(legal == _L["1000"], 1.5, 4.5), 80)
    banded = rng.random(n) < 0.15
    revenue = _revenue(rng, hc, div)
    procedure = np.asarray(PROCEDURES, dtype=object)[rng.choice(len(PROCEDURES), size=n,
                                                                p=PROCEDURE_SHARES)]
    start = np.datetime64("2025-01-06") + rng.integers(0, 450, n)
    delay = np.select([procedure == "redressement", procedure == "liquidation"],
                      [rng.integers(45, 121, n), rng.integers(10, 41, n)], -1)
    deadline = np.where(delay >= 0, (start + np.maximum(delay, 0)).astype(str).astype(object), "")
    second_pole = (places.pole2[k] != "") & (rng.random(n) < 0.5)
    pole = np.where(second_pole, places.pole2[k], places.pole1[k])
    confidential = np.isin(procedure, ["mandat_ad_hoc", "conciliation"])
    words = pick_index(rng, WORDS, trade)
    names = places.names(rng, k, words)
    words = WORDS[0][words]
    assoc = legal == _L["9220"]
    where = (places.de[k[assoc]] if places.de is not None
             else SURNAMES[rng.integers(len(SURNAMES), size=assoc.sum())])
    names[assoc] = "Association " + words[assoc] + " " + where
    first = rng.integers(len(DESCRIPTIONS), size=n)
    second = (first + 1 + rng.integers(len(DESCRIPTIONS) - 1, size=n)) % len(DESCRIPTIONS)
    described = rng.random(n) < 0.6
    description = np.where(described, DESCRIPTIONS[first] + ", " + DESCRIPTIONS[second], "")
    return pd.DataFrame({
        "siren": sirens, "name": names,
        "naf": _text(np.where(rng.random(n) < 0.1, "", code)),
        "activity": _activity(rng, trade, rng.choice(4, size=n, p=(.7, .15, .08, .07))),
        "lat": lat, "lon": lon, "commune": places.insee[k], "postal_code": places.postal[k],
        "headcount": _ints(hc, banded),
        "headcount_band": _text(np.where(banded, _BANDS[1][np.digitize(hc, _BANDS[0])], "")),
        "revenue_eur": _ints(revenue, rng.random(n) < 0.15),
        "procedure": procedure, "procedure_date": start.astype(str).astype(object),
        "offer_deadline": _text(deadline),
        "pole": _text(np.where(rng.random(n) < 0.15, "", pole)),
        "confidential": _bools(confidential, rng.random(n) < 0.2),
        "ess": _bools(np.isin(legal, _ESS_FORMS) | (rng.random(n) < 0.05), np.zeros(n)),
        "legal_form": _LEGAL_CODES[legal],
        "description": _text(description),
        "_naf": code, "_headcount": hc, "_place": k,
    })


COMPANY, POLE_MEMBER, COOPERATIVE, REPRENEUR, GROUP = range(len(KINDS))
_KIND_NAMES = np.asarray(KINDS, dtype=object)
_SEEK_PREFIXES = np.asarray(["", "reprise ", "recherche ", "rachat "], dtype=object)


def candidates_frame(rng: np.random.Generator, n: int, places: Places, sirens) -> pd.DataFrame:
    """Candidate rows; ``sirens(idx)`` gives the SIRENs of the firms among them (string work is
    done only on the rows that need it: this runs at a million rows)."""
    kind = rng.choice(len(KINDS), size=n, p=KIND_SHARES)
    is_ = [kind == i for i in range(len(KINDS))]
    trade, sought = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for i, kd in enumerate(KINDS):
        w = TRADE_WEIGHTS * np.array([KIND_BIAS[kd].get(d, 1.0) for d in TRADE_DIV])
        trade[is_[i]] = rng.choice(len(w), size=is_[i].sum(), p=w / w.sum())
        sought[is_[i]] = rng.choice(6, size=is_[i].sum(), p=SOUGHT_SHARES[kd])
    div, code, u = TRADE_DIV[trade], TRADE_CODES[trade], rng.random((n, 12))
    k, lat, lon = places.locate(rng, n)
    member, firm = is_[POLE_MEMBER], kind <= COOPERATIVE
    k[member], lat[member], lon[member] = places.locate(rng, int(member.sum()), in_pole=True)
    ids = np.empty(n, dtype=object)
    ids[firm] = sirens(np.flatnonzero(firm))
    for i, prefix in ((REPRENEUR, "R-"), (GROUP, "G-")):
        numbers = range(1, is_[i].sum() + 1)
        ids[is_[i]] = np.array([f"{prefix}{j:06d}" for j in numbers], dtype=object)
    scic = is_[COOPERATIVE] & (u[:, 0] < 0.3)
    legal = np.zeros(n, dtype=np.int64)
    for m, spec in ((is_[COMPANY], "company"), (member, "pole_member"), (scic, "scic"),
                    (is_[COOPERATIVE] & ~scic, "scop")):
        legal[m] = _legal(rng, spec, int(m.sum()))
    legal[(legal == _L["9220"]) & ~_ASSOCIATIVE[div]] = _L["5499"]
    widx = pick_index(rng, WORDS, trade)
    word, surname = WORDS[0][widx], SURNAMES[rng.integers(len(SURNAMES), size=n)]

    def where(m: np.ndarray) -> np.ndarray:
        return places.de[k[m]] if places.de is not None else surname[m]

    name = np.empty(n, dtype=object)
    m = kind <= POLE_MEMBER
    name[m] = places.names(rng, k[m], widx[m])
    m = is_[COOPERATIVE]
    name[m] = np.where(scic[m], "SCIC ", "SCOP ") + word[m] + " " + where(m)
    m = is_[REPRENEUR]
    name[m] = FIRST_NAMES[rng.integers(len(FIRST_NAMES), size=m.sum())] + " " + surname[m]
    m = is_[GROUP]
    name[m] = "Collectif de salariés " + word[m] + " " + where(m)
    m = legal == _L["9220"]
    name[m] = "Association " + word[m] + " " + where(m)
    r, experience = is_[REPRENEUR], np.full(n, None, dtype=object)
    other = TRADE_CODES[pick(rng, SIBLINGS, trade[r]).astype(np.int64)]
    extra = TRADE_CODES[rng.integers(len(TRADE_CODES), size=r.sum())]
    use2 = (u[r, 1] < 0.5) & (other != code[r])
    use3 = (u[r, 2] < 0.2) & (extra != code[r]) & ~(use2 & (extra == other))
    experience[r] = code[r] + np.where(use2, ";" + other, "") + np.where(use3, ";" + extra, "")
    radius = np.full(n, -1)
    for i, kd in enumerate(KINDS):
        share, choices = _RADIUS[kd]
        m = is_[i] & (u[:, 3] < share)
        radius[m] = rng.choice(choices, size=m.sum())
    hc = np.full(n, -1.0)
    for i, median in ((COMPANY, 12.0), (POLE_MEMBER, 8.0), (COOPERATIVE, 14.0)):
        hc[is_[i]] = np.maximum(_headcount(rng, np.full(is_[i].sum(), median), 250), 1)
    hc[is_[GROUP]] = rng.integers(3, 31, is_[GROUP].sum())
    revenue = _revenue(rng, np.maximum(hc, 0), div)
    budget = np.select([firm, is_[REPRENEUR]],
                       [revenue * rng.uniform(0.05, 0.4, n),
                        np.clip(np.exp(rng.normal(np.log(120e3), 0.8, n)), 10e3, 2e6)],
                       hc * rng.uniform(5e3, 20e3, n))
    budget = np.where(u[:, 4] < np.array([.6, .4, .5, .95, .7])[kind], np.round(budget, -3), -1)
    capacity = np.select([firm & (u[:, 5] < .5), is_[REPRENEUR] & (u[:, 5] < .3), is_[GROUP]],
                         [np.round(hc * rng.uniform(0.3, 1.0, n)) + 2, rng.integers(2, 26, n),
                          hc + rng.integers(0, 6, n)], -1)
    ess = np.isin(legal, _ESS_FORMS) | (u[:, 6] < np.array([.06, .3, 1, 0, 0])[kind])
    esus_p = np.select([legal == _L["9220"], scic, is_[COOPERATIVE], member], [.5, .7, .1, .1], .01)
    trains_p = np.select([is_[COMPANY], member, is_[COOPERATIVE]],
                         [np.where(LABOUR_INTENSIVE[div], .3, .08), .4, .3], 0)
    pole, p2 = np.full(n, None, dtype=object), places.pole2[k[member]]
    p2 = np.where((p2 != "") & (u[member, 7] < .7), ";" + p2, "")
    pole[member] = places.pole1[k[member]] + p2
    m = is_[COOPERATIVE] & (u[:, 7] < .4)
    pole[m] = _text(places.pole1[k[m]])
    m = rng.random(n) < np.array([.2, .2, .25, .35, .1])[kind]
    seek_text = np.full(n, None, dtype=object)
    seek_text[m] = (_SEEK_PREFIXES[rng.integers(4, size=m.sum())]
                    + _activity(rng, trade[m], rng.choice(2, size=m.sum())))
    return pd.DataFrame({
        "candidate_id": ids, "kind": _KIND_NAMES[kind], "name": name,
        "naf": np.where((firm & (u[:, 8] > .03)) | is_[GROUP], code, None),
        "sought_naf": SOUGHT[trade, sought], "sought_activity": seek_text,
        "experience_naf": experience,
        "lat": lat, "lon": lon, "commune": places.insee[k], "postal_code": places.postal[k],
        "radius_km": _ints(radius, radius < 0), "headcount": _ints(hc, hc < 0),
        "revenue_eur": _ints(revenue, ~firm | (u[:, 9] < .2)),
        "budget_eur": _ints(budget, budget < 0),
        "max_target_headcount": _ints(capacity, capacity < 0), "legal_form": _LEGAL_CODES[legal],
        "ess": _bools(ess, ~firm), "esus": _bools(u[:, 10] < esus_p, ~firm),
        "pole": pole, "partners": np.full(n, None, dtype=object),
        "trains_apprentices": _bools(u[:, 11] < trains_p, ~firm), "_trade": trade,
    })
