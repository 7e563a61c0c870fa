"""Settings: ``GENESIS_*`` environment variables, then an optional ``genesis.toml``, then defaults.

Every limit the runtime enforces lives here so that it is explicit and configurable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError


class GenesisSettings(BaseSettings):
    """Configuration of one Genesis host. Nested sections use ``__`` in env vars (``GENESIS_MEMORY__GRAPH``)."""

    model_config = SettingsConfigDict(
        env_prefix="GENESIS_", env_nested_delimiter="__", extra="forbid", toml_file="genesis.toml"
    )

    data_dir: Path = Field(default=Path(".genesis"), description="where runs, checkpoints, memory and artifacts live")
    llm: str | None = Field(
        default=None,
        description="None (no LLM), 'scripted:FILE', 'local:DIR' or 'provider:model' for LangChain init_chat_model",
    )
    checkpointer: Literal["sqlite", "memory"] = "sqlite"
    max_runs_in_memory: int = Field(default=1000, ge=1, description="with checkpointer=memory: finished runs "
                                    "(records and checkpoints) kept in memory; the oldest go first")

    # limits
    max_task_chars: int = Field(default=20_000, ge=1)
    max_subtasks: int = Field(default=12, ge=1)
    max_delegation_depth: int = Field(default=3, ge=0)
    max_total_steps: int = Field(default=50, ge=1, description="agent invocations per run, delegations included")
    subtask_timeout_s: float = Field(default=300.0, gt=0)
    max_inputs: int = Field(default=32, ge=0)
    max_input_bytes: int = Field(default=512 * 1024 * 1024, ge=1)

    # stages
    memory_backend: Literal["hybrid", "inprocess"] = Field(
        default="hybrid", description="'hybrid' = Chroma + graph DB; 'inprocess' = dictionary memory (tests, benchmarks)"
    )
    safety_reviewer: Literal["waltzrl", "passthrough"] = Field(
        default="waltzrl", description="'passthrough' disables safety review (responses are marked unreviewed)"
    )
    safety_policy: Path | None = Field(
        default=None, description="YAML safety policy (block/revise/coach/monitor per agent and namespace)"
    )
    replan_on_failure: bool = Field(default=True, description="retry a failed subtask with another agent (HTDAG replan)")
    router_rules: Path | None = Field(default=None, description="YAML rules file for the HALO router")
    router_glossary: list[Path] = Field(
        default_factory=list,
        description="YAML glossaries of your own business jargon (`terms: {\"term | variant\": plain definition}`), "
                    "laid over the router's shipped glossary",
    )
    fallback_agent: str | None = None
    disabled_plugins: list[str] = Field(default_factory=list)
    record_trajectories: bool = Field(
        default=False, description="log every finished subtask to the SE-Darwin trajectory pool (production insights)"
    )
    otel_endpoint: str | None = Field(default=None, description="OTLP/HTTP traces endpoint, e.g. http://localhost:4318")

    # memory backends
    chroma_url: str | None = Field(default=None, description="Chroma server URL; embedded PersistentClient if unset")
    graph_backend: Literal["ladybug", "neo4j"] = "ladybug"
    memory_degraded_ok: bool = Field(
        default=False, description="answer recalls from the remaining signals when one memory backend is down"
    )
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = os.environ.get("GENESIS_CONFIG", "genesis.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml))

    def path(self, *parts: str) -> Path:
        """A path inside the data dir, parents created."""
        p = self.data_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def load_settings(**overrides: Any) -> GenesisSettings:
    """Build settings, turning pydantic's validation error into a ``ConfigError`` naming the field."""
    try:
        return GenesisSettings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        raise ConfigError(err["msg"], field=field, hint="check GENESIS_* variables and genesis.toml") from None
