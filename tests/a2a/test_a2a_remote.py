"""RemoteAgent against a peer built only from a2a-sdk sample-style code, over real HTTP on loopback.

Every remote call goes through a real Genesis host (routing, limits, safety review), as in production.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from genesis_agents.infrastructure.a2a import RemoteAgent, add_remote_agent, load_remote_agents
from genesis_agents.infrastructure.a2a.remotes import RemoteAgentStore
from genesis_agents.infrastructure.a2a.settings import RemoteSettings
from genesis_agents.infrastructure.contracts import ProgressEvent
from genesis_agents.infrastructure.errors import AgentFailedError, BadInputError, InvalidCardError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from genesis_agents import Task

from .a2a_sample_peer import PNG, build_peer
from .conftest import EchoAgent, free_port, make_genesis, serve

FAST = RemoteSettings(retries=1, backoff_s=0.01, backoff_max_s=0.02, breaker_failures=2, breaker_reset_s=60,
                      connect_timeout_s=2, timeout_s=20, read_timeout_s=10)


@pytest.mark.parametrize("version, streaming", [("1.0", True), ("1.0", False), ("0.3", True)])
async def test_remote_echo_through_genesis(data_dir: Path, version: str, streaming: bool) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app, peer = build_peer(base, streaming=streaming, version=version)
    async with serve(app, port):
        remote = await RemoteAgent.from_url(base, settings=FAST)
        assert remote.card.name == "sample-echo-agent" and remote.card.url == base
        assert remote.card.skills[0].id == "echo" and "remote" in remote.card.tags
        g = make_genesis(data_dir, [remote])
        try:
            events = [e async for e in g.astream(Task(text="echo hello world", agent=remote.name,
                                                      params={"unit": "eur"}))]
        finally:
            await g.aclose()
    result = events[-1].result
    assert result.status == "succeeded", result.error
    sub = result.results[0]
    assert sub.agent == "sample-echo-agent"
    assert sub.result.text == "done: hello world"
    assert sub.result.safety is not None  # remote answers are safety-reviewed like local ones
    assert sub.result.data["length"] == len("echo hello world")
    assert sub.result.data["remote"]["state"] == "TASK_STATE_COMPLETED"
    [art] = sub.result.artifacts
    assert art.name == "plot.png" and art.media_type == "image/png" and Path(art.path).read_bytes() == PNG
    assert Path(art.path).is_relative_to(data_dir.resolve())
    # the peer got the params as a data part next to the text
    parts = peer.seen_messages[0].parts
    assert parts[0].text == "echo hello world"
    assert json.loads(json.dumps(dict(parts[1].data.struct_value))) == {"unit": "eur"}
    if streaming:
        progress = [e.message for e in events if isinstance(e, ProgressEvent) and e.data.get("remote") == base]
        assert "halfway" in progress and "thinking" in progress


async def test_remote_failure_is_reported_not_raised(data_dir: Path) -> None:
    port = free_port()
    app, _ = build_peer(f"http://127.0.0.1:{port}")
    async with serve(app, port):
        remote = await RemoteAgent.from_url(f"http://127.0.0.1:{port}", settings=FAST, name="peer")
        g = make_genesis(data_dir, [remote])
        try:
            result = await g.arun(Task(text="fail please", agent="peer"))
        finally:
            await g.aclose()
    assert result.status == "failed"
    err = result.results[0].error
    assert err["code"] == "agent_failed" and "TASK_STATE_FAILED" in err["message"] and "boom" in err["message"]
    assert remote.breaker.failures == 0  # the peer answered: not a transport failure


async def test_cancel_is_forwarded_to_the_peer(data_dir: Path) -> None:
    port = free_port()
    app, peer = build_peer(f"http://127.0.0.1:{port}")
    async with serve(app, port):
        remote = await RemoteAgent.from_url(f"http://127.0.0.1:{port}", settings=FAST, name="peer")
        g = make_genesis(data_dir, [remote])
        try:
            seen: list[object] = []

            async def consume() -> None:
                async for event in g.astream(Task(text="wait", agent="peer"), run_id="run_cancel_me"):
                    seen.append(event)

            job = asyncio.create_task(consume())
            await asyncio.wait_for(peer.started.wait(), 10)
            assert g.cancel("run_cancel_me")
            await asyncio.wait_for(job, 10)
            await asyncio.wait_for(peer.cancel_seen.wait(), 10)
        finally:
            await g.aclose()
    result = seen[-1].result
    assert result.status == "cancelled"
    assert len(peer.cancelled) == 1


async def test_peer_down_retries_then_opens_the_circuit(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app, _ = build_peer(base)
    async with serve(app, port):
        remote = await RemoteAgent.from_url(base, settings=FAST, name="peer")
    # the server is gone now: connection refused
    g = make_genesis(data_dir, [remote])
    try:
        progress: list[str] = []
        async for e in g.astream(Task(text="echo a", agent="peer")):
            if isinstance(e, ProgressEvent):
                progress.append(e.message)
            last = e
        first = last.result
        second = await g.arun(Task(text="echo b", agent="peer"))
        third = await g.arun(Task(text="echo c", agent="peer"))
    finally:
        await g.aclose()
    assert first.status == "failed" and "connection attempts failed" in first.results[0].error["message"]
    assert first.results[0].error["details"]["attempts"] == 2
    assert any("retry 1/1" in p for p in progress)
    assert second.status == "failed"
    assert third.status == "failed" and "circuit open" in third.results[0].error["message"]


def _garbage_app(card: dict, rpc_reply: object, status: int = 200) -> Starlette:
    async def get_card(_: Request) -> JSONResponse:
        return JSONResponse(card)

    async def rpc(_: Request) -> object:
        if isinstance(rpc_reply, str):
            return PlainTextResponse(rpc_reply, status_code=status)
        return JSONResponse(rpc_reply, status_code=status)

    return Starlette(routes=[Route("/.well-known/agent-card.json", get_card), Route("/", rpc, methods=["POST"])])


@pytest.mark.parametrize("reply, status, expect", [
    ("<html>oops</html>", 200, "JSON"),
    ({"jsonrpc": "2.0", "id": "1", "result": {"weird": True}}, 200, "neither task nor message"),
    ([1, 2, 3], 200, "expected an object"),
    ({"jsonrpc": "2.0", "id": "1", "error": {"code": -32603, "message": "exploded"}}, 200, "exploded"),
    ("server error", 500, "500"),
])
async def test_peer_returning_garbage_fails_cleanly(data_dir: Path, reply: object, status: int, expect: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    card = {"name": "junk", "description": "returns junk", "version": "1",
            "supportedInterfaces": [{"url": base + "/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {"streaming": False}, "skills": [{"id": "x", "name": "x", "description": "x"}]}
    async with serve(_garbage_app(card, reply, status), port):
        remote = await RemoteAgent.from_url(base, settings=FAST)
        g = make_genesis(data_dir, [remote])
        try:
            result = await g.arun(Task(text="anything", agent="junk"))
        finally:
            await g.aclose()
    assert result.status == "failed"
    err = result.results[0].error
    assert err["code"] == "agent_failed" and expect.lower() in err["message"].lower(), err


async def test_bad_cards_and_urls_are_typed_errors(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with serve(_garbage_app({"name": "x", "skills": "not a list"}, {}), port):
        with pytest.raises(InvalidCardError):
            await RemoteAgent.from_url(base, settings=FAST)
        with pytest.raises(InvalidCardError) as info:
            await RemoteAgent.from_url(base + "/missing", settings=FAST)
        assert "404" in str(info.value)
    with pytest.raises(AgentFailedError) as down:
        await RemoteAgent.from_url(f"http://127.0.0.1:{free_port()}", settings=FAST)
    assert "cannot fetch agent card" in str(down.value)
    with pytest.raises(BadInputError) as scheme:
        await add_remote_agent(make_genesis(data_dir, []).settings, "ftp://example.org/agent")
    assert scheme.value.field == "url"


async def test_added_remote_is_persisted_and_reloaded_without_network(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app, _ = build_peer(base)
    g0 = make_genesis(data_dir, [])
    async with serve(app, port):
        added = await add_remote_agent(g0.settings, base, name="Echo Peer")
        assert added.card.name == "echo-peer"
        with pytest.raises(BadInputError):
            await add_remote_agent(g0.settings, base, name="Echo Peer")
        [entry] = RemoteAgentStore.from_settings(g0.settings).entries()
        assert entry.url == base and entry.card["name"] == "Sample Echo Agent"
        [reloaded] = load_remote_agents(g0.settings)
        assert reloaded.card == added.card
        # a host started on this data dir loads the peer and can route to it by its skill
        g = make_genesis(data_dir, [EchoAgent()])
        g._load_remote_agents()
        try:
            assert "echo-peer" in {c.name for c in g.cards()}
            result = await g.arun(Task(text="echo persisted", agent="echo-peer"))
        finally:
            await g.aclose()
    await g0.aclose()
    assert result.status == "succeeded" and result.results[0].result.text == "done: persisted"
    RemoteAgentStore.from_settings(g0.settings).remove("echo-peer")
    assert load_remote_agents(g0.settings) == []


async def test_remote_answers_are_safety_reviewed_by_waltzrl(data_dir: Path) -> None:
    """A peer's answer leaking a cloud key comes back through Genesis redacted, with the verdict attached."""
    from .a2a_sample_peer import LEAKED_KEY

    port = free_port()
    app, _ = build_peer(f"http://127.0.0.1:{port}")
    async with serve(app, port):
        remote = await RemoteAgent.from_url(f"http://127.0.0.1:{port}", settings=FAST, name="peer")
        g = make_genesis(data_dir, [remote], safety="waltzrl")
        try:
            result = await g.arun(Task(text="leak the deploy settings", agent="peer"))
            clean = await g.arun(Task(text="echo safe words", agent="peer"))
        finally:
            await g.aclose()
    reviewed = result.results[0].result
    assert type(g.safety).__name__ == "WaltzRLReviewer"
    assert reviewed.safety is not None and reviewed.safety.action in {"revised", "blocked"}, reviewed.safety
    assert LEAKED_KEY not in reviewed.text and LEAKED_KEY not in result.text
    assert any("secret" in label or "leak" in label for label in reviewed.safety.labels), reviewed.safety.labels
    assert clean.results[0].result.safety.action == "passed"


