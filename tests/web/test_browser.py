"""The web application in a real browser: headless Chromium (Debian's package) driven by Playwright,
against a real `reprise serve`. One server and one browser for the module.

Skipped, with one line saying why, when Chromium is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("chromium is not installed (Debian package chromium): browser tests skipped",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from matcher import store  # noqa: E402
from tests.web.conftest import PASSWORD, SIRENS, build_territory  # noqa: E402

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=fr-FR"]
STARTUP_S = 60
EMAIL_A, EMAIL_B, ANALYST = "claire.martin@ptce-a.fr", "paul.roux@ptce-b.fr", "analyste@reprise.fr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `reprise serve` on a free port over the test territory; (base URL, store URL)."""
    tmp = tmp_path_factory.mktemp("web-browser")
    url = f"sqlite:///{tmp / 'reprise.db'}"
    build_territory(url)
    port = free_port()
    env = {**os.environ, "REPRISE_MODELS_DIR": str(tmp / "models")}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli.main", "--db", url, "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    try:
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"server not ready within {STARTUP_S} s"
            time.sleep(0.2)
        yield base, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


def sign_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")


def stored_outcomes(url: str, siren: str) -> list[dict]:
    db = store.connect(url)
    try:
        with db.connect() as c:
            return [dict(r) for r in c.execute(sa.select(store.outcomes).where(store.outcomes.c.siren == siren))
                    .mappings()]
    finally:
        db.dispose()


def test_an_advisor_signs_in_opens_a_case_records_an_outcome_and_signs_out(server, context):
    base, url = server
    page = context.new_page()
    problems: list[str] = []  # a CSP refusal or a script error shows here
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, base, EMAIL_A)
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord"
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 4 and "Boulangerie du Port" in rows.nth(0).inner_text()  # nearest deadline first
    assert "dans 2 jours" in rows.nth(0).inner_text()
    page.get_by_role("link", name="Menuiserie Durand").click()
    page.wait_for_url(f"{base}/cas/{SIRENS['menuiserie']}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Menuiserie Durand")
    options = page.locator("ol.options > li")
    assert options.count() >= 3
    firm = page.locator("ol.options > li:not(.option-employees)").first
    assert firm.locator(".bars li").count() >= 3 and "même métier" in firm.inner_text()
    assert "Les salariés de l'entreprise, en SCOP" in page.locator("ol.options > li.option-employees").inner_text()
    assert page.locator("svg.map .map-option").count() >= 2
    # "Noter une suite" picks the option in the form without reloading the page
    second = options.nth(1)
    second_name = second.locator("h3").inner_text().split(". ", 1)[1]
    second.get_by_role("link", name="Noter une suite pour cette option").click()
    select = page.get_by_label("Option", exact=True)
    assert second_name in select.locator("option:checked").inner_text()
    assert page.evaluate("document.activeElement.id") == "candidate_id"
    page.get_by_label("offre").check()
    page.get_by_role("textbox", name="Note (facultative)").fill("Offre attendue sous 8 jours")
    page.get_by_role("button", name="Enregistrer la suite").click()
    page.wait_for_url(re.compile(r".*\?enregistre=1#historique$"))
    assert "La suite a été enregistrée" in page.get_by_role("status").inner_text()
    history = page.locator("#historique tbody tr")
    assert history.count() == 1 and "Offre attendue sous 8 jours" in history.inner_text()
    rows = stored_outcomes(url, SIRENS["menuiserie"])
    assert [(r["outcome"], r["advisor"], r["note"]) for r in rows] == \
        [("offer", EMAIL_A, "Offre attendue sous 8 jours")]
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/connexion?sortie=1")
    assert "Vous êtes déconnecté·e." in page.inner_text("main")
    page.goto(f"{base}/cas/{SIRENS['menuiserie']}")
    assert page.url.startswith(f"{base}/connexion?suite=/cas/")
    assert problems == []


def test_access_rules_page_by_page(server, browser):
    base, _ = server
    seen = {}
    for email in (EMAIL_A, EMAIL_B, ANALYST):
        ctx = browser.new_context(locale="fr-FR")
        page = ctx.new_page()
        sign_in(page, base, email)
        names = set(page.locator("table.cases tbody th a").all_inner_texts())
        statuses = {}
        for key in ("secret_a", "secret_b", "angers"):
            response = page.goto(f"{base}/cas/{SIRENS[key]}")
            statuses[key] = (response.status, page.get_by_role("heading", level=1).inner_text().split("\n")[0])
        model = page.goto(f"{base}/modele").status
        seen[email] = (names, statuses, model)
        ctx.close()
    names, statuses, model = seen[EMAIL_A]
    assert "Atelier Discret" in names and "Fonderie Angevine" not in names and "Imprimerie d'Anjou" not in names
    assert statuses["secret_a"][0] == 200 and statuses["secret_a"][1].startswith("Atelier Discret")
    assert statuses["secret_b"] == (404, "Dossier introuvable")
    assert model == 403
    names, statuses, _ = seen[EMAIL_B]
    assert names == {"Fonderie Angevine", "Imprimerie d'Anjou"}
    assert statuses["secret_a"] == (404, "Dossier introuvable") and statuses["secret_b"][0] == 200
    names, statuses, model = seen[ANALYST]
    assert "Atelier Discret" not in names and "Fonderie Angevine" not in names and "Imprimerie d'Anjou" in names
    assert statuses["secret_a"][0] == statuses["secret_b"][0] == 404 and statuses["angers"][0] == 200
    assert model == 200


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_the_accessibility_check_does_catch_violations(browser):
    page = browser.new_page()
    page.set_content('<html lang="fr"><body><main><img src="x.png"><input type="text"></main></body></html>')
    found = " ".join(axe_violations(page))
    page.close()
    assert "image-alt (critical)" in found and "label (critical)" in found


