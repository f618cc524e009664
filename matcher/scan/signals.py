"""BODACC announcements of collective procedures -> signals (docs/contract.md §4).

Reads the layouts of the open-data dataset ``annonces-commerciales`` (API response
``{"results": [...]}``, JSON array, JSON Lines, the ``;`` CSV export) through
:func:`matcher.contract.files.read_records`. Nested fields (``jugement``, ``listepersonnes``,
``listeetablissements``) may be JSON-encoded strings or objects; ``personne`` may be one object or
a list; ``activite`` may be a list; a person may have several addresses. What a judgment means
(category, procedure, dates, offer deadline) is read by :mod:`matcher.scan.judgments`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.contract.files import read_records
from matcher.contract.identifiers import luhn_valid
from matcher.errors import InputFileError
from matcher.reference.text import fold
from matcher.scan.judgments import (
    ACTIONABLE,
    CATEGORY_PROCEDURE,
    classify,
    decision_text,
    offer_deadline,
    parse_date,
    procedure_hint,
)

SIGNAL_COLUMNS = ["record_id", "siren", "name", "category", "procedure", "actionable", "judgment_date",
                  "postal_code", "activity", "naf", "reason"]
FIELDS = ["record_id", "line", "siren", "name", "person_type", "category", "procedure", "procedure_hint",
          "actionable", "judgment_date", "publication_date", "offer_deadline", "postal_code", "city",
          "activity", "nature", "reason"]
_ADDRESS_KEYS = ("adresseSiegeSocial", "adresseEtablissementPrincipal", "adressePP", "adresse")



def _obj(value: Any, field: str) -> tuple[Any, str]:
    """A nested field as an object; JSON-encoded strings are decoded. Returns (value, error)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None, ""
    if isinstance(value, (dict, list)):
        return value, ""
    try:
        return json.loads(value), ""
    except (TypeError, ValueError) as exc:
        return None, f"{field} is not valid JSON ({exc}): {str(value)[:60]!r}"


def _as_list(value: Any) -> list:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return [value]


def _text(value: Any) -> str:
    parts = [html.unescape(" ".join(str(v).split())) for v in _as_list(value) if v not in (None, "")]
    return ", ".join(dict.fromkeys(p for p in parts if p))


def _siren_values(record: dict, persons: list[dict]) -> list[str]:
    """SIREN-like strings from ``registre`` (list, or comma-joined in the CSV export) then persons."""
    values: list[str] = []
    for item in _as_list(record.get("registre")):
        values += str(item).split(",")
    for p in persons:
        imm = p.get("numeroImmatriculation")
        for i in _as_list(imm):
            if isinstance(i, dict) and i.get("numeroIdentification"):
                values.append(str(i["numeroIdentification"]))
    cleaned = ["".join(v.split()) for v in values]  # str.split() also splits on non-breaking spaces
    return list(dict.fromkeys(v for v in cleaned if v))


def _person_name(p: dict) -> str:
    if p.get("denomination"):
        return _text(p["denomination"])
    return " ".join(x for x in (_text(p.get("nom")), _text(p.get("prenom")).replace(",", "")) if x)


def _postal_codes(objs: list[dict]) -> list[str]:
    codes = []
    for o in objs:
        for key in _ADDRESS_KEYS:
            for addr in _as_list(o.get(key)):
                if isinstance(addr, dict) and re.fullmatch(r"\d{5}", str(addr.get("codePostal", "")).strip()):
                    codes.append(str(addr["codePostal"]).strip())
    return codes


def _record_id(record: dict) -> str:
    rid = record.get("id")
    if rid not in (None, "") and not (isinstance(rid, float) and np.isnan(rid)):
        rid = str(rid).strip()
        # the store keeps 64 characters: a longer id is replaced by its digest, stable across runs
        return rid if len(rid) <= 64 else "sha1:" + hashlib.sha1(rid.encode("utf-8")).hexdigest()[:24]
    payload = json.dumps({k: v for k, v in record.items() if not k.startswith("__")}, sort_keys=True,
                         default=str, ensure_ascii=False)
    return "sha1:" + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:24]


def _decode(record: dict) -> dict[str, Any]:
    """The nested fields of one announcement as objects, with the decoding errors."""
    errors = [record["__error__"]] if isinstance(record.get("__error__"), str) and record["__error__"] else []
    jug, err = _obj(record.get("jugement"), "jugement")
    errors += [err] if err else []
    jug = jug[0] if isinstance(jug, list) and jug else jug
    lp, err = _obj(record.get("listepersonnes"), "listepersonnes")
    errors += [err] if err else []
    le, err = _obj(record.get("listeetablissements"), "listeetablissements")
    errors += [err] if err else []
    persons = [p for p in _as_list(lp.get("personne") if isinstance(lp, dict) else lp) if isinstance(p, dict)]
    estabs = [e for e in _as_list(le.get("etablissement") if isinstance(le, dict) else le) if isinstance(e, dict)]
    sirens = _siren_values(record, persons)
    return {"record": record, "errors": errors, "jugement": jug if isinstance(jug, dict) else {},
            "persons": persons, "estabs": estabs, "sirens": sirens,
            "nine": [s for s in sirens if re.fullmatch(r"\d{9}", s)]}


