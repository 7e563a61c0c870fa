"""The simplest correct stage implementations, used where nothing better is configured.

``SinglePlanner`` turns a task into one subtask; ``PassthroughReviewer`` attaches an explicit
``unreviewed`` verdict (it never claims a response was checked). The HALO planner/router and the WaltzRL
reviewer replace them by default; these remain for pinned-agent tasks, benchmarks and minimal embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .contracts import (
    AgentCard,
    AgentResult,
    Plan,
    RerunFn,
    ReviewRequest,
    RoutingDecision,
    SafetyVerdict,
    Subtask,
    Task,
    ValidationIssue,
    ValidationReport,
)


class SinglePlanner:
    """One subtask carrying the whole task (its text, type, pinned agent and inputs)."""

    name = "single"

    async def plan(self, task: Task, cards: Sequence[AgentCard], *, llm: Any = None) -> Plan:
        return Plan(
            task_id=task.id,
            subtasks=[Subtask(id="s1", text=task.text, task_type=task.task_type, agent=task.agent,
                              inputs=list(task.inputs), params=dict(task.params))],
            planner=self.name,
            explanation="single-subtask plan",
        )


class ExplicitRouter:
    """Routes only pinned subtasks and exact ``task_type`` matches; everything else is unassigned.

    It never guesses: a request without a pinned agent or a matching task type is reported unassigned.
    """

    name = "explicit"

    async def route(self, subtask: Subtask, task: Task, cards: Sequence[AgentCard], *, llm: Any = None
                    ) -> RoutingDecision:
        names = {c.name for c in cards}
        if subtask.agent:
            if subtask.agent not in names:
                from .errors import UnknownAgentError

                raise UnknownAgentError(subtask.agent, sorted(names))
            return RoutingDecision(subtask_id=subtask.id, agent=subtask.agent, score=1.0, decided_by="explicit",
                                   signal="pinned", explanation=f"pinned to {subtask.agent} by the caller")
        matches = [c.name for c in cards if subtask.task_type and subtask.task_type in c.task_types]
        if matches:
            return RoutingDecision(subtask_id=subtask.id, agent=matches[0], score=1.0, decided_by="task_type",
                                   signal=f"task_type={subtask.task_type}",
                                   explanation=f"{matches[0]} declares task type {subtask.task_type!r}")
        return RoutingDecision(subtask_id=subtask.id, agent=None, score=0.0, decided_by="unassigned",
                               explanation="no pinned agent and no agent declares this task type")

    def record_outcome(self, agent: str, *, success: bool, latency_ms: float) -> None:
        return None


class BasicValidator:
    """Checks that every routed agent exists and that the plan is acyclic (``Plan.order`` raises otherwise)."""

    name = "basic"

    def validate(self, plan: Plan, decisions: Sequence[RoutingDecision], cards: Sequence[AgentCard], task: Task
                 ) -> ValidationReport:
        plan.order()
        names = {c.name for c in cards}
        issues = [
            ValidationIssue(severity="error", code="unknown_agent", subtask_id=d.subtask_id,
                            message=f"routed to unknown agent {d.agent!r}")
            for d in decisions if d.agent is not None and d.agent not in names
        ]
        issues += [
            ValidationIssue(severity="warning", code="unassigned", subtask_id=d.subtask_id, message=d.explanation)
            for d in decisions if d.agent is None
        ]
        return ValidationReport(ok=not any(i.severity == "error" for i in issues), issues=issues,
                                validator=self.name)


class PassthroughReviewer:
    """Performs no review and says so: the verdict is ``unreviewed`` from reviewer ``passthrough``."""

    name = "passthrough"

    async def review(self, request: ReviewRequest, *, rerun: RerunFn | None = None, llm: Any = None
                     ) -> AgentResult:
        verdict = SafetyVerdict(action="unreviewed", reviewer=self.name, policy="monitor", confidence=0.0,
                                reason="pass-through reviewer: this response was NOT safety-reviewed")
        return request.result.model_copy(update={"safety": verdict})
