"""Fixtures for the eval harness tests: a real Genesis host with small, real agents.

The agents do real (small) work — arithmetic, drawing a PNG with Pillow, encoding an MP4 with PyAV, asking
the injected chat model — so the runner, the assertions and the artifact probes are exercised end to end.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from genesis_agents.infrastructure.stages import BasicValidator, ExplicitRouter, SinglePlanner

from genesis_agents import (
    Agent,
    AgentCard,
    AgentContext,
    AgentResult,
    Artifact,
    Genesis,
    Skill,
    Task,
    load_settings,
)


class CalcAgent(Agent):
    """Adds the numbers in the request; tracks how many runs are in flight at once."""

    card = AgentCard(name="calc", description="adds up the numbers in a request", max_concurrency=64,
                     skills=[Skill(id="add", description="add numbers", task_types=["arith"])])
    in_flight = 0
    max_in_flight = 0

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        cls = type(self)
        cls.in_flight += 1
        cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        try:
            await asyncio.sleep(0)  # yield once so concurrent attempts really overlap
            numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", task.text)]
            total = sum(numbers)
            return AgentResult(text=f"The sum is {total:g}.", data={"sum": total, "count": len(numbers),
                                                                    "numbers": numbers})
        finally:
            cls.in_flight -= 1


class HangAgent(Agent):
    """Never finishes: waits on an event nobody sets (a hung backend)."""

    card = AgentCard(name="hang", description="waits forever", skills=[Skill(id="wait", description="wait")])

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class BrokenAgent(Agent):
    card = AgentCard(name="broken", description="always raises", skills=[Skill(id="fail", description="fail")])

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        raise RuntimeError("disk on fire")


class PainterAgent(Agent):
    """Draws a PNG of the requested size with Pillow."""

    card = AgentCard(name="painter", description="draws images",
                     skills=[Skill(id="draw", description="draw an image", output_types=["image/png"])])

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        from PIL import Image, ImageDraw

        w, h = int(task.params.get("width", 64)), int(task.params.get("height", 48))
        img = Image.new("RGB", (w, h), "white")
        ImageDraw.Draw(img).rectangle([2, 2, w - 3, h - 3], outline="red")
        path = ctx.artifact_dir / "picture.png"
        img.save(path)
        return AgentResult(text=f"drew {w}x{h}", artifacts=[Artifact.from_path(path, width=w, height=h)])


class ClipAgent(Agent):
    """Encodes a real MP4 with PyAV: ``seconds`` at ``fps``. ``claim`` lies about the duration in metadata."""

    card = AgentCard(name="clip", description="renders short videos",
                     skills=[Skill(id="render", description="render a video", output_types=["video/mp4"])])

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        import av
        import numpy as np

        seconds, fps = float(task.params.get("seconds", 1.0)), int(task.params.get("fps", 10))
        w, h = 64, 48
        path = ctx.artifact_dir / "clip.mp4"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("mpeg4", rate=fps)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for i in range(int(seconds * fps)):
                frame = np.full((h, w, 3), (i * 7) % 255, dtype=np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        claimed = float(task.params.get("claim", seconds))
        return AgentResult(text="rendered", artifacts=[Artifact.from_path(path, duration_s=claimed)])


class NarratorAgent(Agent):
    """Answers with whatever the injected chat model says (deterministic with a scripted model)."""

    card = AgentCard(name="narrator", description="narrates with the LLM",
                     skills=[Skill(id="narrate", description="narrate")])

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        if ctx.llm is None:
            return AgentResult(text="no llm")
        reply = await ctx.llm.ainvoke(task.text)
        return AgentResult(text=str(reply.content), data={"reply": str(reply.content)})


def all_agents() -> list[Agent]:
    return [CalcAgent(), HangAgent(), BrokenAgent(), PainterAgent(), ClipAgent(), NarratorAgent()]


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return load_settings(data_dir=tmp_path / "data", memory_backend="inprocess", safety_reviewer="passthrough",
                         checkpointer="memory")


@pytest.fixture
def make_host(settings: Any):
    """A factory as SE-Darwin would pass it: a fresh Genesis per call, accepting llm=."""
    CalcAgent.in_flight = CalcAgent.max_in_flight = 0

    def factory(**kw: Any) -> Genesis:
        return Genesis(settings, agents=all_agents(), load_plugins=False, planner=SinglePlanner(),
                       router=ExplicitRouter(), validator=BasicValidator(), **kw)

    return factory


@pytest.fixture
def calc_agent() -> type[CalcAgent]:
    """The calc agent class, whose counters show how many runs overlapped."""
    return CalcAgent


@pytest.fixture
def write_suite(tmp_path: Path):
    """Write a YAML (dedented) or JSONL suite into tmp_path and return its path."""

    def write(text: str, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
