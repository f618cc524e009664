"""The daily scan: BODACC file -> signals and companies in the store -> ranked options (§4).

Incremental and safe to kill: signals and the companies they change are written together, one
transaction per chunk of announcements; a stored signal is never processed again unless it was
stored with a reason (so a re-run with a communes file or SIRENE extracts can complete it). An
actionable signal is ranked once (``signals.matched``): the options of each chunk of companies are
stored as they are ranked, but the signals are marked ranked only once the run's outputs are
written (``deliver``), so a scan killed, or whose outputs cannot be written (a full disk), ranks
those companies again on the next run and writes them then: a day's cases are never lost.

Company updates: an opening sets ``procedure`` (and makes the case public: ``confidential`` false),
a closure sets ``none``; either applies only when the judgment is not older than the stored
``procedure_date`` (which then holds that judgment's date), so files scanned out of order cannot
reopen a closed case. Other signals only fill empty fields. A company first seen through another
signal is created when its nature names the procedure (``plan de redressement`` -> redressement,
with no ``procedure_date``), and not otherwise (a claims filing does not say which procedure: storing
``none`` would be false). Companies already stored keep their name, place, pole and source.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine as DbEngine

from matcher import store
from matcher.ranking.batch import MATCH_COLUMNS, match_all, to_frame
from matcher.reference.communes import Communes
from matcher.reference.geo import departement_of
from matcher.scan.judgments import CATEGORIES
from matcher.scan.placing import PrecomputedInferer, place_signals
from matcher.scan.signals import SIGNAL_COLUMNS, read_signals
from matcher.store.scan import mark_ranked, pending_sirens, save_matches, signal_batch, stored_signals

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, advance, total)
Deliver = Callable[["ScanReport"], None]  # writes a run's outputs; raising leaves its cases pending
MIN_FORK_CHUNK = 25  # below this many companies per process, forking costs more than it saves
COMPANY_FILL = ("naf", "activity", "headcount_band", "legal_form", "ess", "commune", "postal_code")


@dataclass
class ScanReport:
    read: int
    by_category: dict[str, int]
    actionable: int
    new_signals: int
    new_companies: int
    updated_companies: int
    rejected: int
    ranked: int
    signals: pd.DataFrame  # every announcement, contract columns
    matches: pd.DataFrame = field(default_factory=lambda: to_frame([]))  # §2 layout, ranked this run
    cases: list[dict[str, Any]] = field(default_factory=list)  # companies ranked this run

    def summary(self) -> str:
        cats = ", ".join(f"{c} {n}" for c, n in self.by_category.items() if n) or "none"
        return (f"read {self.read}; signals: {cats}; actionable {self.actionable}; "
                f"new signals {self.new_signals}; new companies {self.new_companies} "
                f"({self.updated_companies} updated); rejected {self.rejected}; "
                f"ranked {self.ranked} companies, {len(self.matches)} options")


def _date(row: dict) -> str | None:
    return row.get("judgment_date") or row.get("publication_date")


def merge_company(existing: dict | None, s: dict, stamp) -> tuple[dict | None, str]:
    """The company row after signal ``s`` (None when it cannot be created), and a reason."""
    date = _date(s)
    if existing is None:
        proc = s["procedure"] or s["procedure_hint"]
        if proc is None:
            return None, ""  # the signal does not tell the procedure: "none" would be false
        if s["place_reason"]:
            return None, s["place_reason"]
        return {
            "siren": s["siren"], "name": s["name"] or s["siren"], "naf": s["sirene_naf"],
            "activity": s["activity"], "lat": float(s["lat"]), "lon": float(s["lon"]),
            "commune": s["commune"], "postal_code": s["postal_code_place"], "departement": s["departement"],
            "headcount": None, "headcount_band": s["headcount_band"], "revenue_eur": None,
            "procedure": proc, "procedure_date": date if s["procedure"] else None,
            "offer_deadline": s["offer_deadline"], "pole": None, "confidential": False, "ess": s["ess"],
            "legal_form": s["legal_form"], "description": None, "source": "scan", "extra": None,
            "updated_at": stamp,
        }, ""
    row = dict(existing)
    fill = {"naf": s["sirene_naf"], "activity": s["activity"], "headcount_band": s["headcount_band"],
            "legal_form": s["legal_form"], "ess": s["ess"], "commune": s["commune"],
            "postal_code": s["postal_code_place"]}
    for col in COMPANY_FILL:
        if row.get(col) is None and fill[col] is not None:
            row[col] = fill[col]
    stored = row.get("procedure_date")
    if s["procedure"] and ((date and (not stored or date >= stored)) or (not date and not stored)):
        row["procedure"], row["procedure_date"] = s["procedure"], date
        if s["procedure"] != "none":
            row["confidential"] = False
    if s["offer_deadline"]:
        row["offer_deadline"] = s["offer_deadline"]
    row["updated_at"] = stamp
    return row, ""


def store_chunk(db: DbEngine, chunk: pd.DataFrame) -> tuple[int, int, int, dict[str, str]]:
    """Store one chunk of signals and their companies in one transaction.

    Returns (new signals, new companies, updated companies, reason per record id set here).
    """
    ids = chunk["record_id"].tolist()
    stamp = store.now()
    with signal_batch(db) as batch:
        done = batch.stored_reasons(ids)
        todo = chunk[[rid not in done or bool(done[rid]) for rid in ids]]
        current = batch.companies(sorted(set(todo["siren"].dropna())))
        created, changed, reasons = set(), set(), {}
        order = todo.assign(_d=todo["judgment_date"].fillna(todo["publication_date"])).sort_values("_d", kind="stable")
        for s in order.to_dict("records"):
            if s["reason"] or not s["siren"]:
                continue
            row, why = merge_company(current.get(s["siren"]), s, stamp)
            if row is None:
                if why:
                    reasons[s["record_id"]] = why
                continue
            (changed if s["siren"] in current and s["siren"] not in created else created).add(s["siren"])
            current[s["siren"]] = row
        rows = [current[x] for x in sorted(created | changed)]
        batch.save_companies(rows)
        sig_rows = []
        for s in todo.to_dict("records"):
            reason = s["reason"] or reasons.get(s["record_id"], "")
            sig_rows.append({
                "record_id": s["record_id"], "siren": s["siren"], "name": s["name"], "category": s["category"],
                "procedure": s["procedure"], "actionable": bool(s["actionable"] and not reason),
                "judgment_date": s["judgment_date"], "publication_date": s["publication_date"],
                "postal_code": s["postal_code"], "activity": s["activity"], "naf": s["naf"],
                "reason": reason, "matched": False, "scanned_at": stamp})
        batch.save_signals(sig_rows)
    new = sum(1 for rid in todo["record_id"] if rid not in done)
    return new, len(created), len(changed), reasons


def store_matches(db: DbEngine, sirens: list[str], df: pd.DataFrame, model_id: str) -> None:
    """Replace the stored options of ``sirens`` (their signals stay pending until delivered)."""
    stamp = store.now()
    rows = [dict(r, model_id=model_id, created_at=stamp) for r in df[MATCH_COLUMNS].to_dict("records")]
    save_matches(db, sirens, rows)


def scan_file(db: DbEngine, path: str | Path | pd.DataFrame, *, communes: Communes | None = None,
              sirene_units: str | Path | None = None, sirene_establishments: str | Path | None = None,
              scorer: Any = None, top: int = 10, scheduler: str | Any | None = None, workers: int = 1,
              chunk: int = 2000, rank_chunk: int = 500, progress: Progress | None = None,
              index_dir: Path | None = None, deliver: Deliver | None = None) -> ScanReport:
    """Scan one BODACC file into the store and rank the newly actionable companies.

    ``scheduler`` (a Dask address or Client) runs the ranking on a Dask cluster; otherwise
    ``workers`` local processes rank (same rows either way). ``deliver(report)`` writes the run's
    outputs before its companies are marked ranked: when it raises, they stay pending. ``path``
    may be the file's signals as :func:`~matcher.scan.signals.read_signals` returned them.
    """
    from matcher.reference.sectors import default_inferer
    from matcher.scan.sirene import enrichment

    sig = path.copy() if isinstance(path, pd.DataFrame) else read_signals(path)
    sirens = sig["siren"].dropna().unique().tolist()
    enrich = (enrichment(sirene_units, sirene_establishments, sirens) if (sirene_units or sirene_establishments)
              else enrichment(None, None, []))
    prof = enrich.reindex(sig["siren"].fillna("")).reset_index(drop=True)
    sig["sirene_naf"] = prof["naf"].to_numpy(dtype=object)
    for col in ("headcount_band", "legal_form", "ess"):
        sig[col] = prof[col].astype(object).where(prof[col].notna(), None).to_numpy(dtype=object)
    sig = pd.concat([sig, place_signals(sig, enrich, communes)], axis=1)
    sig = sig.astype(object).where(sig.notna(), None)
    inferer = PrecomputedInferer(default_inferer(), sig.loc[sig["sirene_naf"].isna(), "activity"].dropna().tolist())
    sig["naf"] = pd.Series([n if n else (inferer.table.get(a) or [(None, 0)])[0][0] if a else None
                            for n, a in zip(sig["sirene_naf"], sig["activity"])], index=sig.index, dtype=object)
    first = ~sig["record_id"].duplicated()
    new_sig = new_co = upd_co = 0
    for lo in range(0, len(sig), chunk):
        part = sig.iloc[lo:lo + chunk]
        n, c, u, _ = store_chunk(db, part[first.iloc[lo:lo + chunk].to_numpy()])
        new_sig, new_co, upd_co = new_sig + n, new_co + c, upd_co + u
        if progress:
            progress("storing", len(part), len(sig))
    sig = _as_stored(db, sig, first.to_numpy())
    counts = Counter(sig["category"])
    report = ScanReport(
        read=len(sig), by_category={c: counts.get(c, 0) for c in CATEGORIES},
        actionable=int(sig["actionable"].sum()), new_signals=new_sig, new_companies=new_co,
        updated_companies=upd_co, rejected=int((sig["reason"] != "").sum()), ranked=0,
        signals=sig[SIGNAL_COLUMNS].copy())
    ranked = rank_pending(db, report, scorer=scorer, inferer=inferer, top=top, scheduler=scheduler,
                          workers=workers, chunk=rank_chunk, progress=progress, signals=sig, index_dir=index_dir)
    if deliver is not None:
        deliver(report)
    mark_ranked(db, ranked)
    return report


def _as_stored(db: DbEngine, sig: pd.DataFrame, first: np.ndarray) -> pd.DataFrame:
    """The file's signals with ``reason`` and ``actionable`` as the store holds them."""
    stored = stored_signals(db, sig.loc[first, "record_id"].tolist())
    sig = sig.copy()
    got = [stored.get(r) if f else None for r, f in zip(sig["record_id"], first)]
    sig["reason"] = [g[0] if g else why for g, why in zip(got, sig["reason"])]
    sig["actionable"] = [g[1] if g else bool(a) for g, a in zip(got, sig["actionable"])]
    return sig


