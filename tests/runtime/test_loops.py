"""A host used from several event loops in turn (``asyncio.run`` per call, a test per loop)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import aiosqlite
import pytest
from genesis_agents.infrastructure.loops import LoopLocal

from genesis_agents import Subtask

from .helpers import EchoAgent, SerialProbeAgent, StaticPlanner, host


def test_loop_local_hands_a_value_only_to_its_own_loop_and_drops_closed_loops() -> None:
    discarded: list[object] = []
    local: LoopLocal[object] = LoopLocal(discard=discarded.append)

    async def twice() -> tuple[object, object]:
        return local.get(object), local.get(object)

    a, b = asyncio.run(twice())
    assert a is b and len(local) == 1
    c, _ = asyncio.run(twice())  # a later loop, even at the address of the first, gets its own value
    assert c is not a
    assert discarded == [a] and len(local) == 1  # the closed loop's value was released, not kept


def test_a_host_serves_contending_runs_from_successive_event_loops(tmp_path: Path) -> None:
    # The agent admits one invocation at a time, so four parallel subtasks wait on its semaphore, which
    # binds to the loop; each loop must get its own, and closed loops must not pile up in the host.
    probe = SerialProbeAgent()
    planner = StaticPlanner([Subtask(id=f"s{i}", text=f"job {i}", agent="serial") for i in range(4)])
    for checkpointer in ("memory", "sqlite"):
        threads = threading.active_count()
        g = host(tmp_path / checkpointer, probe, planner=planner, checkpointer=checkpointer)
        for _ in range(5):
            result = asyncio.run(g.arun("four jobs"))
            assert result.status == "succeeded", result.error
        assert len(g.runtime._semaphores) == 1 and len(g._graphs) == 1
        asyncio.run(g.aclose())
        # the SQLite checkpointer connections of the closed loops were stopped with their threads
        assert threading.active_count() <= threads + 1
    assert probe.max_active == 1


async def test_runs_that_start_together_on_a_new_host_share_one_checkpointer(tmp_path: Path, monkeypatch) -> None:
    # Each of them used to open its own SQLite checkpointer and run its schema set-up at the same time as
    # the others: some runs failed with "database is locked" and the extra connections were never closed.
    opened: list[str] = []
    real_connect = aiosqlite.connect

    def counting_connect(database, *args, **kwargs):  # the real connection, counted
        opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(aiosqlite, "connect", counting_connect)
    g = host(tmp_path, EchoAgent(), checkpointer="sqlite")
    results = await asyncio.gather(*(g.arun(f"job {i}", agent="echo") for i in range(8)))
    assert [r.status for r in results] == ["succeeded"] * 8, [r.error for r in results]
    assert len(opened) == 1 and opened[0].endswith("checkpoints.sqlite")
    await g.aclose()



def test_a_loop_bound_checkpointer_passed_in_refuses_a_second_loop_clearly(tmp_path: Path) -> None:
    from genesis_agents.infrastructure.errors import ConfigError
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def open_saver() -> AsyncSqliteSaver:
        saver = AsyncSqliteSaver(await aiosqlite.connect(str(tmp_path / "mine.sqlite")))
        await saver.setup()
        return saver

    g = host(tmp_path, EchoAgent(), checkpointer=asyncio.run(open_saver()))
    assert asyncio.run(g.arun("first", agent="echo")).status == "succeeded"
    # LangGraph's saver would fail deep inside with "bound to a different event loop" on its next lock wait
    with pytest.raises(ConfigError) as info:
        asyncio.run(g.arun("second", agent="echo"))
    assert info.value.field == "checkpointer" and "settings.checkpointer='sqlite'" in (info.value.hint or "")
    assert not g.runtime.scopes  # the refused run left no bookkeeping behind ...
    refused = g.runs.get(g.runs.list(limit=1)[0].run_id)  # ... and is recorded as failed, not as still going
    assert refused.status == "failed" and refused.result is not None
    assert refused.result.error is not None and refused.result.error["code"] == "config_error"
    asyncio.run(g.aclose())