def test_no_serious_accessibility_violation_on_any_page(server, browser):
    base, _ = server
    ctx = browser.new_context(locale="fr-FR", bypass_csp=True)  # lets the test inject axe-core
    page = ctx.new_page()
    checked = {}
    page.goto(f"{base}/connexion")
    checked["sign-in"] = axe_violations(page)
    page.get_by_label("Adresse électronique").fill(ANALYST)
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    checked["sign-in refused"] = axe_violations(page)
    sign_in(page, base, ANALYST)
    case = SIRENS["angers"]
    candidate = None
    for name, path in (("dashboard", "/"), ("case", f"/cas/{case}"), ("exclusions", f"/cas/{case}?ecartes=1"),
                       ("model", "/modele"), ("not found", "/nulle-part")):
        page.goto(base + path)
        checked[name] = axe_violations(page)
        if name == "case":
            candidate = page.locator("ol.options h3 a").first.get_attribute("href")
            page.get_by_role("button", name="Enregistrer la suite").evaluate("b => b.form.noValidate = true")
            page.get_by_role("button", name="Enregistrer la suite").click()
            checked["outcome refused"] = axe_violations(page)
    page.goto(base + candidate)
    checked["candidate"] = axe_violations(page)
    ctx.close()
    assert len(checked) == 9
    assert {k: v for k, v in checked.items() if v} == {}


def test_the_core_flows_work_without_javascript(server, browser):
    base, url = server
    ctx = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = ctx.new_page()
    sign_in(page, base, EMAIL_B)
    page.get_by_role("link", name="Imprimerie d'Anjou").click()
    page.wait_for_url(f"{base}/cas/{SIRENS['angers']}")
    option = page.locator("ol.options > li").nth(0)
    option.get_by_role("link", name="Noter une suite pour cette option").click()  # a plain link: reloads
    page.wait_for_url(re.compile(r".*\?candidat=.*#suite$"))
    chosen = page.get_by_label("Option", exact=True).input_value()
    assert chosen
    page.get_by_label("contacté").check()
    page.get_by_role("textbox", name="Note (facultative)").fill("Premier appel, sans JavaScript")
    page.get_by_role("button", name="Enregistrer la suite").click()
    page.wait_for_url(re.compile(r".*\?enregistre=1#historique$"))
    rows = stored_outcomes(url, SIRENS["angers"])
    assert [(r["candidate_id"], r["outcome"], r["advisor"]) for r in rows] == [(chosen, "contacted", EMAIL_B)]
    page.get_by_role("link", name="Voir les candidats écartés, motif par motif").click()
    assert page.locator("#ecartes table").count() >= 1
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/connexion?sortie=1")
    ctx.close()


def test_keyboard_only(server, context):
    base, _ = server
    page = context.new_page()
    page.goto(f"{base}/connexion")
    # the email field takes the focus by itself (waited for: on a loaded machine it may come after the load event)
    sync_api.expect(page.get_by_label("Adresse électronique")).to_be_focused()
    page.keyboard.type(ANALYST)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    page.goto(f"{base}/cas/{SIRENS['angers']}")
    # every link, button, field and scrollable table is reached with Tab, in the order of the page
    # (one stop per group of radio buttons)
    count = page.evaluate("""() => {
        const all = document.querySelectorAll(
            'a[href], button, input:not([type=hidden]), select, textarea, [tabindex="0"]');
        let k = 0; const groups = new Set();
        for (const el of all) {
          if (el.type === 'radio') { if (groups.has(el.name)) continue; groups.add(el.name); }
          el.dataset.k = k++;
        }
        return k;
    }""")
    reached: list[str] = []
    for _ in range(count + 6):  # a date field takes one stop per part (day, month, year)
        page.keyboard.press("Tab")
        k = page.evaluate("document.activeElement.dataset.k")
        if not reached or reached[-1] != k:
            reached.append(k)
    assert reached[:count] == [str(k) for k in range(count)]


@pytest.mark.parametrize("size", [(768, 1024), (1280, 800)], ids=["tablet", "laptop"])
def test_pages_fit_a_tablet_and_a_laptop(server, browser, size):
    base, _ = server
    ctx = browser.new_context(locale="fr-FR", viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    sign_in(page, base, EMAIL_A)
    for path in ("/", f"/cas/{SIRENS['menuiserie']}", "/connexion"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    ctx.close()