def rank_pending(db: DbEngine, report: ScanReport, *, scorer: Any, inferer: Any, top: int, scheduler: Any,
                 workers: int, chunk: int, progress: Progress | None, signals: pd.DataFrame,
                 index_dir: Path | None = None) -> list[str]:
    """Rank every company with an actionable signal not yet ranked, chunk by chunk, each chunk's
    options stored atomically; returns those SIRENs, to be marked ranked once delivered. With
    ``index_dir`` the index snapshot there is opened (and kept up to date) instead of a build."""
    from matcher.ranking.engine import Engine
    from matcher.store.records import company_rows

    pending = pending_sirens(db)
    if not pending:
        return []
    engine = Engine.from_store(db, scorer=scorer, inferer=inferer) if index_dir is None else \
        Engine.open(db, index_dir, scorer=scorer, inferer=inferer)
    ranker = None
    if scheduler is not None:
        from matcher.ranking.distributed import DaskRanker
        ranker = DaskRanker(engine, scheduler)
    frames, companies = [], []
    chunks = [pending[lo:lo + chunk] for lo in range(0, len(pending), chunk)]
    try:
        # on Dask every chunk is submitted first, so the cluster works while results are stored
        batches = [[c for c in company_rows(db, sirens) if c["procedure"] != "none"] for sirens in chunks] \
            if ranker else None
        queued = [ranker.submit(b, top=top) for b in batches] if ranker else None
        for i, sirens in enumerate(chunks):
            if ranker:
                batch, df = batches[i], ranker.collect(queued[i])
            else:
                batch = [c for c in company_rows(db, sirens) if c["procedure"] != "none"]  # closed since: skip
                df = match_all(engine, batch, top=top, workers=workers,
                               chunk=max(MIN_FORK_CHUNK, -(-len(batch) // workers)))
            store_matches(db, sirens, df, engine.scorer.model_id)
            frames.append(df)
            companies += batch
            report.ranked += len(batch)
            if progress:
                progress("ranking", len(sirens), len(pending))
    finally:
        if ranker is not None:
            ranker.close()
    report.matches = pd.concat(frames, ignore_index=True) if frames else to_frame([])
    act = signals[signals["actionable"].astype(bool)]
    info = act[["category", "judgment_date", "naf", "city"]].rename(columns={"naf": "signal_naf"})
    latest = dict(zip(act["siren"], info.to_dict("records")))
    for c in companies:
        dep = c.get("departement") or departement_of(c.get("commune"), c.get("postal_code"))
        poles = [c["pole"]] if c.get("pole") else engine.poles.containing(
            departement=dep, commune=c.get("commune"), lat=c["lat"], lon=c["lon"])
        report.cases.append({**c, **latest.get(c["siren"], {}), "poles": poles})
    return pending
