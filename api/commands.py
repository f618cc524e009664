"""The API's commands, added to `reprise` through the ``reprise.commands`` entry point:
``reprise serve`` and ``reprise keys create|list|revoke``."""

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
