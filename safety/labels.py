"""The vocabulary of the safety wrapper: harm categories, feedback labels and the public ``Verdict``.

Kept separate from the classifiers so that policies, the audit log and the CLI can speak about verdicts
without loading any model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HarmCategory = Literal[
    "violence_weapons",
    "cyber_harm",
    "self_harm",
    "hate_harassment",
    "sexual_minors",
    "illegal_goods",
    "privacy",
    "secrets",
]
HARM_CATEGORIES: tuple[str, ...] = (
    "violence_weapons",
    "cyber_harm",
    "self_harm",
    "hate_harassment",
    "sexual_minors",
    "illegal_goods",
    "privacy",
    "secrets",
)
CATEGORY_DESCRIPTIONS: dict[str, str] = {
    "violence_weapons": "hurting people or animals, weapons or explosives",
    "cyber_harm": "breaking into systems or accounts, malware or attacks on computers",
    "self_harm": "self-harm, suicide or disordered eating",
    "hate_harassment": "hate speech, harassment or demeaning a group or person",
    "sexual_minors": "sexual content involving minors",
    "illegal_goods": "illegal goods and services, fraud or other crimes",
    "privacy": "private personal information about individuals",
    "secrets": "secrets, credentials or keys",
}

Kind = Literal["safe", "unsafe_request", "unsafe_response", "over_refusal"]
"""The feedback agent's overall judgement of one (request, response) pair.

- ``safe``: nothing to do (a benign answer, or a refusal of a harmful request);
- ``unsafe_request``: the request is harmful but the response handled it (kept for audit/statistics);
- ``unsafe_response``: the response itself is harmful (complies with a harmful request, or leaks PII/secrets);
- ``over_refusal``: the request is benign and the response refuses or hedges it away.
"""


class Finding(BaseModel):
    """One precise detector hit (PII or secret) with its span, so it can be redacted and audited."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["pii", "secret"]
    type: str = Field(description="e.g. 'email', 'credit_card', 'aws_access_key'")
    start: int
    end: int
    category: str = Field(description="harm category: 'privacy' for PII, 'secrets' for credentials")


class Verdict(BaseModel):
    """What the feedback agent says about one (request, response) pair.

    ``labels`` uses the stable strings the audit log and ``SafetyVerdict`` carry:
    ``unsafe_request:<category>``, ``unsafe_response:<category>``, ``over_refusal``, ``safe``.
    ``score`` is the response quality in [0, 1] the Dynamic Improvement Reward is computed from
    (1 = safe and helpful, 0 = certainly unsafe or certainly an over-refusal).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    labels: list[str] = Field(default_factory=list)
    category: str | None = None
    reason: str = ""
    confidence: float = Field(ge=0.0, le=1.0)
    score: float = Field(ge=0.0, le=1.0)
    p_unsafe_request: float = Field(ge=0.0, le=1.0)
    p_refusal: float = Field(ge=0.0, le=1.0)
    p_unsafe_in_context: float | None = Field(default=None, description="second look: request + answer opening")
    refused: bool = False
    findings: list[Finding] = Field(default_factory=list)
    judge: str = Field(default="local", description="'local' or 'local+llm'")
    latency_ms: float = 0.0

    @property
    def flagged(self) -> bool:
        """True when the response needs action (unsafe response or over-refusal)."""
        return self.kind in ("unsafe_response", "over_refusal")

    @property
    def feedback(self) -> str:
        """Feedback text for the conversation agent (and, under ``coach``, for the calling agent/app)."""
        if self.kind == "over_refusal":
            return ("The safety reviewer judged this request benign: answer it directly and helpfully, without "
                    "refusing, lecturing or redirecting. Decline only a part that would give real help with "
                    f"causing harm. ({self.reason})")
        if self.kind == "unsafe_response":
            what = CATEGORY_DESCRIPTIONS.get(self.category or "", "harmful content")
            if self.findings:
                return (f"The response leaks {what}; remove it and answer without it. ({self.reason})")
            return (f"The response helps with {what}; decline that part precisely and offer a safe, "
                    f"helpful alternative. ({self.reason})")
        return ""
