"""Accounts, sessions, CSRF and sign-in limits: the store on SQLite and PostgreSQL, the pages
through the app, the `reprise users` commands."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from api.web import accounts as web_accounts
from api.web.session import COOKIE, token_hash
from matcher import store
from matcher.cli.main import main
from matcher.errors import InvalidRecord, NotFound
from matcher.settings import Settings
from matcher.store import accounts
from tests.web.conftest import PASSWORD, POLES, csrf_of, sign_in


def test_accounts_in_the_store_keep_only_hashes_and_end_sessions_at_once(db):
    import pandas as pd

    from matcher.contract.imports import import_frame
    import_frame(db, "poles", pd.DataFrame(POLES))
    user = web_accounts.create_user(db, email=" Claire.Martin@PTCE-a.fr ", password=PASSWORD, role="advisor",
                                    poles=["ptce-a"])
    assert user["email"] == "claire.martin@ptce-a.fr" and user["poles"] == ["ptce-a"]
    row = accounts.user_by_email(db, user["email"])
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]
    assert web_accounts.verify(db, "CLAIRE.martin@ptce-a.fr", PASSWORD)["user_id"] == user["user_id"]
    assert web_accounts.verify(db, user["email"], PASSWORD + "x") is None
    assert web_accounts.verify(db, "nobody@ptce-a.fr", PASSWORD) is None

    accounts.open_session(db, token_hash=token_hash("tok-1"), user_id=user["user_id"],
                          lifetime=dt.timedelta(hours=1), since=None)
    assert accounts.session_user(db, token_hash("tok-1"))["email"] == user["email"]
    assert accounts.session_user(db, token_hash("tok-2")) is None
    with db.connect() as c:  # the token itself is stored nowhere
        assert "tok-1" not in str(c.execute(sa.select(store.sessions)).all())
    web_accounts.set_disabled(db, user["email"], True)
    assert accounts.session_user(db, token_hash("tok-1")) is None
    assert web_accounts.verify(db, user["email"], PASSWORD) is None  # refused while disabled
    web_accounts.set_disabled(db, user["email"], False)
    assert accounts.session_user(db, token_hash("tok-1")) is None  # enabling does not revive a session
    accounts.open_session(db, token_hash=token_hash("tok-3"), user_id=user["user_id"],
                          lifetime=dt.timedelta(hours=1), since=None)
    web_accounts.reset_password(db, user["email"], "un tout autre mot de passe")
    assert accounts.session_user(db, token_hash("tok-3")) is None
    assert web_accounts.verify(db, user["email"], PASSWORD) is None
    accounts.open_session(db, token_hash=token_hash("tok-4"), user_id=user["user_id"],
                          lifetime=dt.timedelta(seconds=-1), since=None)
    assert accounts.session_user(db, token_hash("tok-4")) is None  # expired

    window = dt.timedelta(minutes=15)
    for ok in (False, False, True):
        accounts.record_attempt(db, email=user["email"], address="10.0.0.1", succeeded=ok, keep=window)
    accounts.record_attempt(db, email="other@x.fr", address="10.0.0.1", succeeded=False, keep=window)
    assert accounts.recent_failures(db, email=user["email"], address="10.0.0.1", window=window) == (2, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"email": "pas-une-adresse", "role": "advisor", "poles": ["ptce-a"]}, "is not an email address"),
    ({"email": "a@b.fr", "role": "advisor", "poles": []}, "an advisor needs at least one pole"),
    ({"email": "a@b.fr", "role": "analyst", "poles": ["ptce-a"]}, "poles apply to advisors only"),
    ({"email": "a@b.fr", "role": "advisor", "poles": ["ptce-z"]}, "pole ptce-z is not a stored pole"),
    ({"email": "a@b.fr", "role": "chief", "poles": []}, "role 'chief' is not a role"),
    ({"email": "a@b.fr", "role": "admin", "password": "court"}, "at least 12 are needed"),
    ({"email": "claire.martin@ptce-a.fr", "role": "admin"}, "already has an account"),
])
def test_bad_accounts_are_refused_with_the_reason(territory, kwargs, message):
    db = store.connect(territory[0])
    kwargs = {"password": PASSWORD, **kwargs}
    with pytest.raises(InvalidRecord, match=re.escape(message)):
        web_accounts.create_user(db, **kwargs)
    with pytest.raises(NotFound, match="has no account"):
        web_accounts.reset_password(db, "nobody@x.fr", PASSWORD)


def test_users_commands(territory, monkeypatch, capsys):
    url = territory[0]
    monkeypatch.setattr("sys.stdin", io.StringIO("mot de passe de Léa 2026\n"))
    assert main(["--db", url, "users", "create", "--email", "lea@ptce-b.fr", "--role", "advisor", "--pole", "ptce-b",
                 "--password-stdin"]) == 0
    assert "created advisor account lea@ptce-b.fr" in capsys.readouterr().out
    assert main(["--db", url, "users", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"^[0-9a-f]{8}\tlea@ptce-b\.fr\tadvisor\tptce-b\t", listed, re.M), listed
    assert "$argon2" not in listed
    db = store.connect(url)
    assert web_accounts.verify(db, "lea@ptce-b.fr", "mot de passe de Léa 2026") is not None
    assert main(["--db", url, "users", "disable", "lea@ptce-b.fr"]) == 0
    assert web_accounts.verify(db, "lea@ptce-b.fr", "mot de passe de Léa 2026") is None
    assert main(["--db", url, "users", "enable", "lea@ptce-b.fr"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("un nouveau mot de passe\n"))
    assert main(["--db", url, "users", "reset", "lea@ptce-b.fr", "--password-stdin"]) == 0
    assert web_accounts.verify(db, "lea@ptce-b.fr", "un nouveau mot de passe") is not None
    capsys.readouterr()
    # without --password-stdin and without a terminal: a clear refusal, nothing created
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["--db", url, "users", "create", "--email", "x@y.fr", "--role", "admin"]) == 2
    assert "pass --password-stdin" in capsys.readouterr().err
    assert main(["--db", url, "users", "disable", "absent@y.fr"]) == 2
    assert "absent@y.fr has no account" in capsys.readouterr().err


@pytest.fixture
def app_for(territory, tmp_path):
    def make(**settings):
        s = Settings(database_url=territory[0], models_dir=tmp_path / "models", index_poll_seconds=0, **settings)
        return create_app(s)
    return make


def test_sign_in_sets_a_protected_cookie_and_sign_out_ends_the_session(app_for, territory):
    email = "claire.martin@ptce-a.fr"
    with TestClient(app_for()) as client:
        first = client.get("/", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/connexion?suite=/"
        r = sign_in(client, email)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
        assert "Secure" not in cookie  # plain HTTP here
        token = client.cookies[COOKIE]
        page = client.get("/")
        assert page.status_code == 200 and email in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        bad = client.post("/deconnexion", data={"csrf": "forged"}, follow_redirects=False)
        assert bad.status_code == 403 and client.get("/").status_code == 200  # still signed in
        out = client.post("/deconnexion", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/connexion?sortie=1"
        client.cookies.set(COOKIE, token)  # the old cookie replayed: no longer a session
        assert client.get("/", follow_redirects=False).status_code == 303
    with TestClient(app_for(), base_url="https://testserver") as client:
        r = sign_in(client, email)
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
        assert "Secure" in cookie


def test_wrong_passwords_unknown_emails_and_missing_tokens_are_refused(app_for):
    with TestClient(app_for()) as client:
        wrong = sign_in(client, "claire.martin@ptce-a.fr", "pas le bon mot de passe")
        unknown = sign_in(client, "inconnu@ptce-a.fr")
        for r in (wrong, unknown):  # the same answer: no way to tell which emails have accounts
            assert r.status_code == 401 and "Adresse électronique ou mot de passe incorrect" in r.text
            assert COOKIE not in client.cookies
        forged = client.post("/connexion", data={"email": "claire.martin@ptce-a.fr", "password": PASSWORD,
                                                 "csrf": "forged", "suite": "/"}, follow_redirects=False)
        assert forged.status_code == 400 and COOKIE not in client.cookies
        # after signing in, only a local path is followed
        form = client.get("/connexion")
        r = client.post("/connexion", data={"email": "claire.martin@ptce-a.fr", "password": PASSWORD,
                                            "csrf": csrf_of(form.text), "suite": "//evil.example/x"},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_sign_in_attempts_are_limited_per_email_and_per_address(app_for):
    app = app_for(signin_failures_per_email=3, signin_failures_per_address=5)
    with TestClient(app) as client:
        for _ in range(3):
            assert sign_in(client, "claire.martin@ptce-a.fr", "mauvais mot de passe").status_code == 401
        locked = sign_in(client, "claire.martin@ptce-a.fr")  # the right password, too late
        assert locked.status_code == 429 and "Réessayez dans 15 minutes" in locked.text
        assert locked.headers["retry-after"] == "900" and COOKIE not in client.cookies
        # another email from the same address still may, until the address's own limit
        assert sign_in(client, "paul.roux@ptce-b.fr", "mauvais mot de passe").status_code == 401
        assert sign_in(client, "paul.roux@ptce-b.fr", "mauvais mot de passe").status_code == 401
        assert sign_in(client, "analyste@reprise.fr").status_code == 429
    with TestClient(app_for(signin_failures_per_email=3, signin_failures_per_address=5)) as other:
        # a second server process sees the same counts (store-backed)
        assert sign_in(other, "claire.martin@ptce-a.fr").status_code == 429


def test_disabling_or_resetting_an_account_signs_it_out_at_once(app_for, territory):
    db = store.connect(territory[0])
    with TestClient(app_for()) as client:
        sign_in(client, "paul.roux@ptce-b.fr")
        assert client.get("/").status_code == 200
        web_accounts.set_disabled(db, "paul.roux@ptce-b.fr", True)  # as `reprise users disable` would
        r = client.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/connexion")
        assert sign_in(client, "paul.roux@ptce-b.fr").status_code == 401
        web_accounts.set_disabled(db, "paul.roux@ptce-b.fr", False)
        sign_in(client, "paul.roux@ptce-b.fr")
        assert client.get("/").status_code == 200
        web_accounts.reset_password(db, "paul.roux@ptce-b.fr", "mot de passe renouvelé")
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_expires(app_for):
    with TestClient(app_for(session_hours=1 / 3600)) as client:  # one second
        sign_in(client, "analyste@reprise.fr")
        assert client.get("/").status_code == 200
        import time
        time.sleep(1.2)
        assert client.get("/", follow_redirects=False).status_code == 303
