"""Small real agents and a fixed-DAG planner used to drive the runtime in tests.

They implement the public plugin interfaces (``Agent``, ``Planner``) the same way a user's plugins do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genesis_agents import Agent, AgentCard, AgentResult, Genesis, Plan, Skill, Subtask, Task


def card(name: str, *, concurrency: int = 4, task_types: Sequence[str] = ()) -> AgentCard:
    return AgentCard(name=name, description=f"test agent {name}", max_concurrency=concurrency,
                     skills=[Skill(id=f"{name}-skill", description=f"does {name} things",
                                   task_types=list(task_types) or [name])])


class EchoAgent(Agent):
    card = card("echo")

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        ctx.emit("echoing", progress=1.0)
        upstream = " | ".join(r.text for r in ctx.upstream.values())
        return AgentResult(text=f"echo: {task.text}" + (f" <- {upstream}" if upstream else ""),
                           data={"chars": len(task.text)})


class BarrierAgent(Agent):
    """Succeeds only if ``peers`` invocations are running at the same moment (proves parallelism)."""

    card = card("barrier")

    def __init__(self, peers: int = 2) -> None:
        super().__init__()
        self.peers = peers
        self.arrived = 0
        self.all_here = asyncio.Event()
        self.max_active = 0
        self.active = 0

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.arrived += 1
        if self.arrived >= self.peers:
            self.all_here.set()
        try:
            await asyncio.wait_for(self.all_here.wait(), timeout=10)
        finally:
            self.active -= 1
        return AgentResult(text=f"met {self.peers} peers")


class SerialProbeAgent(Agent):
    """Records the highest number of simultaneous invocations (for concurrency limits)."""

    card = card("serial", concurrency=1)

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.max_active = 0

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        for _ in range(20):  # yield to the loop so a concurrent invocation could interleave
            await asyncio.sleep(0)
        self.active -= 1
        return AgentResult(text="done")


class BrokenAgent(Agent):
    card = card("broken")

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        raise ValueError("the ledger does not balance")


class HangingAgent(Agent):
    card = card("hang")

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        self.started.set()
        await asyncio.Event().wait()  # never set: only a timeout or a cancel ends this
        raise AssertionError("unreachable")


class LoopingDelegator(Agent):
    """Delegates to itself forever: only the depth/step limits stop it."""

    card = card("looper")

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        inner = await ctx.delegate(Task(text=f"again {task.depth + 1}", agent="looper"))
        return AgentResult(text=f"depth {task.depth}: {inner.text}", status=inner.status, error=inner.error)


class AskEchoAgent(Agent):
    """Delegates one routed (not pinned) subtask to whoever handles task type 'echo'."""

    card = card("asker")

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        inner = await ctx.delegate(Task(text="please echo this", task_type="echo"))
        return AgentResult(text=f"asked and got: {inner.text}",
                           data={"inner_safety": inner.safety.action if inner.safety else None,
                                 "routed_to": inner.agent})


class StaticPlanner:
    """A planner that returns the DAG it was given (the planner interface, with a fixed answer)."""

    name = "static"

    def __init__(self, subtasks: list[Subtask]) -> None:
        self.subtasks = subtasks

    async def plan(self, task: Task, cards: Any, *, llm: Any = None) -> Plan:
        return Plan(task_id=task.id, subtasks=[s.model_copy() for s in self.subtasks], planner=self.name)


def host(tmp: Path, *agents: Agent, planner: Any = None, **settings: Any) -> Genesis:
    """A host on the light defaults: in-process memory, explicit routing, no plugins."""
    from genesis_agents.infrastructure.stages import BasicValidator, ExplicitRouter

    settings.setdefault("memory_backend", "inprocess")
    settings.setdefault("safety_reviewer", "passthrough")
    return Genesis(data_dir=tmp / "data", load_plugins=False, agents=agents, router=ExplicitRouter(),
                   validator=BasicValidator(), planner=planner, **settings)