def _luhn_set(values: list[str]) -> set[str]:
    unique = pd.Series(sorted(set(values)), dtype=object)
    return set(unique[luhn_valid(unique)]) if len(unique) else set()


def read_signal(record: dict, *, _decoded: dict | None = None, _valid: set[str] | None = None) -> dict[str, Any]:
    """One announcement (a dict of the dataset's fields) -> one signal; ``reason`` set when unusable."""
    d = _decoded or _decode(record)
    jug, persons, estabs, sirens, nine = d["jugement"], d["persons"], d["estabs"], d["sirens"], d["nine"]
    valid = [s for s in nine if s in (_valid if _valid is not None else _luhn_set(nine))]
    siren = valid[0] if valid else None
    main = next((p for p in persons if siren and siren in _siren_values({}, [p])), persons[0] if persons else {})
    complement = jug.get("complementJugement")
    category = classify(jug.get("famille"), jug.get("nature"), complement)
    cp = [*_postal_codes([main, *persons, *estabs]), str(record.get("cp") or "").strip()]
    cp = [c for c in cp if re.fullmatch(r"\d{5}", c)]
    activity = _text(main.get("activite")) or next((_text(e.get("activite")) for e in estabs if e.get("activite")), "")
    famille_avis = fold(record.get("familleavis"))
    if d["errors"]:
        reason = "; ".join(d["errors"])
    elif famille_avis and famille_avis != "collective":
        reason = f"familleavis {record.get('familleavis')!r} is not a collective procedure"
    elif not jug:
        reason = "no jugement field: the judgment cannot be told"
    elif siren:
        reason = ""
    elif nine:
        reason = f"siren {nine[0]} fails the Luhn check"
    elif sirens:
        reason = f"registre {sirens[0]!r} is not a 9-digit SIREN"
    elif fold(main.get("typePersonne")) == "pp":
        reason = "natural person without a SIREN (not in the trade or craft registers): nothing to match"
    else:
        reason = "no SIREN in registre or listepersonnes (an unregistered body such as an association)"
    return {
        "record_id": _record_id(record), "line": record.get("__line__"), "siren": siren,
        "name": _person_name(main) or _text(record.get("commercant")) or None,
        "person_type": fold(main.get("typePersonne")) or None, "category": category,
        "procedure": CATEGORY_PROCEDURE.get(category), "procedure_hint": procedure_hint(decision_text(jug)),
        "actionable": category in ACTIONABLE and not reason,
        "judgment_date": parse_date(jug.get("date")), "publication_date": parse_date(record.get("dateparution")),
        "offer_deadline": offer_deadline(complement), "postal_code": cp[0] if cp else None,
        "city": _text(record.get("ville")) or None, "activity": activity or None,
        "nature": jug.get("nature"), "reason": reason,
    }


BODACC_FIELDS = ("jugement", "familleavis", "listepersonnes", "registre", "commercant", "publicationavis")


def read_signals(path: str | Path) -> pd.DataFrame:
    """Every announcement of a BODACC file as a signal row, in file order.

    A file whose records carry none of the dataset's fields (a companies CSV given by mistake)
    is refused as a whole rather than stored as one ``other`` signal per row.
    """
    raw = read_records(path)
    fields = [c for c in raw.columns if not str(c).startswith("__")]
    if len(raw) and not any(f in fields for f in BODACC_FIELDS):
        raise InputFileError(f"{path} is not a BODACC annonces-commerciales export: its records have none of the "
                             f"fields {', '.join(BODACC_FIELDS)} (they have {', '.join(map(str, fields[:12]))}"
                             f"{', …' if len(fields) > 12 else ''}); see docs/scan.md", field="file", value=str(path))
    raw = raw.astype(object).where(raw.notna(), None)
    decoded = [_decode(r) for r in raw.to_dict("records")]
    valid = _luhn_set([s for d in decoded for s in d["nine"]])
    return signals_frame([read_signal(d["record"], _decoded=d, _valid=valid) for d in decoded])


def signals_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Signal rows as a frame; a record id seen twice keeps its first row, the others get a reason."""
    # object columns: a missing value stays None (pandas 3 would infer a string dtype with NaN)
    df = pd.DataFrame(rows, columns=FIELDS, dtype=object)
    df["actionable"] = df["actionable"].astype(bool)
    dup = df["record_id"].duplicated() & df["reason"].eq("")
    df.loc[dup, "reason"] = "record id " + df.loc[dup, "record_id"] + " already seen earlier in this file"
    df.loc[dup, "actionable"] = False
    df["naf"] = None
    return df
