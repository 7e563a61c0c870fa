"""Safety policies: what to do with a flagged response, per agent, per namespace, local or remote.

``block`` replaces the response with a decline; ``revise`` (default) lets the conversation agent improve it;
``coach`` keeps the response and returns the feedback to the calling agent/app as guidance; ``monitor``
only records. The most specific matching rule wins (agent+namespace > agent > namespace > remote > default).

``fail_mode`` decides what happens when the wrapper itself errors: ``closed`` (default) blocks the response,
``open`` lets it through marked ``unreviewed`` with the error as the reason (logged loudly, never silent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..infrastructure.errors import ConfigError

PolicyAction = Literal["block", "revise", "coach", "monitor"]
FailMode = Literal["closed", "open"]


class PolicyRule(BaseModel):
    """One rule. ``None``/'*' fields match anything; ``remote`` restricts it to remote (A2A) agents or not."""

    model_config = ConfigDict(extra="forbid")

    action: PolicyAction
    agent: str | None = None
    namespace: str | None = None
    remote: bool | None = None

    def matches(self, agent: str, namespace: str, remote: bool) -> bool:
        return ((self.agent in (None, "*", agent)) and (self.namespace in (None, "*", namespace))
                and (self.remote is None or self.remote == remote))

    @property
    def specificity(self) -> int:
        return (4 if self.agent not in (None, "*") else 0) + (2 if self.namespace not in (None, "*") else 0) + (
            1 if self.remote is not None else 0)


class SafetyPolicy(BaseModel):
    """The whole policy configuration of the safety wrapper (YAML/JSON file or dict)."""

    model_config = ConfigDict(extra="forbid")

    default: PolicyAction = "revise"
    rules: list[PolicyRule] = Field(default_factory=list)
    fail_mode: FailMode = "closed"
    max_rounds: int = Field(default=2, ge=1, le=10, description="revision rounds per response")
    llm_judge: Literal["off", "uncertain", "always"] = "uncertain"
    review_timeout_s: float = Field(default=600.0, gt=0, description="whole review incl. LLM calls and re-runs")
    block_message: str = Field(default="This response was withheld by the safety reviewer.", min_length=1)
    audit_text_chars: int = Field(default=2000, ge=0, description="how much request/response text the audit keeps")
    max_request_chars: int = Field(default=2000, ge=1, description="request text the classifier reads")
    max_response_chars: int = Field(default=20_000, ge=1, description="response text the detectors read")
    artifact_leaks: Literal["redact", "withhold"] = Field(
        default="redact", description="a text artifact leaking PII/secrets: redact into a new file, or withhold it")
    artifact_scan_max_bytes: int = Field(
        default=5_000_000, ge=0, description="text artifacts larger than this are withheld unreviewed (fail closed)")

    def action_for(self, agent: str, namespace: str = "default", *, remote: bool = False) -> PolicyAction:
        matching = [r for r in self.rules if r.matches(agent, namespace, remote)]
        if not matching:
            return self.default
        return max(enumerate(matching), key=lambda ir: (ir[1].specificity, ir[0]))[1].action

    @classmethod
    def from_data(cls, data: dict[str, Any], *, source: str = "policy") -> SafetyPolicy:
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "policy"
            raise ConfigError(f"{err['msg']} (in {source})", field=f"safety.{where}",
                              hint="actions are block, revise, coach, monitor; fail_mode is closed or open") from None

    @classmethod
    def from_file(cls, path: str | Path) -> SafetyPolicy:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"policy file {p} does not exist", field="safety.policy")
        try:
            text = p.read_text(encoding="utf-8")
            data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot parse policy file {p}: {exc}", field="safety.policy") from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"policy file {p} must contain a mapping", field="safety.policy")
        return cls.from_data(data or {}, source=str(p))
