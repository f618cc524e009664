"""Links between the demo's companies and candidates, and the advisors' history of each case.

:func:`link` ties half of the declared employee groups to a company in difficulty, turns a few
candidates into companies that are themselves in difficulty (the engine must exclude them), and
gives some candidates partners: companies in difficulty they already cooperate with (nearby, in
a related trade, in the same pole for pole members).

:func:`simulate` writes the history.
For about 70% of the companies in difficulty an advisor contacts 5 to 15 *plausible* candidates
(not themselves in difficulty; nearby; same trade or value chain; for a confidential case only
members of the case's pole) and sometimes the company's own employees (``employees:<siren>``).
Each contact is graded ``rejected < contacted < interested < offer < takeover`` from a HIDDEN
utility ``U`` that a learned ranker is meant to recover. ``U`` is deliberately not a weighted sum
of the features an engine sees:

* sector: deepest NAF level shared with the candidate's own code, sought codes or experience
  (sub-class 1.6, class 1.35, group 1.1, division 0.8), value-chain neighbour 0.45, same section
  0.1, nothing -0.8;
* distance: ``-d / s`` where ``s`` is 20 km for a firm under 5 employees, 40 km under 20, 70 km
  above (distance matters more for small firms), and -1.2 beyond the candidate's radius;
* repreneur: +2.0 when the experience shares at least the class AND the budget covers the price
  (0.3 x revenue, or 20 kEUR per employee; halved in liquidation); +0.4 with the experience but
  not the budget; -0.5 when the budget is under half the price; +0.3 in liquidation (assets go
  cheap and fast);
* cooperative: +1.3 in the same division AND within 40 km; +0.4 when the company is ESS;
* pole member: +0.4 when it shares the case's pole; a partner of the company gets +1.6 when it is
  also in the case's pole, +0.6 otherwise (any other kind of partner +0.6);
* company: +0.4 when it can absorb the workforce, -0.9 when it cannot; budget +0.3 / -0.6;
* a declared employee group of this very company counts as its employees (below);
* social: +0.35 for trains_apprentices in a labour-intensive trade; +0.4 when both are ESS;
* urgency: in liquidation every non-repreneur utility is multiplied by 0.8 and lowered by 0.3;
* employees (``employees:<siren>``): -1.4, +3.2 when headcount >= 8 AND a labour-intensive trade
  AND sauvegarde/redressement; +0.7 when the pole offers cooperative support; +0.4 when the
  company is ESS or already a SCOP; -0.8 in liquidation;
* noise: logistic with scale 0.6.

Grades: U < -0.2 rejected, < 0.9 contacted, < 1.9 interested, else offer; the best pair of a
case becomes the ``takeover`` when its U >= 3.0 (so at most one per company).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.demo.territory import LABOUR_INTENSIVE, RELATED, of_place
from matcher.reference import naf
from matcher.reference.geo import haversine_km

DEFAULT_RADIUS = {"company": 50.0, "pole_member": 40.0, "cooperative": 80.0, "repreneur": 60.0,
                  "employee_group": 15.0}
SECTOR_VALUE = np.array([-0.8, 0.1, 0.8, 1.1, 1.35, 1.6])  # by shared level 0..5
OUTCOME_COLUMNS = ["siren", "candidate_id", "outcome", "date", "advisor", "note"]
GRADES = ("rejected", "contacted", "interested", "offer", "takeover")
NOTES = {
    "rejected": {"distance": "trop éloigné", "sector": "hors de son métier",
                 "budget": "budget insuffisant", "capacity": "effectif trop important à reprendre",
                 "urgency": "délai trop court", "": "pas de réponse après relance"},
    "contacted": ["premier contact, à relancer", "dossier envoyé", "rendez-vous à fixer"],
    "interested": ["visite du site prévue", "demande les bilans et la liste du matériel",
                   "intéressé par le fonds"],
    "offer": ["offre déposée au greffe", "offre de reprise partielle", "lettre d'intention"],
    "takeover": ["reprise validée par le tribunal", "plan de cession adopté"],
}


def _num(values: pd.Series) -> np.ndarray:
    """A numeric column (nullable or not) as floats, missing values as NaN."""
    return pd.to_numeric(values, errors="coerce").astype("Float64").to_numpy(float, na_value=np.nan)


def _flag(values: pd.Series) -> np.ndarray:
    return values.astype("boolean").fillna(False).to_numpy(bool)


def _split(cell: object) -> list[str]:
    return [p for p in str(cell).split(";") if p] if isinstance(cell, str) else []


def _pairs(cells: pd.Series) -> tuple[np.ndarray, list[str]]:
    owners, items = [], []
    for i, cell in enumerate(cells):
        for item in _split(cell):
            owners.append(i)
            items.append(item)
    return np.asarray(owners, dtype=np.int64), items


class _Candidates:
    """The candidate file, parsed once into arrays the utility reads."""

    def __init__(self, cand: pd.DataFrame):
        nom = naf.nomenclature()
        self.n = len(cand)
        self.id = cand["candidate_id"].to_numpy()
        self.kind = cand["kind"].to_numpy()
        self.lat, self.lon = cand["lat"].to_numpy(float), cand["lon"].to_numpy(float)
        self.naf = np.array([nom.index.get(c, -1) for c in cand["naf"].fillna("")])
        self.seek_owner, seek = _pairs(cand["sought_naf"])
        self.seek = np.asarray(seek, dtype=object)
        self.exp_owner, exp = _pairs(cand["experience_naf"])
        self.exp = np.array([nom.index[c] for c in exp], dtype=np.int64)
        first_exp = np.full(self.n, -1)
        first_exp[self.exp_owner[::-1]] = self.exp[::-1]
        code = np.where(self.naf >= 0, self.naf, first_exp)
        self.div = np.where(code >= 0, nom.divisions[np.maximum(code, 0)], 0)
        radius = cand["kind"].map(DEFAULT_RADIUS).to_numpy(float)
        stated = _num(cand["radius_km"])
        self.radius = np.where(np.isnan(stated), radius, stated)
        self.budget, self.capacity = _num(cand["budget_eur"]), _num(cand["max_target_headcount"])
        self.ess, self.trains = _flag(cand["ess"]), _flag(cand["trains_apprentices"])
        self.poles = [set(_split(p)) for p in cand["pole"]]
        self.partners = [set(_split(p)) for p in cand["partners"]]
        self.tied = cand["_tied"].to_numpy(np.int64)

    def levels(self, code: str) -> tuple[np.ndarray, np.ndarray]:
        """Deepest shared NAF level with ``code``: over all declared codes, and by experience."""
        q = naf.nomenclature().index[code]
        level = naf.shared_levels(q, self.naf).astype(np.int64)
        prefixes = {code[:2]: 2, code[:4]: 3, code[:5]: 4, code: 5}
        seek = np.array([prefixes.get(p, 0) for p in self.seek], dtype=np.int64)
        np.maximum.at(level, self.seek_owner, seek)
        exp_level = np.zeros(self.n, dtype=np.int64)
        np.maximum.at(exp_level, self.exp_owner, naf.shared_levels(q, self.exp).astype(np.int64))
        return np.maximum(level, exp_level), exp_level


def link(rng: np.random.Generator, comp: pd.DataFrame, cand: pd.DataFrame, *,
         in_difficulty: int = 6) -> None:
    """Add employee-group ties (hidden ``_tied``), candidates in difficulty and ``partners``."""
    kind, cand["_tied"] = cand["kind"].to_numpy(), -1
    groups = np.flatnonzero(kind == "employee_group")
    staffed = np.flatnonzero(comp["_headcount"].to_numpy() >= 5)
    tied = rng.choice(staffed, size=min(len(groups) // 2, len(staffed)), replace=False)
    rows, hc = groups[: len(tied)], comp["_headcount"].to_numpy()[tied]
    names = comp["name"].to_numpy()[tied]
    cand.loc[rows, "name"] = ["Collectif des salariés " + of_place(n) for n in names]
    for col in ("lat", "lon", "commune", "postal_code"):
        cand.loc[rows, col] = comp[col].to_numpy()[tied]
    cand.loc[rows, "naf"] = cand.loc[rows, "sought_naf"] = comp["_naf"].to_numpy()[tied]
    members = np.maximum(np.round(hc * rng.uniform(0.4, 0.9, len(hc))), 2)
    cand.loc[rows, "headcount"] = members.astype(int)
    cand.loc[rows, "max_target_headcount"] = hc.astype(int)
    cand.loc[rows, "_tied"] = tied
    # A few candidates are themselves in difficulty; two of them are pole members.
    firms = np.flatnonzero(kind == "company")
    in_difficulty = min(in_difficulty, len(firms), len(comp))
    rows = rng.choice(firms, size=in_difficulty, replace=False)
    same = rng.choice(len(comp), size=in_difficulty, replace=False)
    for n, (row, i) in enumerate(zip(rows, same)):
        co = comp.iloc[i]
        cand.loc[row, ["candidate_id", "naf"]] = [co["siren"], co["_naf"]]
        cols = ["name", "lat", "lon", "commune", "postal_code"]
        cand.loc[row, cols] = co[cols].to_list()
        cand.loc[row, "headcount"] = max(int(co["_headcount"]), 1)
        if n < 2 and co["_poles"]:
            cand.loc[row, ["kind", "pole"]] = ["pole_member", ";".join(co["_poles"])]
    kind = cand["kind"].to_numpy()
    share = np.select([kind == "pole_member", kind == "company", kind == "cooperative"],
                      [.35, .08, .2], 0)
    lat, lon = comp["lat"].to_numpy(float), comp["lon"].to_numpy(float)
    comp_div = np.array([naf.division(c) for c in comp["_naf"]])
    comp_poles = [set(p) for p in comp["_poles"]]
    sirens = comp["siren"].to_numpy()
    for row in np.flatnonzero(rng.random(len(cand)) < share):
        c = cand.iloc[row]
        d = haversine_km(float(c["lat"]), float(c["lon"]), lat, lon)
        div = naf.division(str(c["naf"])) if isinstance(c["naf"], str) else 0
        poles = set(_split(c["pole"]))
        same_pole = np.array([1.0 if p & poles else 0.0 for p in comp_poles])
        score = (-d / 15 + 1.5 * (comp_div == div) + 0.7 * RELATED[div, comp_div] + same_pole
                 + rng.gumbel(size=len(d)))
        score[(d > 60) | (sirens == c["candidate_id"])] = -np.inf
        top = np.argsort(-score, kind="stable")[: rng.integers(1, 4)]
        top = top[np.isfinite(score[top])]
        if len(top):
            cand.loc[row, "partners"] = ";".join(sirens[top])


def _price(revenue: float, headcount: float, procedure: str) -> float:
    price = 0.3 * revenue if not np.isnan(revenue) else 20_000.0 * max(headcount, 1.0)
    return max(price, 15_000.0) * (0.5 if procedure == "liquidation" else 1.0)


def _utility(c: _Candidates, chosen: np.ndarray, case: dict, d: np.ndarray, level: np.ndarray,
             exp_level: np.ndarray, chain: np.ndarray, shares: np.ndarray
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Hidden utility of the chosen candidates for one case, and its named terms."""
    hc, proc, div, d = case["headcount"], case["procedure"], case["div"], d[chosen]
    kind, budget, cap, shares = c.kind[chosen], c.budget[chosen], c.capacity[chosen], shares[chosen]
    t = {"sector": np.where(chain[chosen], 0.45, SECTOR_VALUE[level[chosen]])}
    scale = 20.0 if hc < 5 else 40.0 if hc < 20 else 70.0  # distance matters more for small firms
    t["distance"] = -d / scale - 1.2 * (d > c.radius[chosen])
    price = _price(case["revenue"], hc, proc)
    has_budget, short = budget >= price, budget < 0.5 * price
    skilled = exp_level[chosen] >= 4
    repreneur = np.where(skilled, np.where(has_budget, 2.0, 0.4), 0) - 0.5 * short
    repreneur = repreneur + 0.3 * (proc == "liquidation")
    t["budget"] = np.select([kind == "repreneur", kind == "company"],
                            [repreneur, 0.3 * has_budget - 0.6 * short], 0)
    t["capacity"] = np.where((kind == "company") & ~np.isnan(cap), np.where(cap >= hc, 0.4, -0.9), 0)
    partner = np.array([case["siren"] in c.partners[j] for j in chosen], dtype=bool)
    member = (kind == "pole_member") & shares
    coop = kind == "cooperative"
    t["bonus"] = (1.3 * (coop & (c.div[chosen] == div) & (d <= 40)) + 0.4 * (coop & case["ess"])
                  + 0.4 * member + np.where(partner, np.where(member, 1.6, 0.6), 0)
                  + 0.35 * (c.trains[chosen] & LABOUR_INTENSIVE[div])
                  + 0.4 * (c.ess[chosen] & case["ess"]))
    u = sum(t.values())
    if proc == "liquidation":
        u = np.where(kind == "repreneur", u, 0.8 * u - 0.3)
        t["urgency"] = np.full(len(chosen), -0.3)
    return u, t


