"""The contract's records (CONTRACT.md §1) and their validation, one place for column names.

Validation is column-wise (pandas/numpy), so a million rows validate in seconds. Each rule returns
the reason a person can act on for every row it rejects; a row's reasons are joined with "; ".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import naf
from .geo import Communes, departement_of, in_territory

PROCEDURES = ("none", "mandat_ad_hoc", "conciliation", "sauvegarde", "redressement", "liquidation")
CONFIDENTIAL_BY_LAW = ("mandat_ad_hoc", "conciliation")
CANDIDATE_KINDS = ("company", "pole_member", "cooperative", "repreneur", "employee_group")
OUTCOMES = ("rejected", "contacted", "interested", "offer", "takeover")
HEADCOUNT_BANDS = {  # SIRENE trancheEffectifs: (from, to); NN = not an employer
    "NN": (0, 0), "00": (0, 0), "01": (1, 2), "02": (3, 5), "03": (6, 9), "11": (10, 19),
    "12": (20, 49), "21": (50, 99), "22": (100, 199), "31": (200, 249), "32": (250, 499),
    "41": (500, 999), "42": (1000, 1999), "51": (2000, 4999), "52": (5000, 9999), "53": (10000, 20000),
}
TRUE_WORDS = {"true", "1", "oui", "yes", "o", "y", "vrai"}
FALSE_WORDS = {"false", "0", "non", "no", "n", "faux"}
SCOP_LEGAL_FORMS = ("5458", "5558", "5658")
LA_POSTE = "356000000"


@dataclass(frozen=True)
class Spec:
    """A contract record: its key, required columns and column kinds."""

    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    kinds: dict[str, str]
    location: bool = False
    one_of: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.kinds)


_LOCATION = {"lat": "lat", "lon": "lon", "commune": "commune", "postal_code": "postal_code"}

COMPANY = Spec(
    name="company",
    key=("siren",),
    required=("siren", "name"),
    location=True,
    one_of=(("naf", "activity"),),
    kinds={
        "siren": "siren", "name": "text", "naf": "naf", "activity": "text", **_LOCATION,
        "headcount": "nonneg_int", "headcount_band": "band", "revenue_eur": "nonneg_float",
        "procedure": "procedure", "procedure_date": "date", "offer_deadline": "date",
        "pole": "text", "confidential": "bool", "ess": "bool", "legal_form": "legal_form",
        "description": "text",
    },
)
CANDIDATE = Spec(
    name="candidate",
    key=("candidate_id",),
    required=("candidate_id", "kind", "name"),
    location=True,
    kinds={
        "candidate_id": "candidate_id", "kind": "kind", "name": "text", "naf": "naf",
        "sought_naf": "naf_prefixes", "sought_activity": "text", "experience_naf": "naf_list",
        **_LOCATION, "radius_km": "pos_float", "headcount": "nonneg_int",
        "revenue_eur": "nonneg_float", "budget_eur": "nonneg_float",
        "max_target_headcount": "nonneg_int", "legal_form": "legal_form", "ess": "bool",
        "esus": "bool", "pole": "list", "partners": "siren_list", "trains_apprentices": "bool",
    },
)
OUTCOME = Spec(
    name="outcome",
    key=("siren", "candidate_id", "outcome", "date"),
    required=("siren", "candidate_id", "outcome"),
    kinds={"siren": "siren", "candidate_id": "outcome_candidate", "outcome": "outcome",
           "date": "date", "advisor": "text", "note": "text"},
)
POLE = Spec(
    name="pole",
    key=("pole_id",),
    required=("pole_id", "name"),
    one_of=(("departements", "communes", "lat"),),
    kinds={"pole_id": "text", "name": "text", "departements": "departements", "communes": "list",
           "lat": "float", "lon": "float", "radius_km": "pos_float", "cooperative_support": "bool"},
)
SPECS = {"companies": COMPANY, "candidates": CANDIDATE, "outcomes": OUTCOME, "poles": POLE}


def luhn_valid(digits: pd.Series) -> np.ndarray:
    """Luhn check of 9-digit strings, vectorised; La Poste's SIREN 356000000 is accepted."""
    arr = np.frombuffer("".join(digits.to_numpy(dtype=object)).encode("ascii"), dtype=np.uint8).reshape(-1, 9) - 48
    arr = arr.astype(np.int16)
    doubled = arr[:, 1::2] * 2  # from the right, every second digit of 9 is at odd positions
    doubled = doubled - 9 * (doubled > 9)
    total = arr[:, 0::2].sum(axis=1) + doubled.sum(axis=1)
    return (total % 10 == 0) | (digits.to_numpy() == LA_POSTE)