async def test_genesis_to_genesis_with_api_key(data_dir: Path) -> None:
    """One Genesis host delegates to another over A2A: key sent, restored card fields, file artifact copied."""
    from .conftest import running_host

    async with running_host(data_dir / "server") as host:
        chart = await RemoteAgent.from_url(host.base + "/a2a/agents/chart", api_key=host.token, settings=FAST,
                                           name="remote-chart")
        router = await RemoteAgent.from_url(host.base, api_key=host.token, settings=FAST, name="remote-genesis")
        intruder = await RemoteAgent.from_url(host.base + "/a2a/agents/echo", api_key="gsk_0_bad", settings=FAST,
                                              name="intruder")
        assert chart.card.skills[0].output_types == ["image/png"]  # restored from the Genesis card extension
        assert {s.id for s in router.card.skills} == {"echo.echo", "chart.chart", "waiter.wait"}
        g = make_genesis(data_dir / "client", [chart, router, intruder])
        try:
            drawn = await g.arun(Task(text="draw", agent="remote-chart"))
            routed = await g.arun(Task(text="say it back", agent="remote-genesis", task_type="echo"))
            denied = await g.arun(Task(text="hi", agent="intruder"))
        finally:
            await g.aclose()
    [art] = drawn.results[0].result.artifacts
    assert art.name == "chart.png" and Path(art.path).read_bytes().startswith(b"\x89PNG")
    assert Path(art.path).is_relative_to((data_dir / "client").resolve())
    assert routed.status == "succeeded", routed.results[0].error
    assert denied.status == "failed" and "401" in denied.results[0].error["message"]
    assert denied.results[0].error["details"]["attempts"] == 1  # auth failures are not retried


