"""One review, end to end: assess, apply the policy, revise (at most N rounds), record in the audit log.

Shared by ``WaltzRLReviewer`` (the runtime's ``SafetyReviewer``) and ``SafetyWrapper`` (the simple API/CLI),
so both behave identically.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..infrastructure.contracts import AgentResult, Artifact, RerunFn
from .artifacts import ArtifactReview, scan_artifacts, withhold_all
from .audit import AuditLog, AuditRecord, RevisionRecord
from .conversation import ConversationAgent, decline_text
from .detectors import redact
from .feedback import FeedbackAgent
from .labels import Verdict
from .policies import PolicyAction, SafetyPolicy
from .reward import dynamic_improvement_reward, is_improvement

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The result of one review: final text, what was done, and everything the audit needs."""

    action: str  # SafetyAction
    policy: PolicyAction
    verdict: Verdict  # the feedback agent's verdict on the ORIGINAL response
    final_verdict: Verdict  # ... on the final response
    text: str
    rounds: int = 0
    dir_reward: float | None = None
    feedback: str | None = None
    result: AgentResult | None = None  # a re-run's whole result when a re-run was accepted
    revisions: list[RevisionRecord] = field(default_factory=list)
    audit_id: str | None = None
    latency_ms: float = 0.0
    artifact_review: ArtifactReview | None = None  # None: the artifacts were not touched
    clear_data: bool = False  # the response was blocked or declined: its structured data is withheld too
    extra_labels: list[str] = field(default_factory=list)  # e.g. a leak found only in an artifact

    @property
    def labels(self) -> list[str]:
        return self.verdict.labels


