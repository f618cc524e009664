"""`reprise serve`: the advisor API under uvicorn."""

from __future__ import annotations

import os

from ..cli import ENV_COMMUNES, ENV_DB, ENV_MODELS, UsageError

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def register(sub, db_option) -> None:
    p = sub.add_parser("serve", help="run the advisor API (FastAPI under uvicorn)")
    db_option(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (default 1); each holds its own index in memory")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    from api.server import check_free
    from api.server import run as serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is out of range; expected 1 to 65535")
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers} must be at least 1")
    ctx.db()  # fail here, with a clear message, if the store cannot be opened
    # The app reads its settings from the environment (in every worker process).
    os.environ[ENV_DB] = ctx.db_url
    os.environ[ENV_MODELS] = str(ctx.models_dir)
    if ctx.communes_path:
        os.environ[ENV_COMMUNES] = ctx.communes_path
    for name in BLAS_ENV:  # one BLAS thread per process; requests run in parallel instead
        os.environ.setdefault(name, "1")
    try:
        check_free(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    ctx.print(f"serving the Reprise API on http://{args.host}:{args.port} (docs at /docs), store {ctx.db_url}")
    serve(args.host, args.port, workers=args.workers, log_level=args.log_level)
    return 0