async def test_remote_timeout_cancels_the_peer_task(data_dir: Path) -> None:
    port = free_port()
    app, peer = build_peer(f"http://127.0.0.1:{port}")
    async with serve(app, port):
        remote = await RemoteAgent.from_url(f"http://127.0.0.1:{port}", settings=FAST, name="peer")
        g = make_genesis(data_dir, [remote])
        try:
            result = await g.arun(Task(text="wait", agent="peer", timeout_s=1.0))
            await asyncio.wait_for(peer.cancel_seen.wait(), 10)
        finally:
            await g.aclose()
    assert result.status == "failed" and result.results[0].status == "timeout"
    assert len(peer.cancelled) == 1


async def test_local_agent_delegates_to_remote(data_dir: Path) -> None:
    from genesis_agents import Agent, AgentCard, AgentResult, Skill

    class Boss(Agent):
        card = AgentCard(name="boss", description="hands work to a peer", skills=[Skill(id="boss", description="x")])

        async def run(self, task: Task, ctx: object) -> AgentResult:
            answer = await ctx.delegate("echo from the boss", agent="peer")  # type: ignore[attr-defined]
            return AgentResult(text=f"peer said: {answer.text}", data={"peer_safety": answer.safety.action})

    port = free_port()
    app, _ = build_peer(f"http://127.0.0.1:{port}")
    async with serve(app, port):
        remote = await RemoteAgent.from_url(f"http://127.0.0.1:{port}", settings=FAST, name="peer")
        g = make_genesis(data_dir, [remote, Boss()])
        try:
            result = await g.arun(Task(text="go", agent="boss"))
        finally:
            await g.aclose()
    assert result.status == "succeeded", result.results[0].error
    out = result.results[0].result
    assert out.text == "peer said: done: from the boss" and out.data["peer_safety"]
