"""Validation of a frame of raw cells against a record :class:`~matcher.contract.specs.Spec`.

Each column goes through its rule (``matcher.contract.rules``); the location columns are checked
together (lat/lon win, else the INSEE commune, else the postal code through the communes table);
then the rules that span columns. A row's reasons are joined with "; ".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.contract.identifiers import (
    COMMUNE_FORM,
    is_commune,
    is_postal_code,
    normalize_commune,
    normalize_postal_code,
)
from matcher.contract.rules import Place, map_distinct
from matcher.contract.specs import COMPANY, CONFIDENTIAL_BY_LAW, POLE, Spec
from matcher.contract.values import storable_problem
from matcher.reference.communes import Communes
from matcher.reference.geo import departement_of, in_territory

ARROW_STR = pd.StringDtype("pyarrow")


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
        self._unstorable: dict[str, pd.Series] = {}
        for col in self.spec.columns:  # NUL, lone surrogates (JSON files): reported, then blanked
            if df[col].dtype == object or isinstance(df[col].dtype, pd.StringDtype):  # pandas 3 reads str
                check = lambda v, c=col: storable_problem(v, c) if v is not None else None
                try:
                    problems = map_distinct(df[col], check)
                except TypeError:  # lists or objects (JSON): not hashable, checked one by one
                    problems = df[col].map(check).astype(object)
                if problems.notna().any():
                    self._unstorable[col] = problems
                    df[col] = df[col].where(problems.isna(), None)
        text = df[list(self.spec.columns)].apply(to_text)
        reasons = pd.Series([[] for _ in range(len(df))], index=df.index, dtype=object)
        out = pd.DataFrame(index=df.index)

        def fail(mask, messages) -> None:
            mask = np.asarray(mask, dtype=bool)
            if not mask.any():
                return
            idx = df.index[mask]
            if callable(messages):  # built only when some row fails
                messages = messages()
            msgs = messages if isinstance(messages, str) else messages[mask]
            for i, m in zip(idx, [msgs] * len(idx) if isinstance(msgs, str) else msgs):
                reasons.at[i].append(m)

        for problems in self._unstorable.values():
            fail(problems.notna().to_numpy(), lambda problems=problems: problems.fillna("").astype(str))
        for col in self.spec.required:
            empty = (text[col] == "").to_numpy(dtype=bool)
            if col in self._unstorable:  # blanked above: already reported
                empty &= self._unstorable[col].isna().to_numpy(dtype=bool)
            fail(empty, f"{col} is required and is empty")
        for group in self.spec.one_of:
            present = [c for c in group if c in text]
            none = np.logical_and.reduce([text[c] == "" for c in present])
            fail(none, f"one of {'/'.join(group)} is required and all are empty")
        for col, rule in self.spec.rules.items():
            if not isinstance(rule, Place):
                out[col] = _as_object(rule.check(col, text[col], fail))
        if self.spec.location:
            self._location(text, out, fail)
        self._cross_rules(text, out, fail)
        extras = [c for c in raw.columns if c not in self.spec.columns]
        out["extra"] = _extra_payload(raw, extras)
        if extras:
            problems = out["extra"].map(lambda e: storable_problem(e) if e else None)
            fail(problems.notna().to_numpy(), lambda: problems.fillna("").astype(str))
        return out, reasons.map("; ".join)

    def _location(self, text, out, fail) -> None:
        """lat/lon win; else the INSEE commune; else the postal code (its most populous commune)."""
        from matcher.contract.rules import Number
        lat = Number().check("lat", text["lat"], fail)
        lon = Number().check("lon", text["lon"], fail)
        has_ll = lat.notna() & lon.notna()
        half = (text["lat"] != "") ^ (text["lon"] != "")
        fail(half, "lat and lon must be given together")
        outside = has_ll & ~in_territory(lat.fillna(0), lon.fillna(0))
        fail(outside, lambda: "lat/lon " + text["lat"] + "," + text["lon"]
             + " is outside France métropolitaine and the DOM (lat 41.2..51.2, lon -5.3..9.7, or a DOM)")
        commune = map_distinct(text["commune"], lambda c: normalize_commune(c) if c else "").astype(str)
        postal = map_distinct(text["postal_code"], lambda c: normalize_postal_code(c) if c else "").astype(str)
        fail((commune != "") & ~map_distinct(commune, is_commune).astype(bool),
             lambda: "commune " + text["commune"] + f" is not {COMMUNE_FORM}")
        fail((postal != "") & ~map_distinct(postal, is_postal_code).astype(bool),
             lambda: "postal_code " + text["postal_code"] + " is not 5 digits")
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
            fail(unknown, lambda: np.where(commune != "", "commune " + commune, "postal_code " + postal)
                 + f" is not in {self._table()}")
        out["lat"], out["lon"] = lat, lon
        out["commune"] = commune.where(commune != "", None)
        out["postal_code"] = postal.where(postal != "", None)
        out["departement"] = [departement_of(c, p) for c, p in zip(out["commune"], out["postal_code"])]

    def _table(self) -> str:
        return (self.communes.source if self.communes is not None else "") or "the communes file"

    def _cross_rules(self, text, out, fail) -> None:
        if self.spec is COMPANY:
            conf = out["confidential"]
            out["confidential"] = conf.where(conf.notna(), out["procedure"].isin(CONFIDENTIAL_BY_LAW))
            out["procedure"] = out["procedure"].fillna("none") if "procedure" in out else "none"
            fail((text["headcount"] != "") & (text["headcount_band"] != ""),
                 "give headcount or headcount_band, not both")
        if self.spec is POLE and self.communes is not None:  # well-formed codes must exist, as a company's
            known = self.communes.by_insee.index
            absent = out["communes"].map(lambda xs: [x for x in xs if is_commune(x) and x not in known])
            fail(absent.map(bool).to_numpy(dtype=bool),
                 lambda: absent.map(lambda xs: "; ".join(f"commune {x} is not in {self._table()}" for x in xs)))
        if self.spec is POLE:
            half = (text["lat"] != "") & (text["radius_km"] == "")
            fail(half, "a circle territory needs lat, lon and radius_km")
            lat = pd.to_numeric(out["lat"], errors="coerce")
            lon = pd.to_numeric(out["lon"], errors="coerce")
            given = lat.notna() & lon.notna()
            outside = given & ~in_territory(lat.fillna(0), lon.fillna(0))
            fail(outside, lambda: "lat/lon " + text["lat"] + "," + text["lon"]
                 + " is outside France métropolitaine and the DOM (lat 41.2..51.2, lon -5.3..9.7, or a DOM)")


def _as_object(values: pd.Series) -> pd.Series:
    """A clean column with None for a missing value, whatever the rule's dtype (Arrow strings
    give NA, numbers NaN)."""
    if values.dtype == object:
        return values
    return values.astype(object).where(values.notna(), None)


def to_text(col: pd.Series) -> pd.Series:
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
        whole = col.notna() & np.isfinite(col.fillna(0.0)) & (col == col.round())
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
