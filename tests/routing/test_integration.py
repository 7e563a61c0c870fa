"""The routing stages inside a real ``Genesis`` host: planned, routed, validated and executed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genesis_agents.infrastructure.routing import AOPValidator, HaloRouter, HTDAGPlanner, load_cards

from genesis_agents import Agent, AgentResult, Genesis, Task

CARDS = {c.name: c for c in load_cards(Path(__file__).resolve().parents[2] / "benchmarks/routing/cards.yaml")}


class Travel(Agent):
    card = CARDS["travel"]

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        return AgentResult(text=f"booked: {task.text}")


class Legal(Agent):
    card = CARDS["legal"]

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        upstream = "; ".join(r.text for r in ctx.upstream.values())
        return AgentResult(text=f"drafted: {task.text}" + (f" (using {upstream})" if upstream else ""))


async def test_genesis_uses_halo_stages(tmp_path: Path) -> None:
    host = Genesis(agents=[Travel(), Legal()], load_plugins=False, data_dir=tmp_path, checkpointer="memory",
                   memory_backend="inprocess", safety_reviewer="passthrough")
    try:
        assert isinstance(host.planner, HTDAGPlanner) and isinstance(host.router, HaloRouter)
        assert isinstance(host.validator, AOPValidator)
        result = await host.arun("Book a hotel in Rome for the fair and draft an NDA for the new supplier")
        assert result.plan is not None and result.plan.planner == "htdag" and len(result.plan.subtasks) == 2
        assert [(d.agent, d.decided_by) for d in result.decisions] == [("travel", "capability"),
                                                                       ("legal", "capability")]
        assert result.validation is not None and result.validation.ok
        assert result.status == "succeeded", result.error
        out = await host.arun("What's a good recipe for lasagna?")
        assert out.decisions[0].agent is None and out.decisions[0].decided_by == "unassigned"
        assert out.status != "succeeded"
    finally:
        await host.aclose()