class SafetyPipeline:
    def __init__(self, feedback: FeedbackAgent, *, policy: SafetyPolicy | None = None,
                 conversation: ConversationAgent | None = None, audit: AuditLog | None = None) -> None:
        self.feedback = feedback
        self.policy = policy or SafetyPolicy()
        self.conversation = conversation or ConversationAgent()
        self.audit = audit

    async def process(self, request: str, response: str, *, agent: str = "unknown", namespace: str = "default",
                      remote: bool = False, rerun: RerunFn | None = None, llm: BaseChatModel | None = None,
                      run_id: str | None = None, subtask_id: str | None = None,
                      record: bool = True, artifacts: Sequence[Artifact] = ()) -> Outcome:
        started = time.perf_counter()
        policy = self.policy.action_for(agent, namespace, remote=remote)
        judge_llm = llm if self.policy.llm_judge != "off" else None
        verdict = await self.feedback.assess(request, response, llm=judge_llm)
        if artifacts and verdict.kind == "unsafe_request" and not verdict.refused:
            verdict = _escalate(verdict, artifacts)
        out = Outcome(action="passed", policy=policy, verdict=verdict, final_verdict=verdict, text=response)
        if verdict.flagged:
            out.feedback = verdict.feedback
            if policy == "monitor":
                out.action = "monitored"
            elif policy == "coach":
                out.action = "coached"
            elif policy == "block":
                if verdict.kind == "unsafe_response":
                    out.action, out.text = "blocked", self._blocked_text(verdict)
                # an over-refusal is not harmful: `block` keeps it and attaches the feedback
            else:
                await self._revise(out, request, response, rerun=rerun, llm=llm)
        if policy in ("block", "revise"):
            await self._review_artifacts(out, request, artifacts)
        out.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        if record and self.audit is not None:
            out.audit_id = self.audit.append(self._record(out, request, response, agent=agent, namespace=namespace,
                                                          remote=remote, run_id=run_id, subtask_id=subtask_id))
        return out

    async def _review_artifacts(self, out: Outcome, request: str, artifacts: Sequence[Artifact]) -> None:
        """Decide what happens to the response's files (see ``artifacts.py``); runs after revision so that a
        re-run's own artifacts are the ones judged."""
        arts = list(out.result.artifacts) if out.result is not None else list(artifacts)
        declined = out.action == "blocked" or any(r.accepted and r.method == "decline" for r in out.revisions)
        v = out.verdict
        if declined:
            out.clear_data = True
            if arts:
                out.artifact_review = withhold_all(arts, f"the response was {'blocked' if out.action == 'blocked' else 'declined'}"
                                                   f" ({v.kind}: {v.category or 'unsafe'})")
        elif not arts:
            return
        elif any(lbl.startswith("unsafe_request:") for lbl in v.labels):
            out.artifact_review = withhold_all(arts, f"the request was judged harmful ({v.category}, "
                                                     f"p={v.p_unsafe_request:.2f}); its artifacts are not delivered")
        elif v.kind == "unsafe_response" and not v.findings:
            out.artifact_review = withhold_all(arts, f"the response was judged unsafe ({v.category})")
        else:
            review = await asyncio.to_thread(
                scan_artifacts, arts, request=request, mode=self.policy.artifact_leaks,
                max_bytes=self.policy.artifact_scan_max_bytes, flagged=v.kind == "unsafe_response")
            if review.changed:
                out.artifact_review = review
            if review.leaked and not any(lbl.startswith("unsafe_response:") for lbl in v.labels):
                out.extra_labels.append("unsafe_response:privacy")
        if out.artifact_review is not None and out.artifact_review.changed and out.action == "passed":
            out.action = "revised"

    def _blocked_text(self, verdict: Verdict) -> str:
        if verdict.kind == "unsafe_response" and not verdict.findings:
            return decline_text(verdict.category)
        return self.policy.block_message

    async def _revise(self, out: Outcome, request: str, response: str, *, rerun: RerunFn | None,
                      llm: BaseChatModel | None) -> None:
        """Try proposals until one is rated better; keep improving for at most ``max_rounds`` accepted steps."""
        best_text, best_verdict = response, out.verdict
        rounds = 0
        while rounds < self.policy.max_rounds and best_verdict.flagged:
            accepted = False
            proposals = self.conversation.proposals(request, best_text, best_verdict, rerun=rerun, llm=llm)
            async with aclosing(proposals):
                async for proposal in proposals:
                    rounds += 1
                    judge_llm = llm if self.policy.llm_judge != "off" else None
                    after = await self.feedback.assess(request, proposal.text, llm=judge_llm)
                    gain = dynamic_improvement_reward(best_verdict, after)
                    ok = is_improvement(best_verdict, after)
                    out.revisions.append(RevisionRecord(
                        round=rounds, method=proposal.method, kind_before=best_verdict.kind, kind_after=after.kind,
                        score_before=best_verdict.score, score_after=after.score, dir=gain, accepted=ok,
                        text=redact(proposal.text, after.findings)[: self.policy.audit_text_chars]))
                    if ok:
                        best_text, best_verdict, accepted = proposal.text, after, True
                        if proposal.result is not None:
                            out.result = proposal.result
                        break
                    if rounds >= self.policy.max_rounds:
                        break
            if not accepted:
                break
        out.rounds = rounds
        out.text, out.final_verdict = best_text, best_verdict
        out.dir_reward = dynamic_improvement_reward(out.verdict, best_verdict) if out.revisions else None
        if best_text != response:
            out.action = "revised"
        if best_verdict.kind == "unsafe_response":
            # Nothing acceptable came out of revision: an unsafe response is never let through under `revise`.
            out.action = "blocked"
            out.text = self._blocked_text(best_verdict)
            out.result = None
        elif out.action != "revised":
            out.action = "passed"  # an over-refusal that could not be fixed: kept, with the feedback attached

    def _record(self, out: Outcome, request: str, response: str, **where: object) -> AuditRecord:
        n = self.policy.audit_text_chars
        v, f = out.verdict, out.final_verdict
        reason = v.reason
        if out.artifact_review is not None and out.artifact_review.changed:
            reason = f"{reason}; artifacts: {out.artifact_review.summary()}"
        return AuditRecord(
            policy=out.policy, action=out.action, kind=v.kind, labels=v.labels + out.extra_labels,
            category=v.category, reason=reason,
            confidence=v.confidence, score_before=v.score, score_after=f.score, p_unsafe_request=v.p_unsafe_request,
            p_refusal=v.p_refusal, rounds=out.rounds, dir_reward=out.dir_reward, judge=v.judge,
            latency_ms=out.latency_ms, request_text=request[:n], original_text=redact(response, v.findings)[:n],
            final_text=redact(out.text, f.findings)[:n], feedback=out.feedback, revisions=out.revisions,
            **where,  # type: ignore[arg-type]
        )

    def record_error(self, request: str, response: str, error: BaseException, *, action: str, **where: object) -> str | None:
        """Audit a review that failed; a failing audit log is logged, never raised from the error path."""
        if self.audit is None:
            return None
        n = self.policy.audit_text_chars
        try:
            return self.audit.append(AuditRecord(
                action=action, kind="error", labels=["reviewer_error"], reason=f"safety reviewer failed: {error}",
                error=f"{type(error).__name__}: {error}", request_text=request[:n], original_text="",
                final_text="", policy=self.policy.default, **where))  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - the database itself is gone
            log.error("could not audit a reviewer failure: %s", exc)
            return None


def _escalate(verdict: Verdict, artifacts: Sequence[Artifact]) -> Verdict:
    """A harmful request answered with files: the files carry what was asked for (a rendered video of a
    bomb-making brief) even when the answer text reads harmless, and they cannot be judged as text. So the
    response counts as unsafe, and the normal policy (decline / block) applies to it."""
    cat = verdict.category or "violence_weapons"
    names = ", ".join(a.name for a in artifacts[:3]) + (" ..." if len(artifacts) > 3 else "")
    return verdict.model_copy(update={
        "kind": "unsafe_response", "labels": [*verdict.labels, f"unsafe_response:{cat}"],
        "score": min(verdict.score, 1.0 - verdict.p_unsafe_request),
        "confidence": max(verdict.confidence, verdict.p_unsafe_request),
        "reason": (f"the request asks for help with {cat.replace('_', ' ')} (p={verdict.p_unsafe_request:.2f}) and "
                   f"the response delivers {len(artifacts)} artifact(s) ({names}) made for it; {verdict.reason}")})
