"""A deterministic demo territory in the contract's file formats, and fast benchmark generators.

:func:`generate` writes ``poles.csv``, ``companies.csv``, ``candidates.csv`` and ``outcomes.csv``
(docs/contract.md §1.1-1.4) for Loire-Atlantique, Maine-et-Loire and Vendée with three PTCE (the tables
are in :mod:`matcher.demo.territory`; the advisor history and the hidden utility it is drawn
from in :mod:`matcher.demo.outcomes`). Every row has ``lat``/``lon`` (no communes file needed)
and also its ``commune`` and ``postal_code``. About 10% of companies have no ``naf``, only an
``activity`` text. A few candidates are themselves companies in difficulty (the engine must
exclude them); half of the declared employee groups belong to a company in difficulty.

:func:`synth_companies` and :func:`synth_candidates` build the same rows, vectorised, at
benchmark scale (1,000,000 candidates in a few seconds) over any places table. Their frames
use pandas nullable dtypes; :func:`write_csv` writes any of them in the contract's CSV form.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from matcher.contract.outputs import output_file
from matcher.demo.outcomes import OUTCOME_COLUMNS, link, simulate
from matcher.demo.rows import CANDIDATE_COLUMNS, COMPANY_COLUMNS, POLE_COLUMNS, candidates_frame, companies_frame
from matcher.demo.territory import ADVISORS, POLES, Places, siren_seq

__all__ = ["CANDIDATE_COLUMNS", "COMPANY_COLUMNS", "OUTCOME_COLUMNS", "POLE_COLUMNS", "generate",
           "synth_candidates", "synth_companies", "write_csv"]


def synth_companies(n: int, *, seed: int = 2, places: pd.DataFrame | None = None) -> pd.DataFrame:
    """``n`` companies in difficulty (contract §1.1 columns), vectorised, spread over ``places``."""
    rng = np.random.default_rng(seed)
    sirens = siren_seq(np.random.default_rng([seed, 11]), (3, 4, 5))(np.arange(n))
    return companies_frame(rng, n, Places(places), sirens)[COMPANY_COLUMNS]


def synth_candidates(n: int, *, seed: int = 1, places: pd.DataFrame | None = None) -> pd.DataFrame:
    """``n`` takeover candidates (contract §1.2 columns), vectorised, spread over ``places``.

    Their SIRENs never collide with those of :func:`synth_companies`; about 10% of companies and
    pole members name one or two partners among the first 60,000 of ``synthcompanies_frame(seed=2)``.
    """
    rng = np.random.default_rng(seed)
    sirens = siren_seq(np.random.default_rng([seed, 13]), (7, 8, 9))
    cand = candidates_frame(rng, n, Places(places), sirens)
    has = np.isin(cand["kind"].to_numpy(), ["company", "pole_member"]) & (rng.random(n) < 0.1)
    m = int(has.sum())
    company_sirens = siren_seq(np.random.default_rng([2, 11]), (3, 4, 5))
    partners = company_sirens(rng.integers(0, 60_000, size=2 * m))
    partners = partners[:m] + np.where(rng.random(m) < 0.4, ";" + partners[m:], "")
    cand.loc[has, "partners"] = partners
    return cand[CANDIDATE_COLUMNS]


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a frame in the contract's CSV form: booleans ``true/false``, missing values empty,
    hidden working columns (``_...``) left out."""
    out = frame[[c for c in frame.columns if not str(c).startswith("_")]].copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.BooleanDtype):
            values = out[col]
            out[col] = np.select([values.eq(True).fillna(False), values.eq(False).fillna(False)],
                                 ["true", "false"], "")
    with output_file(path, option="--dir") as fh:
        out.to_csv(fh, index=False, lineterminator="\n")
    return Path(path)


def generate(out_dir: Path, *, seed: int = 2026, companies: int = 240,
             candidates: int = 1500) -> dict[str, Path]:
    """Write the demo territory (poles, companies, candidates, outcomes) into ``out_dir``.

    The same seed gives byte-identical files.
    """
    rng = np.random.default_rng(seed)
    places = Places(None)
    sirens = siren_seq(rng, (3, 4, 5, 7, 8, 9))
    comp = companies_frame(rng, companies, places, sirens(np.arange(companies)))
    comp["_poles"] = [[p for p in (places.pole1[k], places.pole2[k]) if p] for k in comp["_place"]]
    cand = candidates_frame(rng, candidates, places, lambda idx: sirens(companies + idx))
    link(rng, comp, cand)
    poles = pd.DataFrame([(p[0], p[1], p[2], p[3], None, None, None, p[4]) for p in POLES],
                         columns=POLE_COLUMNS)
    poles["cooperative_support"] = poles["cooperative_support"].astype("boolean")
    supported = {p[0] for p in POLES if p[4]}
    outcomes = simulate(rng, comp, cand, supported_poles=supported, advisors=ADVISORS)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {"poles": poles, "companies": comp,
              "candidates": cand, "outcomes": outcomes}
    return {key: write_csv(frame, out_dir / f"{key}.csv") for key, frame in frames.items()}
