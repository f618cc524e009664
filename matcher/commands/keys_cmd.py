"""`reprise keys create|list|revoke`: API keys of the advisor API (stored hashed)."""

from __future__ import annotations

from ..cli import UsageError

ROLES = ("advisor", "analyst", "admin")


def register(sub, db_option) -> None:
    p = sub.add_parser("keys", help="API keys of the advisor API: create, list, revoke")
    db_option(p)
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    c = ks.add_parser("create", help="create a key; prints it alone on the last line (shown once)")
    db_option(c)
    c.add_argument("--role", required=True, choices=ROLES,
                   help="advisor: its poles' cases incl. confidential ones; analyst: reads, outcomes; "
                        "admin: keys, models, audit")
    c.add_argument("--pole", action="append", default=[], metavar="ID",
                   help="a pole the advisor serves (repeat for several); advisors only")
    c.add_argument("--label", help="who holds the key, for lists and the audit log")
    c.set_defaults(handler=run_create)
    ls = ks.add_parser("list", help="list keys (id, role, poles, label, created, revoked)")
    db_option(ls)
    ls.set_defaults(handler=run_list)
    r = ks.add_parser("revoke", help="revoke a key: it stops working at once")
    db_option(r)
    r.add_argument("key_id", help="the key's id (as in `reprise keys list`)")
    r.set_defaults(handler=run_revoke)


def run_create(args, ctx) -> int:
    from api.security import create_key
    try:
        row, key = create_key(ctx.db(), role=args.role, poles=args.pole, label=args.label)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
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
        raise UsageError(f"key_id {args.key_id} is not a key; see `reprise keys list`")
    ctx.print(f"revoked key {row['key_id']} ({row['role']}) at {_when(row['revoked_at'])}")
    return 0


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"
