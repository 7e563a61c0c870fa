"""Fixtures for VideoGen tests: small render settings, sample data, and a real agent context.

``LocalContext`` is a complete ``AgentContext`` over the real in-process memory, for running the agent
without the full runtime (the runtime itself is exercised in ``test_integration.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from genesis_agents.agents.videogen import RenderSettings
from genesis_agents.infrastructure.contracts import AgentContext, AgentResult, ScopedMemory, Task, Usage
from PIL import Image

CHURN = {"title": "Churn rate by contract", "labels": ["Month-to-month", "One year", "Two year"],
         "values": [42.7, 11.3, 2.8], "unit": "%"}
FINDINGS = ["Month-to-month customers churn at 42.7%", "Two-year contracts churn at only 2.8%",
            "Fiber optic customers churn more than DSL customers"]


class LocalContext(AgentContext):
    def __init__(self, task: Task, artifact_dir: Path, *, llm: Any = None,
                 upstream: dict[str, AgentResult] | None = None) -> None:
        from genesis_agents.memory.inprocess import InProcessMemory

        self.run_id = "run_test"
        self.subtask_id = "s1"
        self.task = task
        self.agent_name = "videogen"
        self.upstream = upstream or {}
        self.backend = InProcessMemory()
        self._llm = llm
        self._dir = artifact_dir
        self.events: list[tuple[str, float | None]] = []
        self.usage = Usage()
        self.cancel = False

    @property
    def memory(self) -> ScopedMemory:
        return ScopedMemory(self.backend, namespace=self.task.namespace, agent="videogen", run_id=self.run_id)

    @property
    def llm(self) -> Any:
        return self._llm

    @property
    def artifact_dir(self) -> Path:
        self._dir.mkdir(parents=True, exist_ok=True)
        return self._dir

    async def delegate(self, task, *, agent=None, inputs=()):
        raise NotImplementedError("VideoGen does not delegate")

    def emit(self, message: str = "", *, progress: float | None = None, **data: Any) -> None:
        self.events.append((message, progress))

    @property
    def cancelled(self) -> bool:
        return self.cancel

    def add_usage(self, usage: Usage) -> None:
        self.usage = self.usage + usage


@pytest.fixture
def small() -> RenderSettings:
    return RenderSettings(width=320, height=180, fps=10, preset="ultrafast", narration="off")


@pytest.fixture
def churn_json(tmp_path: Path) -> Path:
    p = tmp_path / "churn.json"
    p.write_text(json.dumps({"findings": FINDINGS, "chart_data": CHURN}))
    return p


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A synthetic photo-like image (gradients and shapes) to pan across."""
    h, w = 300, 480
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([(x * 255 / w), (y * 255 / h), ((x + y) * 127 / (w + h)) + 60], axis=-1).astype(np.uint8)
    p = tmp_path / "product-shot.png"
    Image.fromarray(arr).save(p)
    return p
