"""`reprise demo`: build the demo territory into SQLite and show ranked, explained options."""

from __future__ import annotations

from pathlib import Path

from matcher.cli.options import command
from matcher.errors import UsageError

DEMO_DIR = "reprise-demo"


def register(sub) -> None:
    p = command(sub, "demo", help="generate a demo territory, import it and show ranked options")
    p.add_argument("--dir", default=DEMO_DIR, help=f"where the demo files go (default ./{DEMO_DIR})")
    p.add_argument("--seed", type=int, default=2026, help="generator seed (same seed, same territory)")
    p.add_argument("--show", type=int, default=3, help="companies to show (default 3)")
    p.add_argument("--top", type=int, default=5, help="options shown per company (default 5)")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    from matcher import store
    from matcher.cli.render import print_table
    from matcher.contract.imports import import_file
    from matcher.contract.outputs import output_file
    from matcher.demo import generate
    from matcher.ranking.batch import match_all, to_csv
    from matcher.store.records import company_rows, count

    out_dir = Path(args.dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--dir {out_dir} is a file; give a folder for the demo's files")
    own_store = getattr(args, "db", None) is None and "database_url" not in ctx.settings.model_fields_set
    if own_store:  # never mix demo data into ./reprise.db; a second run starts afresh
        out_dir.mkdir(parents=True, exist_ok=True)
        for leftover in ("reprise.db", "reprise.db-wal", "reprise.db-shm"):
            (out_dir / leftover).unlink(missing_ok=True)
        ctx.use_store(f"sqlite:///{out_dir / 'reprise.db'}")
        _forget_previous_run(ctx, out_dir)
    db = ctx.db()
    if not own_store:
        held = {t.name: count(db, t) for t in (store.companies, store.candidates)}
        if any(held.values()):
            raise UsageError(f"the store {ctx.db_url} already holds {held['companies']} companies and "
                             f"{held['candidates']} candidates; the demo fills an empty store: leave out --db "
                             f"(it then uses {out_dir / 'reprise.db'}) or name a new one")
    files = generate(out_dir, seed=args.seed)
    for kind in ("poles", "companies", "candidates", "outcomes"):
        report = import_file(db, kind, files[kind], rejects_path=out_dir / f"{kind}.rejects.csv")
        ctx.print(report.summary())
    engine = ctx.engine()
    companies = company_rows(db)
    df = match_all(engine, companies, top=10)
    with output_file(out_dir / "matches.csv", option="--dir") as fh:
        to_csv(df, fh)
    ctx.print(f"ranked {len(companies)} companies in difficulty against {len(engine.index)} candidates "
              f"-> {out_dir / 'matches.csv'}\n")
    for company in _showcase(companies, args.show):
        print_table(company, engine.match(company, top=args.top), ctx.out)
        ctx.print()
    ctx.print(f"Next: reprise --db {ctx.db_url} match {companies[0]['siren']} --explain-exclusions")
    return 0


def _showcase(companies: list[dict], n: int) -> list[dict]:
    """One company per procedure, most employees first, so the demo shows every kind of case."""
    by_proc: dict[str, dict] = {}
    for c in sorted(companies, key=lambda c: (-(c.get("headcount") or 0), c["siren"])):
        by_proc.setdefault(c["procedure"], c)
    order = ["redressement", "liquidation", "sauvegarde", "conciliation", "mandat_ad_hoc"]
    picked = [by_proc[p] for p in order if p in by_proc]
    return picked[:n]


def _forget_previous_run(ctx, out_dir: Path) -> None:
    """The demo's own models and index snapshot in ``out_dir`` go with its store: a model trained
    on the previous territory must not rank the new one, nor its snapshot be offered to it. A
    registry or snapshot named elsewhere (``REPRISE_MODELS_DIR``, ``REPRISE_INDEX_PATH``) is the
    user's, and left alone."""
    import shutil

    from matcher.learning.registry import Registry
    inside = out_dir.resolve()
    models = ctx.settings.registry_dir()
    if models.resolve() == inside / "models":
        Registry(models).clear()
    index = ctx.settings.index_dir()
    if index is not None and index.resolve() == inside / "reprise.db.index" and index.is_dir():
        shutil.rmtree(index)
