"""AOP plan validation: is the routed plan solvable, complete, non-redundant, acyclic and affordable?

Runs after routing, on the plan plus its decisions, and returns a ``ValidationReport`` whose issues name
the subtask and what to fix. Errors make ``ok`` false (the runtime should not execute the plan as is);
warnings are advice. ``merge_duplicates`` is the matching repair for redundancy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..contracts import AgentCard, Plan, RoutingDecision, Subtask, Task, ValidationIssue, ValidationReport
from ..errors import PlanError
from .cost import TIER_PRICE_USD
from .limits import PlanLimits, limit_violations
from .text import content_terms


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class AOPValidator:
    """Checks a routed plan.

    Args:
        limits: plan shape limits (subtasks, depth, fan-out).
        duplicate_similarity: content-word Jaccard at or above which two subtasks routed to the same agent
            count as near-duplicates.
        tier_price_usd: estimated USD per subtask by the agent's cost tier (budget estimate).
        coverage_warning: warn when less than this share of the request's content words appear in the plan.
    """

    name = "aop"

    def __init__(self, *, limits: PlanLimits | None = None, duplicate_similarity: float = 0.8,
                 tier_price_usd: dict[str, float] | None = None, coverage_warning: float = 0.5) -> None:
        self.limits = limits or PlanLimits()
        self.duplicate_similarity = duplicate_similarity
        self.tier_price_usd = {**TIER_PRICE_USD, **(tier_price_usd or {})}
        self.coverage_warning = coverage_warning

    def validate(self, plan: Plan, decisions: Sequence[RoutingDecision], cards: Sequence[AgentCard],
                 task: Task) -> ValidationReport:
        issues: list[ValidationIssue] = []

        def add(severity: str, code: str, message: str, sid: str | None = None) -> None:
            issues.append(ValidationIssue(severity=severity, code=code, message=message, subtask_id=sid))

        # acyclic + limits
        try:
            plan.order()
            for problem in limit_violations(plan, self.limits):
                add("error", "limits", problem)
        except PlanError as exc:
            add("error", "cycle" if "cycle" in exc.message else "dangling_dependency", exc.message)

        by_card = {c.name: c for c in cards}
        by_sub = {d.subtask_id: d for d in decisions}
        cost = 0.0
        for s in plan.subtasks:
            d = by_sub.get(s.id)
            if d is None:
                add("error", "unrouted", f"subtask {s.id!r} has no routing decision", s.id)
                continue
            if d.agent is None:
                add("error", "unassigned", f"no agent can do {s.text[:80]!r}: {d.explanation}", s.id)
                continue
            card = by_card.get(d.agent)
            if card is None:
                add("error", "unknown_agent", f"subtask {s.id!r} is routed to unregistered agent {d.agent!r}", s.id)
                continue
            cost += self.tier_price_usd.get(card.cost_tier, 0.0)
            self._check_solvable(s, card, add)

        # completeness: every input used, the request's content covered
        used = {id(i) for s in plan.subtasks for i in s.inputs}
        used_names = {i.name for s in plan.subtasks for i in s.inputs}
        for inp in task.inputs:
            if id(inp) not in used and inp.name not in used_names:
                add("warning", "unused_input", f"input {inp.name!r} is not given to any subtask")
        want = set(content_terms(task.text))
        have = set(content_terms(" ".join(s.text for s in plan.subtasks)))
        if want:
            coverage = len(want & have) / len(want)
            if coverage < self.coverage_warning:
                missing = ", ".join(sorted(want - have)[:8])
                add("warning", "incomplete", f"the plan covers {coverage:.0%} of the request's content words "
                    f"(missing: {missing})")

        # non-redundant
        for a, b in self._duplicates(plan, by_sub):
            add("warning", "redundant", f"subtasks {a!r} and {b!r} are near-duplicates for the same agent "
                "(merge them with AOPValidator.merge_duplicates)", b)

        # budget
        budget = task.budget
        if budget is not None:
            if budget.max_cost_usd is not None and cost > budget.max_cost_usd:
                add("error", "over_budget", f"estimated cost ${cost:.3f} exceeds the budget "
                    f"${budget.max_cost_usd:.3f}")
            if budget.max_steps is not None and len(plan.subtasks) > budget.max_steps:
                add("error", "over_budget", f"{len(plan.subtasks)} subtasks exceed max_steps={budget.max_steps}")

        ok = not any(i.severity == "error" for i in issues)
        return ValidationReport(ok=ok, issues=issues, estimated_cost_usd=round(cost, 6), validator=self.name)

    @staticmethod
    def _check_solvable(s: Subtask, card: AgentCard, add) -> None:  # type: ignore[no-untyped-def]
        if s.task_type and card.task_types and s.task_type not in card.task_types:
            add("warning", "skill_mismatch", f"{card.name!r} declares no skill for task type {s.task_type!r} "
                f"(it serves {', '.join(sorted(card.task_types))})", s.id)
        for inp in s.inputs:
            kind = inp.suffix or (inp.media_type or "")
            if kind and not (card.accepts(kind) or (inp.media_type and card.accepts(inp.media_type))):
                accepted = sorted({t for sk in card.skills for t in sk.input_types})
                add("error", "input_type", f"{card.name!r} does not accept input {inp.name!r} ({kind}); "
                    f"it accepts {', '.join(accepted)}", s.id)

    def _duplicates(self, plan: Plan, by_sub: dict[str, RoutingDecision]) -> list[tuple[str, str]]:
        out = []
        subs = plan.subtasks
        terms = {s.id: set(content_terms(s.text)) for s in subs}
        for i, a in enumerate(subs):
            for b in subs[i + 1:]:
                same_agent = (by_sub.get(a.id) and by_sub.get(b.id)
                              and by_sub[a.id].agent == by_sub[b.id].agent)
                if same_agent and _jaccard(terms[a.id], terms[b.id]) >= self.duplicate_similarity:
                    out.append((a.id, b.id))
        return out

    def merge_duplicates(self, plan: Plan, decisions: Sequence[RoutingDecision]) -> Plan:
        """Drop near-duplicate subtasks (keeping the first) and point their dependents at the survivor."""
        by_sub = {d.subtask_id: d for d in decisions}
        alias: dict[str, str] = {}
        for a, b in self._duplicates(plan, by_sub):
            if a not in alias and b not in alias:
                alias[b] = a
        if not alias:
            return plan
        keep = []
        for s in plan.subtasks:
            if s.id in alias:
                continue
            deps = list(dict.fromkeys(alias.get(d, d) for d in s.depends_on if alias.get(d, d) != s.id))
            inputs = list(s.inputs)
            for dup, target in alias.items():
                if target == s.id:
                    inputs += [i for i in plan.by_id()[dup].inputs if i not in inputs]
            keep.append(s.model_copy(update={"depends_on": deps, "inputs": inputs}))
        merged = ", ".join(f"{b}→{a}" for b, a in alias.items())
        return Plan(task_id=plan.task_id, subtasks=keep, planner=plan.planner,
                    explanation=f"{plan.explanation}; merged near-duplicates {merged}".strip("; "))
