"""`reprise import sirene` at national size (issue 12).

    python bench/bench_sirene.py generate [--rows 10000000] [--dir /work/scratch/sirene-bench]
    flock /work/locks/bench.lock python bench/bench_sirene.py run [--dir …] [--repeat 2]

``generate`` writes a StockEtablissement file with INSEE's 54 columns (in their order) and the
StockUniteLegale file of the same units (35 columns), as INSEE publishes them (CSV, ``,``, UTF-8):
units placed on real communes weighted by population, 1.35 establishments a unit, 45% of units
ceased, closed establishments among the others, Lambert-93 coordinates near the commune centre
(UTM overseas), 10% without coordinates and 4% not diffused (``[ND]``), addresses, dates, NAF
codes. Nothing of it goes to the repository.

``run`` measures, each in a fresh process (peak memory is the process's own), interleaved and
best of ``--repeat``:
- the establishments file filtered to three départements (44, 49, 85) by
  ``matcher.sirene.establishments.scan`` (rows/s, peak RSS);
- the same file read by a plain ``pandas.read_csv`` of the same columns (``usecols``, ``dtype=str``),
  then filtered in memory; and ``pandas.read_csv`` of every column on the first million rows
  (the whole file would not fit: its peak is extrapolated, and said so);
- ``reprise import sirene`` of a région (Pays de la Loire: 44, 49, 53, 72, 85) into a new SQLite
  store, both files streamed, then the same import again (nothing to write).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
import resource

from common import machine, peak_rss_mb, places

from tests.scan.test_sirene import ESTAB_HEADER, UNIT_HEADER

DEFAULT_DIR = Path("/work/scratch/sirene-bench")
THREE = ("44", "49", "85")
REGION = ("44", "49", "53", "72", "85")
CHUNK_UNITS = 400_000
STREETS = np.array(["DE LA GARE", "DU MOULIN", "DES ECOLES", "DE LA REPUBLIQUE", "VICTOR HUGO", "JEAN JAURES",
                    "DE L EGLISE", "DU STADE", "DES LILAS", "PASTEUR", "DE LA MAIRIE", "DU PORT", "DES ARTISANS",
                    "GAMBETTA", "DU GENERAL DE GAULLE", "DES PRES", "DE LA FORET", "DU CHATEAU"], dtype=object)
VOIES = np.array(["RUE", "AV", "BD", "CHE", "PL", "RTE", "ALL", "IMP", "ZA"], dtype=object)
FIRST = np.array(["MARIE", "JEAN", "PIERRE", "ANNE", "LUC", "CLAIRE", "PAUL", "SOPHIE", "YVES", "NATHALIE"], dtype=object)
LAST = np.array(["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU",
                 "LAURENT", "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND"], dtype=object)
WORDS = np.array(["BOULANGERIE", "MENUISERIE", "GARAGE", "TRANSPORTS", "BATIMENT", "CONSEIL", "IMMOBILIER",
                  "RESTAURANT", "PLOMBERIE", "ELECTRICITE", "COIFFURE", "PHARMACIE", "SCOP", "HOLDING"], dtype=object)
LEGAL = np.array(["1000", "5499", "5710", "5720", "6540", "9220", "5458", "5202"], dtype=object)
LEGAL_P = np.array([0.45, 0.2, 0.15, 0.08, 0.05, 0.05, 0.01, 0.01])
BANDS = np.array(["NN", "00", "01", "02", "03", "11", "12", "21", "22", ""], dtype=object)
BANDS_P = np.array([0.45, 0.1, 0.15, 0.1, 0.06, 0.05, 0.03, 0.01, 0.01, 0.04])
DATES = np.array([f"{y}-{m:02d}-{d:02d}" for y in range(1975, 2026, 3) for m in (1, 4, 7, 10) for d in (1, 15)],
                 dtype=object)
UTM = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}


def _luhn(base: np.ndarray) -> np.ndarray:
    """9-digit SIRENs (as int) from 8-digit bases: the check digit makes them Luhn-valid."""
    digits = np.stack([(base // 10 ** (7 - i)) % 10 for i in range(8)], axis=1)
    weights = np.array([1, 2, 1, 2, 1, 2, 1, 2])  # positions 1..8 of 9; the 9th (check) has weight 1
    prod = digits * weights
    total = (prod // 10 + prod % 10).sum(axis=1)
    return base * 10 + (10 - total % 10) % 10


def _text(values) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_text(values), width, "0")


def generate(rows: int, folder: Path, seed: int = 12) -> None:
    from pyproj import Transformer
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    p = places()
    p = p[p["population"] > 0].reset_index(drop=True)
    weight = (p["population"] / p["population"].sum()).to_numpy()
    xs, ys = np.zeros(len(p)), np.zeros(len(p))
    prefix = p["insee"].str[:3]
    for epsg in (2154, *set(UTM.values())):
        sel = (prefix.map(UTM).fillna(2154) == epsg).to_numpy()
        if sel.any():
            xs[sel], ys[sel] = Transformer.from_crs(4326, epsg, always_xy=True).transform(
                p["lon"].to_numpy()[sel], p["lat"].to_numpy()[sel])
    insee, postal = p["insee"].to_numpy(dtype=object), p["postal_code"].to_numpy(dtype=object)
    town = p["commune"].str.upper().to_numpy(dtype=object)
    from matcher.reference import naf as nomenclature
    codes = np.array(list(nomenclature.nomenclature().index)[:700], dtype=object)
    e_out, u_out = folder / "StockEtablissement_utf8.csv", folder / "StockUniteLegale_utf8.csv"
    opts = csv.WriteOptions(include_header=True, quoting_style="none")
    written, base, t0 = 0, 30_000_000, time.perf_counter()
    e_writer = u_writer = None
    while written < rows:
        n_u = CHUNK_UNITS
        per = np.minimum(rng.geometric(0.74, n_u), 50)  # establishments per unit: mean ~1.35
        sirens = _luhn(base + np.arange(n_u, dtype=np.int64) * 2)
        base += 2 * n_u
        home = rng.choice(len(p), n_u, p=weight)
        active_u = rng.random(n_u) < 0.55
        legal = rng.choice(LEGAL, n_u, p=LEGAL_P)
        hidden_u = rng.random(n_u) < 0.04
        person = legal == "1000"
        denom = np.where(person, "", rng.choice(WORDS, n_u) + " " + rng.choice(LAST, n_u))
        denom = np.where(hidden_u & ~person, "[ND]", denom)
        unit_naf = rng.choice(codes, n_u)
        units = {c: pa.nulls(n_u, pa.string()) for c in UNIT_HEADER}
        units.update({
            "siren": _pad(sirens, 9), "statutDiffusionUniteLegale": _text(np.where(hidden_u, "P", "O")),
            "dateCreationUniteLegale": _text(rng.choice(DATES, n_u)),
            "prenom1UniteLegale": _text(np.where(person, np.where(hidden_u, "[ND]", rng.choice(FIRST, n_u)), "")),
            "nomUniteLegale": _text(np.where(person, np.where(hidden_u, "[ND]", rng.choice(LAST, n_u)), "")),
            "trancheEffectifsUniteLegale": _text(rng.choice(BANDS, n_u, p=BANDS_P)),
            "anneeEffectifsUniteLegale": _text(np.full(n_u, "2023")),
            "dateDernierTraitementUniteLegale": _text(np.full(n_u, "2025-06-14T03:12:45")),
            "nombrePeriodesUniteLegale": _text(rng.integers(1, 6, n_u)),
            "categorieEntreprise": _text(np.full(n_u, "PME")), "dateDebut": _text(rng.choice(DATES, n_u)),
            "etatAdministratifUniteLegale": _text(np.where(active_u, "A", "C")),
            "denominationUniteLegale": _text(denom), "categorieJuridiqueUniteLegale": _text(legal),
            "activitePrincipaleUniteLegale": _text(unit_naf),
            "nomenclatureActivitePrincipaleUniteLegale": _text(np.where(active_u | (rng.random(n_u) < 0.7),
                                                                        "NAFRev2", "NAFRev1")),
            "nicSiegeUniteLegale": _text(np.full(n_u, "00010")),
            "economieSocialeSolidaireUniteLegale": _text(np.where(rng.random(n_u) < 0.05, "O", "N")),
            "caractereEmployeurUniteLegale": _text(np.where(rng.random(n_u) < 0.3, "O", "N")),
            "activitePrincipaleNAF25UniteLegale": _text(unit_naf),
        })
        u_table = pa.table({c: pc.fill_null(units[c], "") for c in UNIT_HEADER})
        # establishments
        owner = np.repeat(np.arange(n_u), per)
        n_e = len(owner)
        rank = np.arange(n_e) - np.repeat(np.cumsum(per) - per, per)
        head = rank == 0
        place = np.where(rng.random(n_e) < 0.8, home[owner], rng.choice(len(p), n_e, p=weight))
        active = active_u[owner] & (rng.random(n_e) < np.where(head, 0.85, 0.6))
        hidden = hidden_u[owner] | (rng.random(n_e) < 0.01)
        x = xs[place] + rng.normal(0, 1500, n_e)
        y = ys[place] + rng.normal(0, 1500, n_e)
        nocoord = rng.random(n_e) < 0.10
        xt = pc.cast(pa.array(np.round(x, 1)), pa.string())
        yt = pc.cast(pa.array(np.round(y, 1)), pa.string())
        xt = pc.if_else(pa.array(hidden), "[ND]", pc.if_else(pa.array(nocoord), "", xt))
        yt = pc.if_else(pa.array(hidden), "[ND]", pc.if_else(pa.array(nocoord), "", yt))
        nic = _pad(10 + rank * 7, 5)
        siren_e = _pad(sirens[owner], 9)
        est = {c: pa.nulls(n_e, pa.string()) for c in ESTAB_HEADER}
        est.update({
            "siren": siren_e, "nic": nic, "siret": pc.binary_join_element_wise(siren_e, nic, ""),
            "statutDiffusionEtablissement": _text(np.where(hidden, "P", "O")),
            "dateCreationEtablissement": _text(rng.choice(DATES, n_e)),
            "trancheEffectifsEtablissement": _text(rng.choice(BANDS, n_e, p=BANDS_P)),
            "anneeEffectifsEtablissement": _text(np.full(n_e, "2023")),
            "dateDernierTraitementEtablissement": _text(np.full(n_e, "2025-06-14T03:12:45")),
            "etablissementSiege": _text(np.where(head, "true", "false")),
            "nombrePeriodesEtablissement": _text(rng.integers(1, 6, n_e)),
            "numeroVoieEtablissement": _text(np.where(hidden, "[ND]", rng.integers(1, 200, n_e).astype(str))),
            "typeVoieEtablissement": _text(np.where(hidden, "[ND]", rng.choice(VOIES, n_e))),
            "libelleVoieEtablissement": _text(np.where(hidden, "[ND]", rng.choice(STREETS, n_e))),
            "codePostalEtablissement": _text(postal[place]), "libelleCommuneEtablissement": _text(town[place]),
            "codeCommuneEtablissement": _text(insee[place]),
            "identifiantAdresseEtablissement": _text(np.where(hidden, "[ND]", insee[place] + "_B" +
                                                              rng.integers(1000, 9999, n_e).astype(str))),
            "coordonneeLambertAbscisseEtablissement": xt, "coordonneeLambertOrdonneeEtablissement": yt,
            "dateDebut": _text(rng.choice(DATES, n_e)),
            "etatAdministratifEtablissement": _text(np.where(active, "A", "F")),
            "activitePrincipaleEtablissement": _text(unit_naf[owner]),
            "nomenclatureActivitePrincipaleEtablissement": _text(np.full(n_e, "NAFRev2")),
            "caractereEmployeurEtablissement": _text(np.where(rng.random(n_e) < 0.3, "O", "N")),
            "activitePrincipaleNAF25Etablissement": _text(unit_naf[owner]),
        })
        e_table = pa.table({c: pc.fill_null(est[c], "") for c in ESTAB_HEADER})
        if written + n_e > rows:
            e_table = e_table.slice(0, rows - written)
        if e_writer is None:
            e_writer = csv.CSVWriter(str(e_out), e_table.schema, write_options=opts)
            u_writer = csv.CSVWriter(str(u_out), u_table.schema, write_options=opts)
        e_writer.write_table(e_table)
        u_writer.write_table(u_table)
        written += e_table.num_rows
        print(f"  {written:,} establishments, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    e_writer.close()
    u_writer.close()
    print(f"wrote {e_out} ({e_out.stat().st_size / 1e9:.2f} GB) and {u_out} ({u_out.stat().st_size / 1e9:.2f} GB)")
    variants(folder)


def variants(folder: Path) -> None:
    """The establishments file as INSEE also publishes it: Parquet (all columns as text) and zipped CSV."""
    import zipfile

    import pyarrow.parquet as pq
    src = folder / "StockEtablissement_utf8.csv"
    reader = csv.open_csv(src, read_options=csv.ReadOptions(block_size=64 << 20),
                          convert_options=csv.ConvertOptions(column_types=dict.fromkeys(ESTAB_HEADER, pa.string())))
    with pq.ParquetWriter(folder / "StockEtablissement_utf8.parquet", reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch, row_group_size=1_000_000)
    with zipfile.ZipFile(folder / "StockEtablissement_utf8.zip", "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=6) as zf:
        zf.write(src, arcname=src.name)
    for suffix in ("parquet", "zip"):
        path = folder / f"StockEtablissement_utf8.{suffix}"
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB)")


# children: one measurement each, printed as JSON
def child_filter(folder: Path, suffix: str = "csv") -> dict:
    from matcher.reference.communes import shipped
    from matcher.reference.territories import Territory
    from matcher.sirene import establishments
    from matcher.sirene.stock import StockFile
    communes = shipped()
    stock = StockFile.open(folder / f"StockEtablissement_utf8.{suffix}", label="--etablissements")
    t = time.perf_counter()
    out = establishments.scan(stock, Territory(departements=frozenset(THREE)), communes)
    return {"rows": out.read, "seconds": time.perf_counter() - t, "cpu_s": cpu_s(), "peak_mb": peak_rss_mb(),
            "kept": out.in_territory, "units": len(out.in_territory_units)}


def child_pandas(folder: Path) -> dict:
    from matcher.sirene.establishments import COLUMNS
    t = time.perf_counter()
    df = pd.read_csv(folder / "StockEtablissement_utf8.csv", usecols=list(COLUMNS), dtype=str, keep_default_na=False)
    dep = df["codeCommuneEtablissement"].str[:2]
    kept = int((dep.isin(THREE) & df["etatAdministratifEtablissement"].eq("A")).sum())
    return {"rows": len(df), "seconds": time.perf_counter() - t, "cpu_s": cpu_s(), "peak_mb": peak_rss_mb(),
            "kept": kept}


def child_pandas_all(folder: Path) -> dict:
    t = time.perf_counter()
    df = pd.read_csv(folder / "StockEtablissement_utf8.csv", dtype=str, keep_default_na=False, nrows=1_000_000)
    return {"rows": len(df), "seconds": time.perf_counter() - t, "peak_mb": peak_rss_mb()}


def child_region(folder: Path, store_path: Path) -> dict:
    from matcher import store
    from matcher.reference.communes import shipped
    from matcher.reference.territories import Territory
    from matcher.sirene.pool import import_pool
    from matcher.sirene.stock import StockFile
    db = store.connect(f"sqlite:///{store_path}")
    files = (StockFile.open(folder / "StockUniteLegale_utf8.csv", label="--unites"),
             StockFile.open(folder / "StockEtablissement_utf8.csv", label="--etablissements"))
    times, reports = [], []
    for _ in range(2):
        t = time.perf_counter()
        r = import_pool(db, *files, Territory(departements=frozenset(REGION)), shipped())
        times.append(time.perf_counter() - t)
        reports.append(r.summary())
    return {"first_s": times[0], "again_s": times[1], "cpu_s": cpu_s(), "peak_mb": peak_rss_mb(), "summary": reports}


def child_filter_parquet(folder: Path) -> dict:
    return child_filter(folder, "parquet")


def child_filter_zip(folder: Path) -> dict:
    return child_filter(folder, "zip")


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child(*argv: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "child", *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(folder: Path, repeat: int) -> None:
    print(machine())
    size = (folder / "StockEtablissement_utf8.csv").stat().st_size
    best: dict[str, dict] = {}
    for i in range(repeat):  # interleaved
        for name in ("filter", "pandas"):
            r = _child(name, str(folder))
            print(f"  run {i + 1} {name}: {r}", flush=True)
            if name not in best or r["seconds"] < best[name]["seconds"]:
                best[name] = r
    other = {name: _child(name, str(folder)) for name in ("filter_parquet", "filter_zip")
             if (folder / f"StockEtablissement_utf8.{name.split('_')[1]}").exists()}
    sample = _child("pandas_all", str(folder))
    store_path = folder / "region.db"
    store_path.unlink(missing_ok=True)
    region = _child("region", str(folder), str(store_path))
    print(machine())
    print(f"\nfile: {best['filter']['rows']:,} establishment rows, {size / 1e9:.2f} GB\n")
    print("| reading the establishments file, 3 départements (44, 49, 85) | rows/s | time (CPU) | peak RSS | kept |")
    print("|---|---|---|---|---|")
    for name, label in (("filter", "`matcher.sirene.establishments.scan` (Arrow streaming, 8 columns)"),
                        ("pandas", "plain `pandas.read_csv(usecols=the same 8, dtype=str)`, filtered after")):
        r = best[name]
        print(f"| {label} | {r['rows'] / r['seconds']:,.0f} | {r['seconds']:.1f} s ({r['cpu_s']:.1f} s) | "
              f"{r['peak_mb']:,.0f} MB | {r['kept']:,} |")
    for name, label in (("filter_parquet", "the same, Parquet file (row groups of 1M rows)"),
                        ("filter_zip", "the same, zipped CSV (decompressed as it streams)")):
        if name in other:
            r = other[name]
            print(f"| {label} | {r['rows'] / r['seconds']:,.0f} | {r['seconds']:.1f} s ({r['cpu_s']:.1f} s) | "
                  f"{r['peak_mb']:,.0f} MB | {r['kept']:,} |")
    per_row = sample["peak_mb"] / sample["rows"]
    print(f"| plain `pandas.read_csv(dtype=str)`, every column, first 1,000,000 rows | "
          f"{sample['rows'] / sample['seconds']:,.0f} | {sample['seconds']:.1f} s | {sample['peak_mb']:,.0f} MB "
          f"(whole file ≈ {per_row * best['filter']['rows'] / 1024:,.1f} GB, extrapolated) | |")
    print(f"\nrégion (44, 49, 53, 72, 85) into a new SQLite store: {region['first_s']:.1f} s, again "
          f"{region['again_s']:.1f} s (CPU {region['cpu_s']:.1f} s for both), peak {region['peak_mb']:,.0f} MB")
    for s in region["summary"]:
        print(f"  {s}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--rows", type=int, default=10_000_000)
    g.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    sub.add_parser("variants").add_argument("--dir", type=Path, default=DEFAULT_DIR)
    r = sub.add_parser("run")
    r.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    r.add_argument("--repeat", type=int, default=2)
    c = sub.add_parser("child")
    c.add_argument("what")
    c.add_argument("args", nargs="*")
    a = ap.parse_args()
    if a.cmd == "generate":
        generate(a.rows, a.dir)
    elif a.cmd == "variants":
        variants(a.dir)
    elif a.cmd == "run":
        run(a.dir, a.repeat)
    else:
        fn = {"filter": child_filter, "filter_parquet": child_filter_parquet, "filter_zip": child_filter_zip,
              "pandas": child_pandas, "pandas_all": child_pandas_all,
              "region": child_region}[a.what]
        print(json.dumps(fn(*map(Path, a.args))))


if __name__ == "__main__":
    main()
