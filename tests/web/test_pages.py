"""The pages through the app: what each role sees, the audit log, recording an outcome, French
formatting, the dashboard's order and filters."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from api.web import fr
from api.web.routes.dashboard import urgency
from matcher import store
from matcher.learning.registry import Registry
from matcher.settings import Settings
from tests.conftest import BACKENDS, pg_schema
from tests.web.conftest import SIRENS, TODAY, build_territory, csrf_of, sign_in

EMAILS = {"advisor_a": "claire.martin@ptce-a.fr", "advisor_b": "paul.roux@ptce-b.fr",
          "analyst": "analyste@reprise.fr", "admin": "admin@reprise.fr"}
# which open cases each role's dashboard lists (advisors: their poles' cases; others: all but confidential)
DASHBOARD = {
    "advisor_a": {"menuiserie", "boulangerie", "couvreur", "secret_a"},
    "advisor_b": {"angers", "secret_b"},
    "analyst": {"menuiserie", "boulangerie", "couvreur", "angers"},
    "admin": {"menuiserie", "boulangerie", "couvreur", "angers"},
}
SECRET = {"secret_a": "advisor_a", "secret_b": "advisor_b"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """The territory and a signed-in client per role, on SQLite and on PostgreSQL."""
    tmp = tmp_path_factory.mktemp("web-pages")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'reprise.db'}"
        else:  # a fresh schema on the tests' PostgreSQL server (skipped, saying how, when there is none)
            url = stack.enter_context(pg_schema(request.getfixturevalue("pg_server")))
        users = build_territory(url)
        settings = Settings(database_url=url, models_dir=tmp / "models", index_poll_seconds=0)
        clients = {}
        app = create_app(settings)
        with TestClient(app) as anonymous:
            for role, email in EMAILS.items():
                client = TestClient(app)
                sign_in(client, email)
                clients[role] = client
            yield {"url": url, "users": users, "clients": clients, "anonymous": anonymous, "db": app.state.db,
                   "settings": settings}
            app.state.db.dispose()


def listed(html: str) -> set[str]:
    sirens = set(re.findall(r'href="/cas/(\d{9})"', html))
    return {k for k, v in SIRENS.items() if v in sirens}


@pytest.mark.parametrize("role", list(DASHBOARD))
def test_each_role_sees_exactly_its_cases_page_by_page(world, role):
    client = world["clients"][role]
    assert listed(client.get("/").text) == DASHBOARD[role]
    for name, siren in SIRENS.items():
        page = client.get(f"/cas/{siren}")
        visible = name not in SECRET or SECRET[name] == role
        assert page.status_code == (200 if visible else 404), (role, name)
        if not visible:  # the same page as for a SIREN that does not exist
            assert "Dossier introuvable" in page.text and "Options de reprise" not in page.text
            assert world["anonymous"].get(f"/cas/{siren}", follow_redirects=False).status_code == 303


def test_every_view_of_options_is_audited_with_the_user(world):
    db, users = world["db"], world["users"]
    siren = SIRENS["secret_a"]
    world["clients"]["advisor_a"].get(f"/cas/{siren}")
    world["clients"]["advisor_b"].get(f"/cas/{siren}")
    with db.connect() as c:
        rows = c.execute(sa.select(store.audit.c.key_id, store.audit.c.action).where(store.audit.c.siren == siren)
                         .order_by(store.audit.c.id.desc()).limit(2)).all()
    assert [tuple(r) for r in rows] == [(f"user:{users['advisor_b']['user_id']}", "not_found_matches"),
                                        (f"user:{users['advisor_a']['user_id']}", "read_matches")]


def test_the_case_page_explains_each_option_in_french(world):
    page = html.unescape(world["clients"]["advisor_a"].get(f"/cas/{SIRENS['menuiserie']}").text)
    assert "Menuiserie Durand" in page and "Redressement judiciaire" in page
    assert "Fabrication de charpentes et d'autres menuiseries" in page  # NAF label, in French
    assert "1\u202f200\u202f000 €" in page  # turnover
    assert fr.date(TODAY + dt.timedelta(days=9)) in page and "dans 9 jours" in page
    assert "même métier" in page and "proximité" in page and "capacité d'absorber l'effectif" in page
    # the words come from the engine's one table, with their sentence, and a legend under the list
    assert "Ce que disent les barres" in page
    assert "<dt>même métier</dt><dd>Exerce le métier de l'entreprise" in page
    assert 'title="Exerce le métier de l\'entreprise' in page
    assert "Atelier Bois de Loire" in page
    assert "Les salariés de l'entreprise, en SCOP" in page  # the employees' option, as such
    assert re.search(r"score <strong>0,\d\d</strong>", page) and re.search(r"à \d+,\d km", page)
    svg = re.search(r"<svg class=\"map\".*?</svg>", page, re.S).group(0)
    assert 'class="map-company"' in svg and 'class="map-option"' in svg and "map-commune" in svg
    assert "Voir les candidats écartés" in page and "Toitures de Bretagne" not in page
    more = html.unescape(world["clients"]["advisor_a"].get(f"/cas/{SIRENS['menuiserie']}?ecartes=1").text)
    assert "Toitures de Bretagne" in more and "trop loin (hors de son rayon d'action)" in more


def test_an_inferred_trade_is_said_in_french(world):
    page = html.unescape(world["clients"]["advisor_a"].get(f"/cas/{SIRENS['couvreur']}").text)
    assert "Métier déduit du texte d'activité « couvreur zingueur »" in page
    assert page.count("Métier déduit du texte d'activité") == 1  # once for the case, not per option


def test_recording_an_outcome_stores_it_under_the_users_name(world):
    client, db = world["clients"]["advisor_a"], world["db"]
    siren = SIRENS["boulangerie"]
    page = client.get(f"/cas/{siren}")
    candidate = re.findall(r'<option value="([^"]+)"', page.text.split('id="candidate_id"')[1])[1]
    r = client.post(f"/cas/{siren}/suites", data={"csrf": csrf_of(page.text), "candidate_id": candidate,
                                                  "outcome": "intéressé", "date": "", "note": "Rappeler lundi"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cas/{siren}?enregistre=1#historique"
    with db.connect() as c:
        row = c.execute(sa.select(store.outcomes).where(store.outcomes.c.siren == siren)).mappings().one()
    assert (row["candidate_id"], row["outcome"], row["date"], row["advisor"], row["note"]) == \
        (candidate, "interested", TODAY.isoformat(), EMAILS["advisor_a"], "Rappeler lundi")
    after = client.get(r.headers["location"]).text
    assert "La suite a été enregistrée" in after and "Rappeler lundi" in after and ">intéressé<" in after
    # the candidate's page lists it for an advisor of the pole, not for another pole's advisor
    cpage = f"/candidats/{candidate}"
    assert "Rappeler lundi" in client.get(cpage).text
    assert world["clients"]["advisor_b"].get(f"/cas/{siren}").status_code == 200  # not confidential
    secret = SIRENS["secret_a"]
    page = client.get(f"/cas/{secret}")
    client.post(f"/cas/{secret}/suites", data={"csrf": csrf_of(page.text), "candidate_id": candidate,
                                               "outcome": "contacté", "note": "Dossier discret"})
    assert "Dossier discret" in client.get(cpage).text
    assert "Dossier discret" not in world["clients"]["advisor_b"].get(cpage).text


@pytest.mark.parametrize("form, message", [
    ({"outcome": "peut-être"}, "Choisissez une suite parmi : contacté, intéressé, offre, reprise, refus."),
    ({"date": "2099-01-01"}, "La date ne peut pas être dans le futur."),
    ({"date": "hier"}, "« hier » n'est pas une date"),
    ({"candidate_id": ""}, "Choisissez l'option concernée."),
    ({"candidate_id": "inconnu-42"}, "candidate_id inconnu-42 is not a stored candidate"),
    ({"candidate_id": "employees:802649921"}, "names the employees of another company"),
])
def test_a_refused_outcome_says_why_and_stores_nothing(world, form, message):
    client, db = world["clients"]["advisor_a"], world["db"]
    siren = SIRENS["couvreur"]
    page = client.get(f"/cas/{siren}")
    data = {"csrf": csrf_of(page.text), "candidate_id": f"employees:{siren}", "outcome": "offre", "date": "",
            **form}
    r = client.post(f"/cas/{siren}/suites", data=data)
    assert r.status_code == 422 and message in html.unescape(r.text)
    assert "L'enregistrement n'a pas été fait" in r.text
    with db.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(store.outcomes)
                         .where(store.outcomes.c.siren == siren)).scalar() == 0


def test_outcomes_need_the_csrf_token_and_a_recording_role(world):
    siren = SIRENS["couvreur"]
    data = {"candidate_id": f"employees:{siren}", "outcome": "contacté"}
    assert world["clients"]["advisor_a"].post(f"/cas/{siren}/suites", data={**data, "csrf": "x"}).status_code == 403
    admin = world["clients"]["admin"]
    page = admin.get(f"/cas/{siren}")
    assert "Noter une suite" not in page.text
    assert admin.post(f"/cas/{siren}/suites", data={**data, "csrf": csrf_of(page.text)}).status_code == 403
    with world["db"].connect() as c:  # a refused write is audited, as the API audits it
        refused = c.execute(sa.select(store.audit.c.key_id, store.audit.c.subject)
                            .where(store.audit.c.siren == siren, store.audit.c.action == "refused_write")).all()
    assert [tuple(r) for r in refused] == [(f"user:{world['users']['admin']['user_id']}", f"employees:{siren}")]
    # on a case the user may not see: the same 404 as for an absent case
    other = world["clients"]["advisor_b"]
    token = csrf_of(other.get("/").text)
    assert other.post(f"/cas/{SIRENS['secret_a']}/suites", data={**data, "csrf": token}).status_code == 404
    with world["db"].connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(store.outcomes)
                         .where(store.outcomes.c.siren == siren)).scalar() == 0


def test_the_dashboard_puts_the_nearest_deadline_first_and_filters(world):
    client = world["clients"]["advisor_a"]
    page = client.get("/").text
    order = [k for s in re.findall(r'href="/cas/(\d{9})"', page) for k, v in SIRENS.items() if v == s]
    # deadlines ahead (in 2 days, in 9 days), then the cases without one by procedure urgency
    assert order == ["boulangerie", "menuiserie", "couvreur", "secret_a"]
    assert "dans 2 jours" in page and fr.date(TODAY + dt.timedelta(days=2)) in page
    assert "Boulangerie et boulangerie-pâtisserie" in page and "Nantes (44)" in page and "4 salariés" in page
    assert listed(client.get("/?procedure=liquidation").text) == {"boulangerie"}
    assert listed(client.get("/?metier=16").text) == {"menuiserie", "secret_a"}
    assert listed(world["clients"]["analyst"].get("/?departement=49").text) == {"angers"}
    assert listed(world["clients"]["analyst"].get("/?pole=ptce-b").text) == {"angers"}
    assert client.get("/?pole=ptce-b").status_code == 404  # not one of this advisor's poles


def test_urgency_order_puts_past_deadlines_last():
    today = dt.date(2026, 1, 21)
    rows = [{"siren": s, "offer_deadline": d, "procedure_date": None, "procedure": p} for s, d, p in [
        ("past", "2026-01-01", "liquidation"), ("none-sauv", None, "sauvegarde"),
        ("soon", "2026-01-23", "redressement"), ("none-liq", None, "liquidation"),
        ("today", "2026-01-21", "sauvegarde")]]
    assert [r["siren"] for r in sorted(rows, key=lambda r: urgency(r, today))] == \
        ["today", "soon", "none-liq", "none-sauv", "past"]


def test_cases_updated_since_the_last_visit_are_marked_new(world):
    from fastapi.testclient import TestClient as Client
    app = world["clients"]["analyst"].app
    first = Client(app)
    sign_in(first, EMAILS["analyst"])
    first.get("/")  # a visit
    with world["db"].begin() as c:  # a case updated afterwards, as an import would
        c.execute(sa.update(store.companies).where(store.companies.c.siren == SIRENS["angers"])
                  .values(updated_at=store.now() + dt.timedelta(seconds=1)))
    again = Client(app)
    sign_in(again, EMAILS["analyst"])
    page = again.get("/").text
    assert re.search(rf'href="/cas/{SIRENS["angers"]}">[^<]+</a>\s*<span class="badge new">nouveau', page)
    assert page.count('class="badge new"') == 1 and "1 nouveau ou mis à jour depuis votre dernière visite" in page


def test_the_model_page_is_for_analysts_and_shows_the_last_evaluation(world):
    assert world["clients"]["advisor_a"].get("/modele").status_code == 403
    page = html.unescape(world["clients"]["analyst"].get("/modele").text)
    assert "pondérations documentées" in page and "même métier" in page
    assert "Aucune évaluation n'a encore été faite" in page
    Registry(world["settings"].registry_dir()).record_evaluation({
        "model_id": "ranker-x", "current_id": None, "report": "/srv/eval/report.md", "heldout_companies": 40,
        "options": 1200, "metrics": {"transparent": {"ndcg@10": 0.412, "companies": 38},
                                     "ranker-x": {"ndcg@10": 0.5234, "companies": 38}}})
    page = world["clients"]["admin"].get("/modele").text
    assert "ranker-x" in page and "0,523" in page and "0,412" in page and "1\u202f200 options" in page


def test_api_paths_keep_problem_details_and_web_paths_get_french_pages(world):
    client = world["clients"]["analyst"]
    r = client.get("/v1/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/v1/companies")
    assert r.status_code == 401  # the API takes keys, not the web session
    r = client.get("/nulle-part")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "Page introuvable" in r.text
    assert client.get("/cas/12345").status_code == 404
    assert client.get("/candidats/inconnu").status_code == 404
    assert client.get("/static/app.css").status_code == 200


@pytest.mark.parametrize("value, text", [("2026-01-21", "21 janv. 2026"), (dt.date(2026, 8, 3), "3 août 2026")])
def test_french_dates(value, text):
    assert fr.date(value) == text


def test_french_numbers():
    assert fr.number(1200) == "1\u202f200" and fr.km(12.345) == "12,3 km" and fr.signed(-0.05) == "−0,05"
    assert fr.siren("802649921") == "802\u00a0649\u00a0921"
    assert fr.days_left("2026-01-20", dt.date(2026, 1, 21)) == (-1, "échue depuis 1 jour")


def test_an_outcome_recorded_by_someone_else_is_never_replaced(world):
    db, siren = world["db"], SIRENS["menuiserie"]
    data = {"candidate_id": f"employees:{siren}", "outcome": "refus", "date": TODAY.isoformat(), "note": "Non"}
    first = world["clients"]["advisor_a"]
    r = first.post(f"/cas/{siren}/suites", data={**data, "csrf": csrf_of(first.get(f"/cas/{siren}").text)},
                   follow_redirects=False)
    assert r.status_code == 303
    other = world["clients"]["analyst"]
    r = other.post(f"/cas/{siren}/suites", data={**data, "note": "Oui", "csrf": csrf_of(other.get("/").text)})
    assert r.status_code == 409 and f"déjà été enregistrée par {EMAILS['advisor_a']}" in html.unescape(r.text)
    with db.connect() as c:
        stored = c.execute(sa.select(store.outcomes.c.advisor, store.outcomes.c.note)
                           .where(store.outcomes.c.siren == siren, store.outcomes.c.outcome == "rejected")).all()
        audited = c.execute(sa.select(store.audit.c.key_id, store.audit.c.subject)
                            .where(store.audit.c.siren == siren, store.audit.c.action == "record_outcome")).all()
        refused = c.execute(sa.select(store.audit.c.key_id, store.audit.c.subject)
                            .where(store.audit.c.siren == siren, store.audit.c.action == "refused_write")).all()
    assert [tuple(r) for r in stored] == [(EMAILS["advisor_a"], "Non")]
    assert [tuple(r) for r in audited] == [(f"user:{world['users']['advisor_a']['user_id']}", f"employees:{siren}")]
    assert [tuple(r) for r in refused] == [(f"user:{world['users']['analyst']['user_id']}", f"employees:{siren}")]
