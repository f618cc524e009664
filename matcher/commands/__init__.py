"""Sub-commands of `reprise`: each module has ``register(subparsers, db_option)``."""

from . import demo_cmd, import_cmd, keys_cmd, match_cmd, scan_cmd, sectors_cmd, serve_cmd, train_cmd

REGISTRY = [import_cmd.register, match_cmd.register, sectors_cmd.register, demo_cmd.register,
            scan_cmd.register, keys_cmd.register, serve_cmd.register, train_cmd.register]
