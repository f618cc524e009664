"""API settings from the environment (``REPRISE_*``), with the limits that keep the API safe.

With ``matcher/cli.py``, the only module that reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the store and models are, and the limits applied to every request."""

    model_config = SettingsConfigDict(env_prefix="REPRISE_", extra="ignore")

    database_url: str = Field("sqlite:///reprise.db", description="store URL (REPRISE_DATABASE_URL)")
    models_dir: Path = Field(Path("models"), description="trained rankers and their registry")
    communes: str | None = Field(None, description="communes file placing commune/postal-code-only rows")
    max_body_bytes: int = Field(2_000_000, ge=1_000, description="largest request body accepted (413 above)")
    max_top: int = Field(100, ge=1, le=1000, description="largest `top` for match requests")
    max_page_size: int = Field(500, ge=1, description="largest `limit` for list requests")
    max_bulk_rows: int = Field(1000, ge=1, description="most records in one bulk write")
    max_exclusions: int = Field(1000, ge=0, description="most exclusions listed with explain_exclusions")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="how long a checked API key is trusted without a store lookup; a key "
                               "revoked by `reprise keys revoke` stops working within this delay")
    match_cache_size: int = Field(
        4096, ge=0, description="ranked results kept per process for repeated reads of the same case "
                                "(dropped when the index or model changes); 0 disables")
    index_poll_seconds: float = Field(
        30.0, ge=0, description="how often the store is checked for changes made by other processes "
                                "(another worker, `reprise import`) and the registry for a newly "
                                "promoted model; 0 disables")
    refresh_wait_seconds: float = Field(
        120.0, gt=0, description="how long a write waits for the index to include it before answering")
    threads: int | None = Field(
        1, ge=1, description="threads running requests per process. Ranking is CPU-bound under the GIL: "
                             "one thread per process serves requests first come, first served, without "
                             "threads taking the GIL from each other (measured on 2 cores, 100,000 "
                             "candidates: 4.1 ms of CPU per first read with 1 thread, 6.8 ms with 2); "
                             "run more processes (`reprise serve --workers`) for more cores")
    blas_threads: int = Field(1, ge=1, description="BLAS threads per server process (parallelism is across requests)")
