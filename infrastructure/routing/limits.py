"""Plan limits (subtasks, dependency depth, fan-out) and the checks the planners share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..contracts import Plan


class PlanLimits(BaseModel):
    """Bounds on a plan's shape. ``max_subtasks`` comes from ``GenesisSettings.max_subtasks``."""

    model_config = ConfigDict(extra="forbid")

    max_subtasks: int = Field(default=12, ge=1)
    max_depth: int = Field(default=6, ge=1, description="longest dependency chain, in subtasks")
    max_fanout: int = Field(default=8, ge=1, description="most subtasks depending on one subtask")


def depth_of(plan: Plan) -> int:
    """Length of the longest dependency chain (1 for a plan without dependencies). Plan must be acyclic."""
    by_id = plan.by_id()
    memo: dict[str, int] = {}
    for sid in plan.order():
        deps = by_id[sid].depends_on
        memo[sid] = 1 + max((memo[d] for d in deps), default=0)
    return max(memo.values())


def fanout_of(plan: Plan) -> int:
    counts: dict[str, int] = {}
    for s in plan.subtasks:
        for d in set(s.depends_on):
            counts[d] = counts.get(d, 0) + 1
    return max(counts.values(), default=0)


def limit_violations(plan: Plan, limits: PlanLimits) -> list[str]:
    """Human-readable violations (empty when the plan fits). Raises ``PlanError`` on a cycle."""
    out = []
    if len(plan.subtasks) > limits.max_subtasks:
        out.append(f"{len(plan.subtasks)} subtasks exceed max_subtasks={limits.max_subtasks}")
    depth = depth_of(plan)
    if depth > limits.max_depth:
        out.append(f"dependency depth {depth} exceeds max_depth={limits.max_depth}")
    fan = fanout_of(plan)
    if fan > limits.max_fanout:
        out.append(f"fan-out {fan} exceeds max_fanout={limits.max_fanout}")
    return out
