"""The runtime on the real LangGraph graph and the real SQLite checkpointer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from genesis_agents import (
    AgentResult,
    BadInputError,
    Genesis,
    LimitExceededError,
    Subtask,
    Task,
    UnknownAgentError,
)

from .helpers import (
    AskEchoAgent,
    BarrierAgent,
    BrokenAgent,
    EchoAgent,
    HangingAgent,
    LoopingDelegator,
    SerialProbeAgent,
    StaticPlanner,
    host,
)


async def test_single_pinned_task_runs_through_every_stage(tmp_path: Path) -> None:
    g = host(tmp_path, EchoAgent())
    events = [ev async for ev in g.astream("hello", agent="echo")]
    kinds = [e.type for e in events]
    assert kinds[0] == "planned" and kinds[-1] == "done"
    for needed in ("routed", "subtask_started", "progress", "reviewed", "subtask_finished"):
        assert needed in kinds
    result = events[-1].result
    assert result.status == "succeeded"
    assert result.text == "echo: hello"
    assert result.results[0].result.safety.action == "unreviewed"  # pass-through says so explicitly
    assert {s.name for s in result.trace} >= {"plan", "route", "validate", "agent:echo", "review", "remember"}
    hits = await g.memory.recall("echo hello", k=3)
    assert any(h.item.run_id == result.run_id for h in hits)  # remembered with provenance
    assert g.get_run(result.run_id).status == "succeeded"
    await g.aclose()


async def test_parallel_branches_really_run_at_the_same_time(tmp_path: Path) -> None:
    barrier = BarrierAgent(peers=2)
    planner = StaticPlanner([
        Subtask(id="a", text="left", agent="barrier"),
        Subtask(id="b", text="right", agent="barrier"),
        Subtask(id="c", text="join", agent="echo", depends_on=["a", "b"]),
    ])
    g = host(tmp_path, barrier, EchoAgent(), planner=planner)
    result = await g.arun("fan out and join")
    assert result.status == "succeeded", result.results
    assert barrier.max_active == 2
    joined = result.result_for("c").result.text
    assert joined.startswith("echo: join <- met 2 peers | met 2 peers")
    await g.aclose()


async def test_failing_branch_does_not_kill_the_others(tmp_path: Path) -> None:
    planner = StaticPlanner([
        Subtask(id="ok", text="fine", agent="echo"),
        Subtask(id="bad", text="explode", agent="broken"),
        Subtask(id="after", text="needs bad", agent="echo", depends_on=["bad"]),
    ])
    g = host(tmp_path, EchoAgent(), BrokenAgent(), planner=planner)
    result = await g.arun("mixed")
    assert result.status == "partial"
    assert result.result_for("ok").status == "succeeded"
    bad = result.result_for("bad")
    assert bad.status == "failed" and "ledger does not balance" in bad.error["message"]
    after = result.result_for("after")
    assert after.status == "skipped" and "bad failed" in after.error["message"]
    await g.aclose()


async def test_timeout_fails_only_the_hanging_subtask(tmp_path: Path) -> None:
    planner = StaticPlanner([Subtask(id="slow", text="hang", agent="hang"),
                             Subtask(id="fast", text="quick", agent="echo")])
    g = host(tmp_path, HangingAgent(), EchoAgent(), planner=planner)
    result = await g.arun("race", timeout_s=0.3)
    assert result.status == "partial"
    slow = result.result_for("slow")
    assert slow.status == "timeout" and "0.3" in slow.error["message"]
    assert result.result_for("fast").status == "succeeded"
    await g.aclose()


async def test_cancel_stops_a_running_agent(tmp_path: Path) -> None:
    hang = HangingAgent()
    g = host(tmp_path, hang)
    run_id = "run_cancel_me"
    task = asyncio.ensure_future(g.arun("wait forever", agent="hang", run_id=run_id))
    await asyncio.wait_for(hang.started.wait(), 10)
    assert g.cancel(run_id) is True
    result = await asyncio.wait_for(task, 10)
    assert result.status == "cancelled"
    assert result.results[0].status == "cancelled"
    assert g.cancel("no-such-run") is False
    await g.aclose()


async def test_delegation_depth_limit_stops_handoff_loops(tmp_path: Path) -> None:
    g = host(tmp_path, LoopingDelegator(), max_delegation_depth=2)
    result = await g.arun("loop", agent="looper")
    assert result.status == "failed"
    err = result.results[0].error
    assert err["code"] == "limit_exceeded" and "depth 3" in err["message"]
    await g.aclose()


async def test_total_step_limit_counts_delegations(tmp_path: Path) -> None:
    g = host(tmp_path, LoopingDelegator(), max_delegation_depth=50, max_total_steps=4)
    result = await g.arun("loop", agent="looper")
    assert result.status == "failed"
    assert "4 agent invocations" in result.results[0].error["message"]
    await g.aclose()


async def test_delegation_is_routed_and_safety_reviewed(tmp_path: Path) -> None:
    g = host(tmp_path, AskEchoAgent(), EchoAgent())
    result = await g.arun("ask someone", agent="asker")
    assert result.status == "succeeded"
    data = result.results[0].result.data
    assert data["routed_to"] == "echo"
    assert data["inner_safety"] == "unreviewed"  # the delegated response went through the reviewer too
    assert any(s.name == "agent:echo" for s in result.trace)
    await g.aclose()


async def test_per_agent_concurrency_limit(tmp_path: Path) -> None:
    probe = SerialProbeAgent()
    planner = StaticPlanner([Subtask(id=f"s{i}", text=f"job {i}", agent="serial") for i in range(4)])
    g = host(tmp_path, probe, planner=planner)
    result = await g.arun("four jobs")
    assert result.status == "succeeded"
    assert probe.max_active == 1
    await g.aclose()


async def test_bad_input_is_typed_and_names_the_field(tmp_path: Path) -> None:
    g = host(tmp_path, EchoAgent(), max_task_chars=50)
    with pytest.raises(BadInputError) as empty:
        await g.arun("   ")
    assert empty.value.field == "text"
    with pytest.raises(LimitExceededError) as long:
        await g.arun("x" * 51)
    assert long.value.field == "text" and "50" in str(long.value)
    with pytest.raises(UnknownAgentError) as unknown:
        await g.arun("hi", agent="ecko")
    assert "did you mean echo" in str(unknown.value)
    with pytest.raises(BadInputError) as missing:
        await g.arun("hi", agent="echo", inputs=[tmp_path / "nope.csv"])
    assert missing.value.field == "inputs[0].path"
    await g.aclose()


async def test_cyclic_plan_fails_the_run_with_a_clear_error(tmp_path: Path) -> None:
    planner = StaticPlanner([Subtask(id="a", text="a", agent="echo", depends_on=["b"]),
                             Subtask(id="b", text="b", agent="echo", depends_on=["a"])])
    g = host(tmp_path, EchoAgent(), planner=planner)
    result = await g.arun("circular")
    assert result.status == "failed"
    assert result.error["code"] == "invalid_plan" and "cycle" in result.error["message"]
    assert g.get_run(result.run_id).status == "failed"  # the record is consistent
    await g.aclose()


async def test_agent_returning_garbage_is_a_failed_subtask(tmp_path: Path) -> None:
    class Garbage(EchoAgent):
        async def run(self, task, ctx):  # type: ignore[no-untyped-def]
            return {"text": "not a result"}

    g = host(tmp_path, Garbage())
    result = await g.arun("x", agent="echo")
    assert result.status == "failed"
    assert "expected AgentResult" in result.results[0].error["message"]
    await g.aclose()


def test_sync_helpers_work_from_plain_code(tmp_path: Path) -> None:
    g = host(tmp_path, EchoAgent())
    first = g.run("one", agent="echo")
    second = g.run("two", agent="echo")
    assert (first.text, second.text) == ("echo: one", "echo: two")
    assert [r.run_id for r in g.runs.list()] == [second.run_id, first.run_id]
    g.close()


async def test_unassigned_subtask_is_reported_not_guessed(tmp_path: Path) -> None:
    planner = StaticPlanner([Subtask(id="x", text="file my taxes", task_type="taxes")])
    g = host(tmp_path, EchoAgent(), planner=planner)
    result = await g.arun("file my taxes")
    assert result.status == "failed"
    assert result.results[0].status == "unassigned"
    assert result.decisions[0].agent is None
    await g.aclose()


async def test_usage_from_ctx_llm_is_accounted(tmp_path: Path) -> None:
    from genesis_agents import Agent, ScriptedChatModel

    from .helpers import card as make_card

    class Narrator(Agent):
        card = make_card("narrator")

        async def run(self, task, ctx):  # type: ignore[no-untyped-def]
            reply = await ctx.llm.ainvoke(f"Summarise: {task.text}")
            return AgentResult(text=str(reply.content))

    llm = ScriptedChatModel(replies=["Sales rose 12% in March."])
    g = host(tmp_path, Narrator(), llm=llm)
    result = await g.arun("sales in march", agent="narrator")
    assert result.text == "Sales rose 12% in March."
    assert result.usage.llm_calls == 1 and result.usage.completion_tokens > 0
    assert llm.calls and "sales in march" in llm.calls[0]
    await g.aclose()


async def test_resume_of_a_finished_run_returns_its_result(tmp_path: Path) -> None:
    g = host(tmp_path, EchoAgent())
    result = await g.arun("done already", agent="echo")
    again = await g.aresume(result.run_id)
    assert again.run_id == result.run_id and again.text == result.text
    from genesis_agents import NotFoundError

    with pytest.raises(NotFoundError):
        await g.aresume("run_never_existed")
    await g.aclose()


def test_genesis_rejects_non_agents(tmp_path: Path) -> None:
    from genesis_agents import InvalidCardError

    g = host(tmp_path)
    with pytest.raises(InvalidCardError):
        g.register(object())  # type: ignore[arg-type]
    g.register(EchoAgent())
    with pytest.raises(InvalidCardError) as dup:
        g.register(EchoAgent())
    assert "already registered" in str(dup.value)
    g.register(EchoAgent(), replace=True)
    g.close()


def test_task_contract_validation() -> None:
    from pydantic import ValidationError

    from genesis_agents import TaskInput

    with pytest.raises(ValidationError):
        TaskInput(name="x")  # neither path, uri nor data
    with pytest.raises(ValidationError):
        Task(text="ok", namespace="bad namespace!")
    assert TaskInput(path=Path("/tmp/sales.csv")).media_type == "text/csv"
    assert Genesis  # the facade is importable from the top-level package


async def test_unpinned_delegation_never_routes_back_to_the_caller(tmp_path: Path) -> None:
    from genesis_agents import Agent

    from .helpers import card as make_card

    class Forwarder(Agent):
        # declares the same task type as EchoAgent and sorts first, so a naive router would pick it again
        card = make_card("aecho", task_types=["echo"])

        async def run(self, task, ctx):  # type: ignore[no-untyped-def]
            inner = await ctx.delegate(Task(text="echo for me", task_type="echo"))
            return AgentResult(text=f"forwarded to {inner.agent}: {inner.text}")

    g = host(tmp_path, Forwarder(), EchoAgent())
    result = await g.arun("go", agent="aecho")
    assert result.status == "succeeded", result.results[0].error
    assert result.text == "forwarded to echo: echo: echo for me"
    await g.aclose()


async def test_in_memory_runs_are_bounded_with_their_checkpoints(tmp_path) -> None:
    """checkpointer=memory keeps at most max_runs_in_memory finished run records and no finished checkpoints."""
    from genesis_agents import Genesis
    from genesis_agents.infrastructure.errors import NotFoundError

    from .helpers import EchoAgent

    g = Genesis(data_dir=tmp_path, checkpointer="memory", memory_backend="inprocess", safety_reviewer="passthrough",
                max_runs_in_memory=3, load_plugins=False, agents=[EchoAgent()])
    ids = [(await g.arun(f"hello {i}", agent="echo")).run_id for i in range(5)]
    assert [r.run_id for r in g.runs.list(limit=10)] == ids[:1:-1]
    with pytest.raises(NotFoundError):
        g.runs.get(ids[0])
    saver = g._graphs.current()[1]
    assert set(saver.storage) == set(ids[3:])  # finished runs' checkpoints are dropped in batches (here of 3)
    assert not any(k[0] in ids[:3] for k in [*saver.writes, *saver.blobs])
    assert (await g.aresume(ids[2])).text == "echo: hello 2"  # the record still answers a resume
    await g.aclose()