def clean_siren(values: pd.Series) -> pd.Series:
    """Strip spaces (``"802 649 921"`` -> ``"802649921"``)."""
    return values.str.replace("[\\s\u00a0]", "", regex=True)


def map_distinct(s: pd.Series, fn) -> pd.Series:
    """``s.map(fn)`` computed once per distinct value (cells repeat a lot in real files).

    Missing values (None, NaN, NA) are one distinct value, passed to ``fn`` as None.
    """
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:len(uniques)] = [fn(u) for u in uniques]
    if (codes < 0).any():
        table[len(uniques)] = fn(None)  # code -1 picks the last slot
    return pd.Series(table[codes], index=s.index, dtype=object)


class Validator:
    """Validates a frame of raw cells (strings, lists or NaN) against a :class:`Spec`."""

    def __init__(self, spec: Spec, *, communes: Communes | None = None) -> None:
        self.spec = spec
        self.communes = communes

    def run(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        """Return (clean values, reasons); reasons[i] == "" where row i is valid."""
        df = raw.copy()
        for col in self.spec.columns:
            if col not in df.columns:
                df[col] = None
        text = df[list(self.spec.columns)].apply(_to_text)
        reasons = pd.Series([[] for _ in range(len(df))], index=df.index, dtype=object)
        out = pd.DataFrame(index=df.index)

        def fail(mask: pd.Series | np.ndarray, messages) -> None:
            mask = np.asarray(mask, dtype=bool)
            if not mask.any():
                return
            idx = df.index[mask]
            if callable(messages):  # built only when some row fails
                messages = messages()
            msgs = messages if isinstance(messages, str) else messages[mask]
            for i, m in zip(idx, [msgs] * len(idx) if isinstance(msgs, str) else msgs):
                reasons.at[i].append(m)

        for col in self.spec.required:
            fail(text[col] == "", f"{col} is required and is empty")
        for group in self.spec.one_of:
            present = [c for c in group if c in text]
            none = np.logical_and.reduce([text[c] == "" for c in present])
            fail(none, f"one of {'/'.join(group)} is required and all are empty")
        for col, kind in self.spec.kinds.items():
            if col in _LOCATION and self.spec.location:
                continue
            out[col] = getattr(self, f"_{kind}")(col, text[col], fail)
        if self.spec.location:
            self._location(text, out, fail)
        self._cross_rules(text, out, fail)
        extras = [c for c in raw.columns if c not in self.spec.columns]
        out["extra"] = _extra_payload(raw, extras)
        return out, reasons.map("; ".join)

    # --- column kinds: each returns the clean column and reports bad cells through `fail`
    def _text(self, col, s, fail):
        return s.where(s != "", None)

    def _siren(self, col, s, fail):
        v = clean_siren(s)
        shape = v.str.fullmatch(r"\d{9}")
        fail((s != "") & ~shape, lambda: col + " " + s + " is not 9 digits")
        ok = np.zeros(len(v), dtype=bool)
        if shape.any():
            ok[shape.to_numpy()] = luhn_valid(v[shape])
        fail(shape & ~ok, lambda: col + " " + v + " fails the Luhn check (a SIREN's 9th digit is a check digit)")
        return v.where(v != "", None)

    def _candidate_id(self, col, s, fail):
        v = clean_siren(s)
        looks_siren = v.str.fullmatch(r"\d{9}")
        ok = np.ones(len(v), dtype=bool)
        if looks_siren.any():
            ok[looks_siren.to_numpy()] = luhn_valid(v[looks_siren])
        fail(looks_siren & ~ok, lambda: col + " " + v + " looks like a SIREN but fails the Luhn check")
        return v.where(looks_siren, s.str.strip()).where(s != "", None)

    def _outcome_candidate(self, col, s, fail):
        emp = s.str.match(r"^employees:")
        tail = clean_siren(s.str.replace(r"^employees:", "", regex=True))
        bad_emp = emp & ~tail.str.fullmatch(r"\d{9}")
        fail(bad_emp, lambda: col + " " + s + " must be employees:<siren> with a 9-digit SIREN")
        ids = self._candidate_id(col, s.where(~emp, ""), fail)
        return ids.where(~emp, "employees:" + tail).where(s != "", None)

    def _naf(self, col, s, fail):
        v = map_distinct(s, lambda x: naf.normalize(x) if x else "").astype(str)
        known = v.isin(naf.nomenclature().index.keys())
        fail((s != "") & ~known, lambda: col + " " + s + " is not a NAF rév. 2 sub-class (expected e.g. 43.32A or 4332A)")
        return v.where(known, None)

    def _naf_list(self, col, s, fail, prefixes=False):
        norm = naf.normalize_prefix if prefixes else naf.normalize
        known = naf.nomenclature().index

        def parse(cell: str):
            items = [x.strip() for x in cell.split(";") if x.strip()] if cell else []
            good, bad = [], []
            for x in items:
                n = norm(x)
                (good if n and (prefixes or n in known) else bad).append(n or x)
            return good, bad

        parsed = map_distinct(s, parse)
        bad = parsed.map(lambda p: ", ".join(p[1]))
        what = "NAF codes or prefixes (43, 43.3, 43.32, 43.32A)" if prefixes else "NAF rév. 2 sub-classes"
        fail(bad != "", lambda: col + " has " + bad + ", which are not " + what)
        return parsed.map(lambda p: p[0])

    def _naf_prefixes(self, col, s, fail):
        return self._naf_list(col, s, fail, prefixes=True)

    def _list(self, col, s, fail):
        return map_distinct(s, lambda c: [x.strip() for x in c.split(";") if x.strip()] if c else [])

    def _departements(self, col, s, fail):
        items = self._list(col, s, fail)
        bad = items.map(lambda xs: ", ".join(x for x in xs if not _is_departement(x)))
        fail(bad != "", lambda: col + " has " + bad + ", which are not département codes (01..95, 2A, 2B, 971..976)")
        return items

    def _siren_list(self, col, s, fail):
        items = self._list(col, s, fail).map(lambda xs: ["".join(x.split()) for x in xs])
        flat = pd.Series([x for xs in items for x in xs], dtype=str)
        bad_set: set[str] = set()
        if len(flat):
            shape = flat.str.fullmatch(r"\d{9}")
            ok = np.zeros(len(flat), dtype=bool)
            if shape.any():
                ok[shape.to_numpy()] = luhn_valid(flat[shape])
            bad_set = set(flat[~ok])
        bad = items.map(lambda xs: ", ".join(x for x in xs if x in bad_set))
        fail(bad != "", lambda: col + " has " + bad + ", which are not valid SIRENs (9 digits, Luhn)")
        return items

    def _number(self, col, s, fail, *, integer=False, minimum=None, strict_min=False):
        num = pd.to_numeric(s.str.replace(",", ".", regex=False).str.replace("[\\s\u00a0]", "", regex=True),
                            errors="coerce")
        fail((s != "") & num.isna(), lambda: col + " " + s + " is not a number")
        if integer:
            fail(num.notna() & (num != num.round()), lambda: col + " " + s + " is not a whole number")
        if minimum is not None:
            low = (num <= minimum) if strict_min else (num < minimum)
            fail(num.notna() & low, lambda: col + " " + s + (" must be > " if strict_min else " must be ≥ ") + str(minimum))
        return num.astype(float).where(num.notna(), None)

    def _float(self, col, s, fail):
        return self._number(col, s, fail)

    def _nonneg_float(self, col, s, fail):
        return self._number(col, s, fail, minimum=0)

    def _pos_float(self, col, s, fail):
        return self._number(col, s, fail, minimum=0, strict_min=True)

    def _nonneg_int(self, col, s, fail):
        return self._number(col, s, fail, integer=True, minimum=0)

    def _bool(self, col, s, fail):
        low = s.str.lower()
        ok = low.isin(TRUE_WORDS | FALSE_WORDS) | (low == "")
        fail(~ok, lambda: col + " " + s + " is not a boolean (true/false, 1/0, oui/non, yes/no, O/N)")
        return map_distinct(low, lambda x: True if x in TRUE_WORDS else (False if x in FALSE_WORDS else None))

    def _choice(self, col, s, fail, choices):
        low = s.str.lower()
        fail((s != "") & ~low.isin(choices), lambda: col + " " + s + " is not one of " + ", ".join(choices))
        return low.where(low.isin(choices), None)

    def _procedure(self, col, s, fail):
        return self._choice(col, s, fail, PROCEDURES)

    def _kind(self, col, s, fail):
        return self._choice(col, s, fail, CANDIDATE_KINDS)

    def _outcome(self, col, s, fail):
        return self._choice(col, s, fail, OUTCOMES)

    def _band(self, col, s, fail):
        v = s.str.upper().str.zfill(2).where(s != "", "")
        fail((s != "") & ~v.isin(HEADCOUNT_BANDS.keys()),
             lambda: col + " " + s + " is not a SIRENE headcount band (" + ", ".join(HEADCOUNT_BANDS) + ")")
        return v.where(v.isin(HEADCOUNT_BANDS.keys()), None)

    def _legal_form(self, col, s, fail):
        fail((s != "") & ~s.str.fullmatch(r"\d{4}"), lambda: col + " " + s + " is not a 4-digit SIRENE categorieJuridique code")
        return s.where(s.str.fullmatch(r"\d{4}"), None)

    def _date(self, col, s, fail):
        shape = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
        d = pd.to_datetime(s.where(shape, None), format="%Y-%m-%d", errors="coerce")
        fail((s != "") & d.isna(), lambda: col + " " + s + " is not an ISO date (YYYY-MM-DD)")
        return s.where(d.notna(), None)

    # --- location: lat/lon, else INSEE commune, else postal code
    def _location(self, text, out, fail):
        lat = self._number("lat", text["lat"], fail)
        lon = self._number("lon", text["lon"], fail)
        has_ll = lat.notna() & lon.notna()
        half = (text["lat"] != "") ^ (text["lon"] != "")
        fail(half, "lat and lon must be given together")
        outside = has_ll & ~in_territory(lat.fillna(0), lon.fillna(0))
        fail(outside, lambda: "lat/lon " + text["lat"] + "," + text["lon"]
             + " is outside France métropolitaine and the DOM (lat 41.2..51.2, lon -5.3..9.7, or a DOM)")
        commune, postal = text["commune"], text["postal_code"]
        fail((commune != "") & ~commune.str.fullmatch(r"\d{5}|2[AB]\d{3}"),
             lambda: "commune " + commune + " is not an INSEE commune code (5 characters, 2A/2B for Corsica)")
        fail((postal != "") & ~postal.str.fullmatch(r"\d{5}"), lambda: "postal_code " + postal + " is not 5 digits")
        need = ~has_ll & ~half & ((commune != "") | (postal != ""))
        fail(~has_ll & ~half & (commune == "") & (postal == ""),
             "no location: give lat/lon, commune (INSEE code) or postal_code")
        if need.any() and self.communes is None:
            fail(need, "commune/postal_code can only be placed with a communes file: set REPRISE_COMMUNES "
                       "to a file with the columns of INSEE's communes list (insee_com, code_postal, lat, lng)")
        elif need.any():
            by_c = self.communes.by_insee.reindex(commune[need])
            by_p = self.communes.by_postal.reindex(postal[need])
            lat.loc[need] = np.where(by_c["lat"].notna(), by_c["lat"], by_p["lat"])
            lon.loc[need] = np.where(by_c["lon"].notna(), by_c["lon"], by_p["lon"])
            unknown = need & lat.isna()
            fail(unknown, lambda: "commune " + commune + " / postal_code " + postal + " is not in the communes file")
        out["lat"], out["lon"] = lat, lon
        out["commune"] = commune.where(commune != "", None)
        out["postal_code"] = postal.where(postal != "", None)
        out["departement"] = [departement_of(c, p) for c, p in zip(out["commune"], out["postal_code"])]

    def _cross_rules(self, text, out, fail):
        if self.spec is COMPANY:
            conf = out["confidential"]
            out["confidential"] = conf.where(conf.notna(), out["procedure"].isin(CONFIDENTIAL_BY_LAW))
            out["procedure"] = out["procedure"].fillna("none") if "procedure" in out else "none"
            fail((text["headcount"] != "") & (text["headcount_band"] != ""),
                 "give headcount or headcount_band, not both")
        if self.spec is POLE:
            half = (text["lat"] != "") & (text["radius_km"] == "")
            fail(half, "a circle territory needs lat, lon and radius_km")


def _is_departement(code: str) -> bool:
    if code in ("2A", "2B"):
        return True
    if code.isdigit() and len(code) == 2:
        return 1 <= int(code) <= 95 and code != "20"
    return code.isdigit() and len(code) == 3 and 971 <= int(code) <= 976


ARROW_STR = pd.StringDtype("pyarrow")


def _to_text(col: pd.Series) -> pd.Series:
    """Cells as stripped Arrow-backed strings, '' for empty; JSON lists become ``;``-joined text.

    Arrow strings make every later ``.str`` operation run in C++ instead of per cell in Python.
    """
    def one(x):
        if isinstance(x, (list, tuple)):
            return ";".join(str(i) for i in x)
        if x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and np.isnan(x)):
            return ""
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, float) and x.is_integer():
            return str(int(x))
        return str(x)
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind in ("string", "empty"):
        text = col.astype(ARROW_STR)
    elif str(col.dtype) in ("bool", "boolean"):
        text = col.map({True: "true", False: "false"}).astype(ARROW_STR)
    elif pd.api.types.is_integer_dtype(col.dtype):
        text = col.astype(ARROW_STR)
    elif pd.api.types.is_float_dtype(col.dtype):
        whole = col.notna() & (col == col.round())
        text = col.astype(ARROW_STR)
        text[whole] = col[whole].astype("int64").astype(ARROW_STR)
    elif col.dtype == object:
        text = map_distinct(col.map(lambda x: tuple(x) if isinstance(x, list) else x), one).astype(ARROW_STR)
    else:
        text = col.astype(object).map(one).astype(ARROW_STR)
    return text.fillna("").str.strip()


def _extra_payload(raw: pd.DataFrame, extras: list[str]) -> pd.Series:
    if not extras:
        return pd.Series([None] * len(raw), index=raw.index, dtype=object)
    sub = raw[extras].astype(object).where(raw[extras].notna(), None)
    return pd.Series(sub.to_dict("records"), index=raw.index, dtype=object)


def headcount_estimate(headcount: object, band: object) -> float | None:
    """Employees from a headcount or, failing that, the middle of a SIRENE band."""
    if headcount is not None and not pd.isna(headcount):
        return float(headcount)
    if band:
        lo, hi = HEADCOUNT_BANDS[band]
        return (lo + hi) / 2
    return None
