"""Limits and switches of the A2A server, the HTTP API and remote-agent proxies.

They live here (env prefix ``GENESIS_SERVE_``) rather than in ``GenesisSettings`` so the server can evolve
without touching the core settings; every limit is explicit and configurable.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServeSettings(BaseSettings):
    """``genesis serve`` configuration. Env: ``GENESIS_SERVE_PORT=9000``, ``GENESIS_SERVE_AUTH_REQUIRED=false``."""

    model_config = SettingsConfigDict(env_prefix="GENESIS_SERVE_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    public_url: str | None = Field(default=None, description="base URL peers use to reach this host (cards)")
    auth_required: bool = Field(default=True, description="require an API key on every non-public route")
    rate_per_s: float = Field(default=20.0, gt=0, description="default per-key sustained requests per second")
    burst: int = Field(default=40, ge=1, description="default per-key burst")
    max_request_bytes: int = Field(default=1_048_576, ge=1024, description="largest accepted request body")
    cors_origins: list[str] = Field(default_factory=list, description="CORS allow-list; empty = CORS off")
    max_active_runs: int = Field(default=64, ge=1, description="runs executing at once (HTTP API + A2A)")
    max_kept_runs: int = Field(default=1000, ge=1, description="finished runs kept in memory for GET/events")
    max_events_per_run: int = Field(default=2000, ge=10, description="events buffered per run for replay")
    public_docs: bool = Field(default=True, description="serve /docs and /openapi.json without a key")
    warm_up: bool = Field(default=True, description="load models (embedder, safety, routing) at start, not on "
                          "the first request")
    gc_freeze: bool = Field(default=True, description="after start-up, move every object alive then out of the "
                            "garbage collector's scans (full collections of the model-laden heap stall requests)")
    gc_full_threshold: int = Field(default=1000, ge=1, description="with gc_freeze: younger collections between "
                                   "two full ones (Python's default is 10). Each full one pauses every request "
                                   "(~0.2 s with 2 000 kept runs), so they come every ~8 min at 25 req/s instead "
                                   "of every ~50 s at 100; cyclic garbage waits that long to be freed")
    gc_freeze_every_s: float = Field(default=10.0, ge=0, description="with gc_freeze: move what survived out of "
                                     "the collector's scans this often while requests are served (0: only at "
                                     "start-up), so full collections stay short")
    gc_idle_s: float = Field(default=1.0, gt=0, description="with gc_freeze_every_s: a full clean-up (frozen "
                             "reference cycles included) runs once no request has been in flight this long")
    gc_full_every_s: float = Field(default=3600.0, gt=0, description="with gc_freeze_every_s: the full clean-up "
                                   "runs at least this often, even under load that never pauses")
    stale_upload_s: float = Field(default=86_400.0, gt=0, description="files uploaded over A2A are removed when "
                                  "their run ends; leftovers of a crashed server older than this go at start")


class RemoteSettings(BaseSettings):
    """How a ``RemoteAgent`` talks to its peer. Env: ``GENESIS_REMOTE_TIMEOUT_S=60``."""

    model_config = SettingsConfigDict(env_prefix="GENESIS_REMOTE_", extra="forbid")

    connect_timeout_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=120.0, gt=0, description="whole remote task, unless the task sets timeout_s")
    read_timeout_s: float = Field(default=60.0, gt=0, description="longest silence on a stream")
    retries: int = Field(default=2, ge=0, le=10, description="re-sends after a connection error/5xx, before any reply")
    backoff_s: float = Field(default=0.2, ge=0, description="first back-off; doubles each retry, with jitter")
    backoff_max_s: float = Field(default=5.0, ge=0)
    breaker_failures: int = Field(default=5, ge=1, description="consecutive failures that open the circuit")
    breaker_reset_s: float = Field(default=30.0, gt=0, description="how long the circuit stays open")
    max_artifact_bytes: int = Field(default=64 * 1024 * 1024, ge=1, description="largest inline artifact accepted")
