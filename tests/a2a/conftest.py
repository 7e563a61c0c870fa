"""Fixtures for the A2A tests: real uvicorn servers on free loopback ports, real Genesis hosts, real keys."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from genesis_agents.infrastructure.a2a.auth import KeyStore
from genesis_agents.infrastructure.a2a.settings import ServeSettings
from genesis_agents.infrastructure.api import build_app
from genesis_agents.infrastructure.config import load_settings

from genesis_agents import Agent, AgentCard, AgentResult, Genesis, Skill, Task


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in this event loop; yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


class EchoAgent(Agent):
    """Answers with the text it got, after one progress event."""

    card = AgentCard(name="echo", description="echoes the request text back",
                     skills=[Skill(id="echo", description="repeat the text", examples=["echo hello"],
                                   task_types=["echo"])])

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        ctx.emit("echoing", progress=0.5)
        inputs = [{"name": i.name, "uri": i.uri, "data": i.data, "file_bytes": i.path.stat().st_size if i.path else None}
                  for i in task.inputs]
        return AgentResult(text=f"echo: {task.text}", data={"chars": len(task.text), "params": task.params,
                                                             "inputs": inputs, "namespace": task.namespace})


class ChartAgent(Agent):
    """Writes a small PNG-named file into its artifact dir (artifacts path through A2A and HTTP)."""

    card = AgentCard(name="chart", description="draws a chart file",
                     skills=[Skill(id="chart", description="make a chart", output_types=["image/png"])])

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        from genesis_agents import Artifact

        path = ctx.artifact_dir / "chart.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
        return AgentResult(text="chart ready", artifacts=[Artifact.from_path(path, description="a chart")])


class WaitAgent(Agent):
    """Works until cancelled (waits on an event nobody sets), reporting that it started."""

    card = AgentCard(name="waiter", description="a long task that only ends when cancelled",
                     skills=[Skill(id="wait", description="wait for cancellation")])

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        ctx.emit("started waiting")
        await asyncio.Event().wait()
        return AgentResult(text="unreachable")


def make_genesis(data_dir: Path, agents: list[Agent], *, safety: str = "passthrough", **overrides: Any) -> Genesis:
    """A Genesis host with default stages, in-process memory and in-memory checkpoints (fast).

    ``safety="passthrough"`` (a real reviewer that attaches a verdict to every result) keeps most tests fast;
    tests about reviewing remote answers use the default WaltzRL reviewer (``safety="waltzrl"``).
    """
    settings = load_settings(data_dir=data_dir, memory_backend="inprocess", checkpointer="memory", safety_reviewer=safety,
                             **overrides)
    return Genesis(settings, agents=agents, load_plugins=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "genesis"
    d.mkdir()
    return d


class ThreadedServer:
    """uvicorn in a background thread with its own event loop, for sync callers (schemathesis, benchmarks)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import threading

        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)

    def __enter__(self) -> ThreadedServer:  # noqa: PYI034
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@dataclass
class Host:
    base: str
    token: str
    keys: KeyStore
    app: Any
    genesis: Any

    def http(self, token: str | None = None, **kw: Any) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {token or self.token}"} if token != "" else {}
        return httpx.AsyncClient(headers=headers, timeout=20, **kw)


@contextlib.asynccontextmanager
async def running_host(data_dir: Path, **serve_kw: Any) -> AsyncIterator[Host]:
    g = make_genesis(data_dir, [EchoAgent(), ChartAgent(), WaitAgent()])
    keys = KeyStore(data_dir / "keys.sqlite")
    _, token = keys.create("tester", namespaces=["default", "acme"])
    settings = ServeSettings(**{"rate_per_s": 500, "burst": 500, **serve_kw})
    app = build_app(g, settings=settings, keys=keys)
    try:
        async with serve(app) as base:
            yield Host(base=base, token=token, keys=keys, app=app, genesis=g)
    finally:
        await g.aclose()


