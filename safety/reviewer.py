"""``WaltzRLReviewer`` (the runtime's ``SafetyReviewer``) and ``SafetyWrapper`` (the simple API).

The reviewer never returns a result without a verdict: every path, including its own failures and
timeouts, ends in a ``SafetyVerdict``. On its own errors it fails closed by default (the response is
withheld, ``action="blocked"``, label ``reviewer_error``); ``fail_mode="open"`` lets the response through
marked ``unreviewed`` with the error as the reason and a logged error, never silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..infrastructure.contracts import AgentResult, Artifact, RerunFn, ReviewRequest, SafetyVerdict
from ..infrastructure.errors import BadInputError
from .audit import AuditLog
from .conversation import ConversationAgent
from .detectors import find_secrets
from .feedback import FeedbackAgent
from .labels import Verdict
from .pipeline import Outcome, SafetyPipeline
from .policies import SafetyPolicy

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

    from ..infrastructure.config import GenesisSettings

log = logging.getLogger(__name__)



def _redact_data(value: Any, *, pii: bool = False) -> tuple[Any, int]:
    """Redact secrets inside structured result data (strings anywhere in dicts/lists); PII too when the
    answer was flagged for leaking it (the same rows usually sit in ``data``)."""
    from .detectors import find_pii, redact

    if isinstance(value, str):
        hits = find_secrets(value) + (find_pii(value) if pii else [])
        return (redact(value, hits), len(hits)) if hits else (value, 0)
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            out[k], n = _redact_data(v, pii=pii)
            total += n
        return out, total
    if isinstance(value, list):
        items = [_redact_data(v, pii=pii) for v in value]
        return [i for i, _ in items], sum(n for _, n in items)
    return value, 0


def _build(policy: SafetyPolicy | str | Path | dict | None, audit: AuditLog | str | Path | None,
           feedback: FeedbackAgent | None, cache_dir: Path | None) -> SafetyPipeline:
    if isinstance(policy, (str, Path)):
        policy = SafetyPolicy.from_file(policy)
    elif isinstance(policy, dict):
        policy = SafetyPolicy.from_data(policy)
    policy = policy or SafetyPolicy()
    if isinstance(audit, (str, Path)):
        audit = AuditLog(audit)
    feedback = feedback or FeedbackAgent(cache_dir=cache_dir, judge=policy.llm_judge,
                                         max_request_chars=policy.max_request_chars,
                                         max_response_chars=policy.max_response_chars)
    return SafetyPipeline(feedback, policy=policy, conversation=ConversationAgent(), audit=audit)


class WaltzRLReviewer:
    """Feedback agent + conversation agent + policies + audit, behind the ``SafetyReviewer`` protocol."""

    name = "waltzrl"

    def __init__(self, *, policy: SafetyPolicy | str | Path | dict | None = None,
                 audit: AuditLog | str | Path | None = None, feedback: FeedbackAgent | None = None,
                 llm: BaseChatModel | None = None, cache_dir: Path | None = None) -> None:
        self.pipeline = _build(policy, audit, feedback, cache_dir)
        self.llm = llm

    @classmethod
    def from_settings(cls, settings: GenesisSettings, *, llm: BaseChatModel | None = None,
                      policy: SafetyPolicy | str | Path | dict | None = None) -> WaltzRLReviewer:
        """Audit log at ``<data_dir>/safety/audit.sqlite``; policy from ``policy``, else the ``safety_policy``
        setting (``GENESIS_SAFETY_POLICY``), else ``<data_dir>/safety/policy.yaml`` if it exists, else defaults."""
        if policy is None:
            default_file = Path(settings.data_dir) / "safety" / "policy.yaml"
            policy = settings.safety_policy or (default_file if default_file.exists() else None)
        return cls(policy=policy, audit=settings.path("safety", "audit.sqlite"), llm=llm,
                   cache_dir=Path(settings.data_dir) / "safety" / "models")

    @property
    def policy(self) -> SafetyPolicy:
        return self.pipeline.policy

    @property
    def audit(self) -> AuditLog | None:
        return self.pipeline.audit

    async def review(self, request: ReviewRequest, *, rerun: RerunFn | None = None,
                     llm: BaseChatModel | None = None) -> AgentResult:
        """Review one agent response; always returns the result with ``result.safety`` set."""
        result = request.result
        llm = llm or self.llm
        where = {"agent": request.agent, "namespace": request.task.namespace, "remote": request.remote,
                 "run_id": request.run_id, "subtask_id": request.subtask_id}
        try:
            out = await asyncio.wait_for(
                self.pipeline.process(request.task.text, result.text or "", rerun=rerun, llm=llm,
                                      artifacts=result.artifacts, **where),
                self.policy.review_timeout_s)
            return self._apply(result, out)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure must still produce a verdict
            return self._on_error(request, exc, where)

    def _apply(self, result: AgentResult, out: Outcome) -> AgentResult:
        base = out.result or result
        update: dict[str, Any] = {"text": out.text}
        withheld: dict[str, Any] = {}
        if out.clear_data or out.action == "blocked":
            update.update(data={}, artifacts=[], citations=[])
            if base.data:
                withheld["data"] = sorted(base.data)[:50]
            withheld["reason"] = f"the response was {'blocked' if out.action == 'blocked' else 'declined'}: {out.verdict.reason}"
        else:
            data, n = _redact_data(base.data, pii=bool(out.verdict.findings) and out.policy in ("block", "revise"))
            if n:
                update["data"] = data
                withheld["data_redactions"] = n
        review = out.artifact_review
        if review is not None and review.changed:
            update["artifacts"] = review.artifacts
            withheld["artifacts"] = [note.model_dump(exclude_none=True) for note in review.notes]
        if withheld:
            update["metadata"] = {**base.metadata, "safety_withheld": withheld}
        v = out.verdict
        labels = list(v.labels) + [lbl for lbl in out.extra_labels if lbl not in v.labels]
        if out.final_verdict is not v and out.final_verdict.kind != v.kind:
            labels.append(f"after:{out.final_verdict.kind}")
        reason = v.reason
        if review is not None and review.changed:
            reason = f"{reason}; artifacts: {review.summary()}"
        verdict = SafetyVerdict(
            action=out.action, labels=labels, reason=reason, confidence=v.confidence, reviewer=self.name,
            policy=out.policy, rounds=out.rounds, feedback=out.feedback, dir_reward=out.dir_reward,
            original_text=None if out.text == result.text else self._redacted(result.text, v),
            audit_id=out.audit_id,
        )
        return base.model_copy(update={**update, "safety": verdict})

    @staticmethod
    def _redacted(text: str, v: Verdict) -> str:
        from .detectors import redact

        return redact(text, v.findings)

    def _on_error(self, request: ReviewRequest, exc: BaseException, where: dict[str, Any]) -> AgentResult:
        closed = self.policy.fail_mode == "closed"
        reason = f"safety reviewer failed ({type(exc).__name__}: {exc})"
        if isinstance(exc, asyncio.TimeoutError):
            reason = f"safety review exceeded review_timeout_s={self.policy.review_timeout_s}"
        log.error("%s; failing %s for agent %s", reason, "closed" if closed else "OPEN", request.agent)
        action = "blocked" if closed else "unreviewed"
        audit_id = self.pipeline.record_error(request.task.text, request.result.text or "", exc, action=action,
                                              **where)
        verdict = SafetyVerdict(action=action, labels=["reviewer_error"], reason=reason, confidence=0.0,
                                reviewer=self.name, policy=self.policy.default, audit_id=audit_id)
        if closed:
            return request.result.model_copy(update={"text": self.policy.block_message, "data": {}, "artifacts": [],
                                                     "citations": [], "safety": verdict})
        return request.result.model_copy(update={"safety": verdict})

    def warm_up(self) -> None:
        """Load the embedder and classifiers now (seconds) so the first review does not pay for it."""
        self.pipeline.feedback.warm_up()

    def record_correction(self, audit_id: str, *, accepted: bool, user: str | None = None, note: str = "") -> None:
        """User-correction loop: record whether a person accepted the feedback of a verdict."""
        if self.audit is None:
            raise BadInputError("this reviewer has no audit log", field="audit")
        self.audit.record_correction(audit_id, accepted=accepted, user=user, note=note)

    async def aclose(self) -> None:
        if self.audit is not None:
            self.audit.close()


class SafetyWrapper:
    """The simple API: ``review(request, response) -> Verdict`` and ``process`` (policy + revision)."""

    def __init__(self, *, policy: SafetyPolicy | str | Path | dict | None = None,
                 audit: AuditLog | str | Path | None = None, feedback: FeedbackAgent | None = None,
                 llm: BaseChatModel | None = None, cache_dir: Path | None = None) -> None:
        self.pipeline = _build(policy, audit, feedback, cache_dir)
        self.llm = llm

    @staticmethod
    def _check(request: str, response: str) -> None:
        if not isinstance(request, str) or not request.strip():
            raise BadInputError("request text is empty", field="request", hint="pass the user's request text")
        if not isinstance(response, str):
            raise BadInputError("response must be a string", field="response")

    def review(self, request: str, response: str) -> Verdict:
        """The feedback agent's verdict on one pair (offline, no revision, not audited)."""
        self._check(request, response)
        return self.pipeline.feedback.assess_local(request, response)

    async def areview(self, request: str, response: str) -> Verdict:
        self._check(request, response)
        return await self.pipeline.feedback.assess(request, response, llm=self.llm)

    async def aprocess(self, request: str, response: str, *, agent: str = "cli", namespace: str = "default",
                       rerun: RerunFn | None = None, record: bool = True,
                       artifacts: Sequence[Artifact] = ()) -> Outcome:
        """Assess, apply the policy (revise/block/coach/monitor) and audit, like the runtime does; the files
        the response carries are judged too (``out.artifact_review``)."""
        self._check(request, response)
        return await self.pipeline.process(request, response, agent=agent, namespace=namespace, rerun=rerun,
                                           llm=self.llm, record=record, artifacts=artifacts)

    def process(self, request: str, response: str, **kw: Any) -> Outcome:
        return asyncio.run(self.aprocess(request, response, **kw))


def outcome_json(out: Outcome) -> dict[str, Any]:
    """A JSON-ready view of an outcome (CLI ``--json``)."""
    v = out.verdict
    return {"action": out.action, "policy": out.policy, "kind": v.kind, "labels": v.labels, "category": v.category,
            "reason": v.reason, "confidence": round(v.confidence, 4), "score": round(v.score, 4),
            "p_unsafe_request": round(v.p_unsafe_request, 4), "p_refusal": round(v.p_refusal, 4),
            "findings": [f.model_dump() for f in v.findings], "feedback": out.feedback, "final_text": out.text,
            "final_kind": out.final_verdict.kind, "rounds": out.rounds, "dir_reward": out.dir_reward,
            "revisions": [r.model_dump() for r in out.revisions], "audit_id": out.audit_id,
            "latency_ms": out.latency_ms}


__all__ = ["SafetyWrapper", "WaltzRLReviewer", "outcome_json"]