def _employees_utility(case: dict, supported_poles: set[str]) -> float:
    time_to_act = case["procedure"] in ("sauvegarde", "redressement")
    return (-1.4 + 3.2 * (case["headcount"] >= 8 and LABOUR_INTENSIVE[case["div"]] and time_to_act)
            + 0.7 * bool(case["poles"] & supported_poles) + 0.4 * (case["ess"] or case["scop"])
            - 0.8 * (case["procedure"] == "liquidation"))


def _note(rng: np.random.Generator, grade: str, candidate_id: str, terms: dict[str, float]) -> str:
    if grade == "rejected":
        if candidate_id.startswith("employees:"):
            return "les salariés ne souhaitent pas reprendre"
        worst = {k: v for k, v in terms.items() if v < -0.3}
        return NOTES[grade][min(worst, key=worst.get) if worst else ""]
    if grade == "takeover" and candidate_id.startswith("employees:"):
        return "transformation en SCOP validée"
    note = NOTES[grade][int(rng.integers(len(NOTES[grade])))]
    return "" if rng.random() < 0.25 and grade not in ("offer", "takeover") else note


def simulate(rng: np.random.Generator, comp: pd.DataFrame, cand: pd.DataFrame, *,
             supported_poles: set[str], advisors: dict[str, list[str]]) -> pd.DataFrame:
    """Outcome rows (contract §1.3) for ``comp`` (with hidden ``_naf``, ``_headcount``,
    ``_poles``) and ``cand`` (with hidden ``_tied``: the company an employee group belongs to)."""
    c = _Candidates(cand)
    in_difficulty = np.isin(c.id, comp["siren"].to_numpy())
    revenue, comp_ess = _num(comp["revenue_eur"]), _flag(comp["ess"])
    rows: list[tuple] = []
    for i in np.flatnonzero(rng.random(len(comp)) < 0.7):
        co = comp.iloc[i]
        case = {"siren": co["siren"], "headcount": float(co["_headcount"]),
                "procedure": co["procedure"], "div": naf.division(co["_naf"]),
                "poles": set(co["_poles"]), "revenue": revenue[i], "ess": bool(comp_ess[i]),
                "scop": str(co["legal_form"]) in ("5458", "5558", "5658")}
        d = haversine_km(co["lat"], co["lon"], c.lat, c.lon)
        level, exp_level = c.levels(co["_naf"])
        chain = RELATED[case["div"], c.div] & (level < 2)
        shares = np.array([bool(p & case["poles"]) for p in c.poles], dtype=bool)
        # Who the advisor calls: plausible, not in difficulty, inside the pole when confidential.
        eligible = ~in_difficulty & (d <= 120) & ((c.kind != "employee_group") | (c.tied < 0))
        eligible |= c.tied == i
        if case["procedure"] in ("mandat_ad_hoc", "conciliation"):
            eligible &= shares & np.isin(c.kind, ["pole_member", "cooperative"])
        plaus = (0.9 * level + 1.2 * chain - d / 25 + 0.3 * (c.kind == "pole_member")
                 + 0.8 * shares + 3.0 * (c.tied == i) + rng.gumbel(size=c.n))
        plaus[~eligible] = -np.inf
        chosen = np.argsort(-plaus, kind="stable")[: rng.integers(5, 16)]
        chosen = chosen[np.isfinite(plaus[chosen])]
        u, t = _utility(c, chosen, case, d, level, exp_level, chain, shares)
        employees, ids = c.tied[chosen] == i, list(c.id[chosen])
        hc = case["headcount"]
        if hc >= 2 and (employees.any() or rng.random() < (0.7 if hc >= 8 else 0.3)):
            ids.append(f"employees:{case['siren']}")
            employees, u = np.append(employees, True), np.append(u, 0.0)
            t = {k: np.append(v, 0.0) for k, v in t.items()}
        if not ids:  # a confidential case outside any pole: nobody to call
            continue
        u = np.where(employees, _employees_utility(case, supported_poles), u)
        u = u + rng.logistic(scale=0.6, size=len(u))
        grade = np.digitize(u, [-0.2, 0.9, 1.9])
        best = int(np.argmax(u))
        if u[best] >= 3.0:
            grade[best] = 4
        start = np.datetime64(co["procedure_date"])
        deadline = co["offer_deadline"]
        deadline = np.datetime64(deadline) if isinstance(deadline, str) else None
        pole = co["pole"] if isinstance(co["pole"], str) else next(iter(co["_poles"]), "")
        pool = advisors.get(pole, advisors[""])
        advisor = pool[int(rng.integers(len(pool)))]
        for j, g in enumerate(grade):
            date = start + int(rng.integers(3, 31) + 12 * min(g, 3))
            if deadline is not None and g == 3:  # offers are filed before the deadline
                date = min(date, deadline - 1)
            if g == 4:  # the court decides after the deadline
                date = (deadline if deadline is not None else start + 60) + int(rng.integers(5, 31))
            note = _note(rng, GRADES[g], ids[j], {k: v[j] for k, v in t.items()})
            rows.append((case["siren"], ids[j], GRADES[g], str(date), advisor, note))
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
