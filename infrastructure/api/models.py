"""Request and response models of the HTTP API (they are the published OpenAPI schema).

Remote callers may pass inputs only as inline data or http(s) URLs: a local ``path`` (or a ``file:`` or
database URI) would let a caller make the server read its own files.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..contracts import NAMESPACE_PATTERN, AgentCard, RunResult


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputRef(_Model):
    """One task input: exactly one of ``uri`` (http/https) or ``data`` (inline JSON)."""

    name: str = Field(default="", max_length=200)
    uri: str | None = Field(default=None, max_length=4096, pattern=r"^https?://\S+$")
    data: Any = None
    media_type: str | None = Field(default=None, max_length=200)


class TaskSubmission(_Model):
    text: str = Field(min_length=1, max_length=200_000, description="what should be done")
    agent: str | None = Field(default=None, max_length=64, description="pin an agent (skips routing)")
    task_type: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: list[InputRef] = Field(default_factory=list, max_length=64)
    namespace: str | None = Field(default=None, pattern=NAMESPACE_PATTERN,
                                  description="defaults to the key's first namespace")
    timeout_s: float | None = Field(default=None, gt=0, le=86_400)
    wait: bool = Field(default=False, description="block until the run ends (bounded by wait_timeout_s)")
    wait_timeout_s: float = Field(default=60.0, gt=0, le=600)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("task text is empty")
        return v


RunStatus = Literal["queued", "running", "succeeded", "partial", "failed", "cancelled", "interrupted"]


class RunView(_Model):
    run_id: str
    status: RunStatus
    agent: str | None = None
    namespace: str
    created_at: float
    finished_at: float | None = None
    text: str = ""
    events: int = Field(description="events buffered so far")
    error: dict[str, Any] | None = None
    result: RunResult | None = None


class RunList(_Model):
    runs: list[RunView]


class ArtifactView(_Model):
    index: int
    name: str
    media_type: str
    size_bytes: int
    description: str = ""
    agent: str | None = None
    url: str = Field(description="download URL (same API key)")


class ArtifactList(_Model):
    run_id: str
    artifacts: list[ArtifactView]


class AgentView(_Model):
    card: AgentCard
    remote: bool
    a2a_url: str = Field(description="this host's A2A endpoint for the agent")


class AgentList(_Model):
    agents: list[AgentView]
    router_card_url: str


class Health(_Model):
    status: Literal["ok"]


class Readiness(_Model):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


class ErrorBody(_Model):
    code: str
    message: str
    type: str | None = None
    field: str | None = None
    hint: str | None = None
    details: dict[str, Any] | None = None
    retry_after_s: float | None = None


class ErrorResponse(_Model):
    error: ErrorBody
