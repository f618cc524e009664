"""Screenshots of the web application for docs/web.md, taken with headless Chromium (Debian's).

Builds the demo territory (`reprise demo`'s generator) with its dates moved so that offer
deadlines fall around today, creates an advisor of the PTCE Estuaire, runs `reprise serve`,
and saves ``docs/web-signin.png``, ``docs/web-dashboard.png``, ``docs/web-case.png``,
``docs/web-outcome.png`` (the form filled in) and ``docs/web-history.png`` (once saved).

    python docs/screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EMAIL, PASSWORD = "claire.martin@ptce-estuaire.fr", "un mot de passe solide"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=fr-FR"]


def build(folder: Path) -> str:
    """The demo territory in a SQLite store, its dates moved so that 15% of the offer deadlines
    are still ahead (up to ~25 days)."""
    from api.web.accounts import create_user
    from matcher import store
    from matcher.contract.imports import import_frame
    from matcher.demo import generate
    from matcher.reference.communes import shipped

    files = generate(folder, seed=2026)
    frames = {k: pd.read_csv(files[k], dtype=str, keep_default_na=False) for k in
              ("poles", "companies", "candidates", "outcomes")}
    companies = frames["companies"]
    last = pd.to_datetime(companies["offer_deadline"].replace("", None)).quantile(0.85)
    shift = pd.Timestamp(dt.date.today() + dt.timedelta(days=25)) - last
    today = pd.Timestamp(dt.date.today())
    for frame, columns in ((companies, ("procedure_date", "offer_deadline")), (frames["outcomes"], ("date",))):
        for col in columns:
            moved = pd.to_datetime(frame[col].replace("", None)) + shift
            if col in ("date", "procedure_date"):  # nothing recorded or judged after today
                moved = moved.clip(upper=today)
            frame[col] = moved.dt.strftime("%Y-%m-%d").fillna("")
    url = f"sqlite:///{folder / 'reprise.db'}"
    db = store.connect(url)
    for kind in ("poles", "companies", "candidates", "outcomes"):
        import_frame(db, kind, frames[kind], communes=shipped())
    create_user(db, email=EMAIL, password=PASSWORD, role="advisor", poles=["ptce-estuaire"])
    db.dispose()
    return url


def touch(url: str, n: int) -> None:
    """Update ``n`` open cases of the pole, as a new import would: "new since the last visit"."""
    from matcher import store
    from matcher.contract.imports import import_frame
    from matcher.reference.communes import shipped
    db = store.connect(url)
    rows = [r for r in store.fetch(db, store.companies) if r["procedure"] != "none" and r["departement"] == "44"
            and r["pole"] in (None, "ptce-estuaire") and not r["confidential"]]
    soon = sorted((r for r in rows if (r["offer_deadline"] or "") >= dt.date.today().isoformat()),
                  key=lambda r: r["offer_deadline"])
    frame = pd.DataFrame(soon[:n]).drop(columns=["extra", "updated_at", "source", "departement"])
    frame["description"] = "nouvelles informations du mandataire"
    import_frame(db, "companies", frame, communes=shipped())
    db.dispose()


def serve(url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli.main", "--db", url, "serve", "--port", str(port),
                             "--log-level", "warning"], cwd=folder,
                            env={**os.environ, "REPRISE_MODELS_DIR": str(folder / "models")})
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse électronique").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")


def region(page, first: str, last: str, path: Path) -> None:
    """A full-width picture of the page from the top of ``first`` to the bottom of ``last``."""
    top = page.evaluate(f"document.querySelector('{first}').getBoundingClientRect().top + window.scrollY")
    bottom = page.evaluate(f"document.querySelector('{last}').getBoundingClientRect().bottom + window.scrollY")
    page.screenshot(path=path, full_page=True, clip={"x": 0, "y": top - 16, "width": 1280, "height": bottom - top + 32})


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="reprise-screens-"))
    url = build(folder)
    proc, base = serve(url, folder)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=FLAGS,
                                         env={**os.environ, "LANG": "fr_FR.UTF-8", "LANGUAGE": "fr_FR"})
            page = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 860}).new_page()
            page.goto(f"{base}/connexion")
            page.screenshot(path=args.out / "web-signin.png")
            sign_in(page, base)  # a first visit; then cases change, and the advisor comes back
            page.get_by_role("button", name="Se déconnecter").click()
            touch(url, 3)
            sign_in(page, base)
            page.screenshot(path=args.out / "web-dashboard.png")
            page.locator("table.cases tbody th a").first.click()
            page.wait_for_load_state()
            page.screenshot(path=args.out / "web-case.png", full_page=True)
            option = page.locator("ol.options > li").nth(1)
            option.get_by_role("link", name="Noter une suite pour cette option").click()
            page.get_by_label("intéressé").check()
            page.get_by_role("textbox", name="Note (facultative)").fill(
                "Le gérant veut visiter l'atelier jeudi ; reprise des 2 salariés envisagée.")
            region(page, "#suite", "#historique", args.out / "web-outcome.png")
            page.get_by_role("button", name="Enregistrer la suite").click()
            page.wait_for_url("**enregistre=1*")
            region(page, "#historique", "#historique", args.out / "web-history.png")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    for name in ("signin", "dashboard", "case", "outcome", "history"):
        path = args.out / f"web-{name}.png"
        print(f"{path} ({path.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
