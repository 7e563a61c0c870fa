"""Runtime overhead: Genesis vs a bare LangGraph graph with the same nodes and checkpointer.

Both run a single no-op agent task through plan -> route -> validate -> schedule -> execute (Send) ->
review -> remember -> respond, with LangGraph's in-memory checkpointer and durability="exit" (as Genesis
uses with that checkpointer: in-memory checkpoints do not survive a crash, so one is written when the graph
stops; with SQLite Genesis writes one per step), in the same process and run.
Genesis uses a pinned agent, the pass-through reviewer and the in-process memory, so the figure is the
cost of the runtime itself (validation, limits, tracing, events, run records), not of routing models.

    python benchmarks/runtime.py [--tasks 300] [--concurrent 1000] [--out benchmarks/results/runtime.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from genesis_agents import Agent, AgentCard, AgentResult, Genesis, Skill


class NoOp(Agent):
    card = AgentCard(name="noop", description="does nothing", max_concurrency=10_000,
                     skills=[Skill(id="noop", description="nothing")])

    async def run(self, task: Any, ctx: Any) -> AgentResult:
        return AgentResult(text="ok")


def _merge(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    return {**(a or {}), **(b or {})}


class BareState(TypedDict, total=False):
    text: str
    plan: list[str]
    raw: Annotated[dict[str, Any], _merge]
    results: Annotated[dict[str, Any], _merge]
    remembered: Annotated[list[str], operator.add]
    answer: str


def bare_graph() -> Any:
    """The same topology with trivial node bodies: the floor LangGraph itself costs."""
    agent = NoOp()

    async def plan(s: BareState) -> dict[str, Any]:
        return {"plan": ["s1"]}

    async def route(s: BareState) -> dict[str, Any]:
        return {}

    async def validate(s: BareState) -> dict[str, Any]:
        return {}

    async def schedule(s: BareState) -> dict[str, Any]:
        return {}

    def dispatch(s: BareState) -> Any:
        todo = [sid for sid in s["plan"] if sid not in (s.get("results") or {})]
        return [Send("execute", {"sid": sid}) for sid in todo] or "respond"

    async def execute(p: dict[str, Any]) -> dict[str, Any]:
        res = await agent.run(None, None)
        return {"raw": {p["sid"]: res.text}}

    async def review(s: BareState) -> dict[str, Any]:
        return {"results": dict(s.get("raw") or {})}

    async def remember(s: BareState) -> dict[str, Any]:
        return {"remembered": list(s.get("results") or {})}

    async def respond(s: BareState) -> dict[str, Any]:
        return {"answer": " ".join((s.get("results") or {}).values())}

    g = StateGraph(BareState)
    for name, fn in [("plan", plan), ("route", route), ("validate", validate), ("schedule", schedule),
                     ("execute", execute), ("review", review), ("remember", remember), ("respond", respond)]:
        g.add_node(name, fn)
    g.add_edge(START, "plan")
    g.add_edge("plan", "route")
    g.add_edge("route", "validate")
    g.add_edge("validate", "schedule")
    g.add_conditional_edges("schedule", dispatch, ["execute", "respond"])
    g.add_edge("execute", "review")
    g.add_edge("review", "remember")
    g.add_edge("remember", "schedule")
    g.add_edge("respond", END)
    return g.compile(checkpointer=InMemorySaver())


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def measure(n: int, concurrent: int) -> dict[str, Any]:
    bare = bare_graph()
    host = Genesis(data_dir=Path(tempfile.mkdtemp()) / "g", checkpointer="memory", memory_backend="inprocess",
                   safety_reviewer="passthrough", load_plugins=False, agents=[NoOp()])

    async def one_bare(i: int) -> None:
        out = await bare.ainvoke({"text": "x"}, {"configurable": {"thread_id": f"b{i}"}}, durability="exit")
        assert out["answer"] == "ok"

    async def one_genesis(i: int) -> None:
        res = await host.arun("x", agent="noop")
        assert res.status == "succeeded"

    for i in range(20):  # warm-up both
        await one_bare(-i - 1)
        await one_genesis(i)
    lat: dict[str, list[float]] = {"bare": [], "genesis": []}
    for i in range(n):  # interleave so drift hits both alike
        t = time.perf_counter()
        await one_bare(i)
        lat["bare"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        await one_genesis(i)
        lat["genesis"].append((time.perf_counter() - t) * 1000)

    t = time.perf_counter()
    await asyncio.gather(*(one_bare(100_000 + i) for i in range(concurrent)))
    bare_wall = time.perf_counter() - t
    t = time.perf_counter()
    await asyncio.gather(*(one_genesis(i) for i in range(concurrent)))
    genesis_wall = time.perf_counter() - t
    await host.aclose()

    summary = {k: {"p50_ms": round(statistics.median(v), 3), "p95_ms": round(pct(v, 0.95), 3),
                   "mean_ms": round(statistics.fmean(v), 3)} for k, v in lat.items()}
    return {
        "tasks_sequential": n,
        "latency": summary,
        "overhead_ratio_p50": round(summary["genesis"]["p50_ms"] / summary["bare"]["p50_ms"], 3),
        "concurrent_tasks": concurrent,
        "throughput_tasks_per_s": {"bare": round(concurrent / bare_wall, 1),
                                   "genesis": round(concurrent / genesis_wall, 1)},
        "concurrent_wall_s": {"bare": round(bare_wall, 3), "genesis": round(genesis_wall, 3)},
        "goals": {"overhead_ratio_p50": "<= 1.5", "genesis_p50_ms": "<= 10"},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=300)
    ap.add_argument("--concurrent", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/runtime.json"))
    args = ap.parse_args()
    result = asyncio.run(measure(args.tasks, args.concurrent))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
