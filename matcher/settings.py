"""One settings object for the CLI and the API, read from ``REPRISE_*`` variables.

Only the command line (``matcher.cli``) and the API's app factory build a :class:`Settings`;
library code takes explicit arguments. Worker processes receive the object itself, never a
copy through the environment.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from matcher.errors import SettingsError

DEFAULT_DATABASE_URL = "sqlite:///reprise.db"


class Settings(BaseSettings):
    """Where the store, the models and the communes table are, the limits of the API, and the web
    application's sessions and sign-in limits."""

    model_config = SettingsConfigDict(env_prefix="REPRISE_", extra="ignore", frozen=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, description="store URL (REPRISE_DATABASE_URL)")
    models_dir: Path | None = Field(
        None, description="the model registry (REPRISE_MODELS_DIR); default: the `models` folder "
                          "beside a SQLite store, else a folder per store in the user's data folder")
    index_path: Path | None = Field(
        None, description="the candidate index snapshot folder (REPRISE_INDEX_PATH); default: `<store file>.index` "
                          "beside a SQLite store, else a folder per store in the user's data folder")
    communes: Path | None = Field(
        None, description="communes table placing commune/postal-code-only rows (REPRISE_COMMUNES); "
                          "default: the table shipped with Reprise")
    max_body_bytes: int = Field(2_000_000, ge=1_000, description="largest request body accepted (413 above)")
    max_top: int = Field(100, ge=1, le=1000, description="largest `top` for match requests")
    max_page_size: int = Field(500, ge=1, description="largest `limit` for list requests")
    max_bulk_rows: int = Field(1000, ge=1, description="most records in one bulk write")
    max_exclusions: int = Field(1000, ge=0, description="most exclusions listed with explain_exclusions")
    key_cache_seconds: float = Field(
        0.0, ge=0, description="how long a checked API key is trusted without a store lookup; 0 (the default) "
                               "checks it on every request, so a revocation applies at once in every worker")
    match_cache_size: int = Field(
        4096, ge=0, description="ranked results kept per process for repeated reads of the same case "
                                "(dropped when the index or model changes); 0 disables")
    index_poll_seconds: float = Field(
        30.0, ge=0, description="how often the store is checked for changes made by other processes "
                                "and the registry for a newly promoted model; 0 disables")
    refresh_wait_seconds: float = Field(
        120.0, gt=0, description="how long a write waits for the index to include it before answering")
    threads: int | None = Field(
        1, ge=1, description="threads running requests per process. Ranking is CPU-bound under the GIL: "
                             "one thread per process serves requests first come, first served (measured on "
                             "2 cores, 100,000 candidates: 4.1 ms of CPU per first read with 1 thread, 6.8 ms "
                             "with 2); run more processes (`reprise serve --workers`) for more cores")
    blas_threads: int = Field(1, ge=1, description="BLAS threads per server process (parallelism is across requests)")
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="time a client has to send a request's headers (slow-headers clients "
                                        "are answered 408 and disconnected)")
    body_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="time a client has to send a request's body once its headers are in "
                                        "(slow or incomplete bodies are answered 408 and disconnected)")
    session_hours: float = Field(12.0, gt=0, description="how long a web sign-in lasts (hours)")
    signin_window_minutes: float = Field(
        15.0, gt=0, description="window over which failed web sign-in attempts are counted")
    signin_failures_per_email: int = Field(
        5, ge=1, description="failed sign-ins allowed per email within the window; then refused until it passes")
    signin_failures_per_address: int = Field(
        20, ge=1, description="failed sign-ins allowed per client address within the window")

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Settings from the environment, with ``overrides`` (None values ignored); a bad value
        is a :class:`SettingsError` naming the variable."""
        given = {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise SettingsError(_explain(exc, given)) from None

    def registry_dir(self) -> Path:
        """Where the model registry of this store lives (see ``models_dir``)."""
        if self.models_dir is not None:
            return Path(self.models_dir)
        db_file = self._sqlite_file()
        if db_file is not None:
            return db_file.parent / "models"
        return self._store_data_dir("models")

    def index_dir(self) -> Path | None:
        """Where the candidate index snapshot of this store lives (see ``index_path``); None for
        an in-memory SQLite store (nothing to keep beside)."""
        if self.index_path is not None:
            return Path(self.index_path)
        db_file = self._sqlite_file()
        if db_file is not None:
            return db_file.parent / (db_file.name + ".index")
        if self.database_url.startswith("sqlite"):
            return None
        return self._store_data_dir("index")

    def _sqlite_file(self) -> Path | None:
        try:
            url = make_url(self.database_url)
        except ArgumentError:
            return None
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).expanduser().resolve()
        return None

    def _store_data_dir(self, kind: str) -> Path:
        """A folder per store in the user's data folder (for stores that are not a local file)."""
        try:
            url = make_url(self.database_url)
        except ArgumentError:
            url = None
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        if url is not None:
            url = url.set(password=None)
            label = f"{url.get_backend_name()}-{url.host or 'local'}-{url.database or 'default'}"
        else:
            label = "store"
        digest = hashlib.sha256(self.database_url.encode()).hexdigest()[:8]
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
        return base / "reprise" / kind / f"{safe}-{digest}"


def _explain(exc: ValidationError, given: dict[str, object]) -> str:
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "setting"
        where = f"--{name.replace('_', '-')}" if name in given else f"REPRISE_{name.upper()}"
        parts.append(f"{where}={err.get('input')!r}: {err.get('msg')}")
    return "; ".join(parts)
