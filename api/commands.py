"""The API's commands, added to `reprise` through the ``reprise.commands`` entry point:
``reprise serve``, ``reprise keys create|list|revoke`` and ``reprise users create|list|disable|enable|reset``
(the web application's personal accounts)."""

from __future__ import annotations

from api.security import ROLES
from matcher.cli.options import command, in_range
from matcher.errors import NotFound, UsageError


def register(sub) -> None:
    s = command(sub, "serve", help="run the advisor API (FastAPI under uvicorn)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    s.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    s.set_defaults(handler=run_serve)

    p = command(sub, "keys", help="API keys of the advisor API: create, list, revoke")
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    c = command(ks, "create", help="create a key; prints it alone on the last line (shown once)")
    c.add_argument("--role", required=True, choices=ROLES,
                   help="advisor: its poles' cases incl. confidential ones; analyst: reads, outcomes; "
                        "admin: keys, models, audit")
    c.add_argument("--pole", action="append", default=[], metavar="ID",
                   help="a pole the advisor serves (repeat for several); advisors only")
    c.add_argument("--label", help="who holds the key, for lists and the audit log")
    c.set_defaults(handler=run_create)
    command(ks, "list", help="list keys (id, role, poles, label, created, revoked)").set_defaults(handler=run_list)
    r = command(ks, "revoke", help="revoke a key: it stops working at once")
    r.add_argument("key_id", help="the key's id (as in `reprise keys list`)")
    r.set_defaults(handler=run_revoke)
    register_users(sub)


def register_users(sub) -> None:
    p = command(sub, "users", help="people who sign in to the web application: create, list, disable, enable, reset")
    us = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    c = command(us, "create", help="create an account (the password is prompted for, or read with --password-stdin)")
    c.add_argument("--email", required=True, help="the person's email address, used to sign in")
    c.add_argument("--role", required=True, choices=ROLES,
                   help="advisor: its poles' cases incl. confidential ones, records outcomes; analyst: every "
                        "non-confidential case, the model's page; admin: as analyst, without recording outcomes")
    c.add_argument("--pole", action="append", default=[], metavar="ID",
                   help="a pole the advisor serves (repeat for several); advisors only")
    c.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input instead of prompting")
    c.set_defaults(handler=run_user_create)
    command(us, "list", help="list accounts (id, email, role, poles, created, disabled, last visit)"
            ).set_defaults(handler=run_user_list)
    for name, text in (("disable", "disable an account: signed out everywhere at once, sign-in refused"),
                       ("enable", "enable a disabled account again")):
        d = command(us, name, help=text)
        d.add_argument("email")
        d.set_defaults(handler=run_user_state, disable=name == "disable")
    r = command(us, "reset", help="set a new password (prompted, or --password-stdin); ends every session")
    r.add_argument("email")
    r.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    r.set_defaults(handler=run_user_reset)


def run_serve(args, ctx) -> int:
    from api.server import check_free, run

    in_range("--port", args.port, 1, 65535)
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers} must be at least 1")
    ctx.db(create=False)  # fail here, with a clear message, if the store cannot be opened
    try:
        check_free(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    ctx.print(f"serving the Reprise API on http://{args.host}:{args.port} (docs at /docs), store {ctx.db_url}")
    run(ctx.settings, args.host, args.port, workers=args.workers, log_level=args.log_level)
    return 0


def run_create(args, ctx) -> int:
    from api.security import create_key
    row, key = create_key(ctx.db(), role=args.role, poles=args.pole, label=args.label)
    poles = f" for poles {', '.join(row['poles'])}" if row["poles"] else ""
    ctx.print(f"created {row['role']} key {row['key_id']}{poles}; store it now, it is not shown again:")
    ctx.print(key)
    return 0


def run_list(args, ctx) -> int:
    from api.security import list_keys
    rows = list_keys(ctx.db())
    ctx.print("key_id\trole\tpoles\tcreated_at\trevoked_at\tlabel")
    for r in rows:
        ctx.print("\t".join([r["key_id"], r["role"], ",".join(r["poles"]) or "-", _when(r["created_at"]),
                             _when(r["revoked_at"]), r["label"] or ""]))
    return 0


def run_revoke(args, ctx) -> int:
    from api.security import revoke_key
    row = revoke_key(ctx.db(), args.key_id)
    if row is None:
        raise NotFound(f"key_id {args.key_id} is not a key; see `reprise keys list`")
    ctx.print(f"revoked key {row['key_id']} ({row['role']}) at {_when(row['revoked_at'])}")
    return 0


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def read_password(args, email: str) -> str:
    """The password from standard input's first line (--password-stdin), else typed twice at a prompt."""
    import getpass
    import sys
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise UsageError("--password-stdin: standard input is empty; send the password on its first line")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to prompt for the password: pass --password-stdin and send it on standard input")
    first = getpass.getpass(f"Password for {email}: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise UsageError("the two passwords differ; nothing was changed")
    return first


def run_user_create(args, ctx) -> int:
    from api.web.accounts import check_email, create_user
    email = check_email(args.email)
    row = create_user(ctx.db(), email=email, password=read_password(args, email), role=args.role, poles=args.pole)
    poles = f" for poles {', '.join(row['poles'])}" if row["poles"] else ""
    ctx.print(f"created {row['role']} account {row['email']} (id {row['user_id']}){poles}")
    return 0


def run_user_list(args, ctx) -> int:
    from api.web.accounts import list_users
    ctx.print("user_id\temail\trole\tpoles\tcreated_at\tdisabled_at\tlast_seen_at")
    for r in list_users(ctx.db()):
        ctx.print("\t".join([r["user_id"], r["email"], r["role"], ",".join(r["poles"]) or "-", _when(r["created_at"]),
                             _when(r["disabled_at"]), _when(r["last_seen_at"])]))
    return 0


def run_user_state(args, ctx) -> int:
    from api.web.accounts import set_disabled
    row = set_disabled(ctx.db(), args.email, args.disable)
    ctx.print(f"disabled account {row['email']}: signed out everywhere" if args.disable
              else f"enabled account {row['email']}")
    return 0


def run_user_reset(args, ctx) -> int:
    from api.web.accounts import normalize_email, reset_password
    from matcher.store.accounts import user_by_email
    if user_by_email(ctx.db(), normalize_email(args.email)) is None:  # before asking for a password
        raise NotFound(f"email {args.email} has no account; see `reprise users list`")
    row = reset_password(ctx.db(), args.email, read_password(args, args.email))
    ctx.print(f"new password set for {row['email']}; every session of the account has ended")
    return 0
