"""Child process for the crash-resume test: runs a two-step plan; the second step waits for a file.

Usage: python -m tests.runtime.crash_child DATA_DIR WORK_DIR RUN_ID [resume]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from genesis_agents import Agent, AgentResult, Subtask, Task

from .helpers import StaticPlanner, card, host


class CountingAgent(Agent):
    """Counts its invocations in a file, so the parent can see whether a step was re-run."""

    card = card("counter")

    def __init__(self, work: Path) -> None:
        super().__init__()
        self.work = work

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        marker = self.work / f"{task.text}.count"
        count = int(marker.read_text()) + 1 if marker.exists() else 1
        marker.write_text(str(count))
        if task.text == "second":
            (self.work / "second.started").write_text("1")
            release = self.work / "release"
            deadline = time.monotonic() + 60
            while not release.exists():  # the parent kills us while we wait here
                if time.monotonic() > deadline:
                    raise TimeoutError("never released")
                await asyncio.sleep(0.05)
        return AgentResult(text=f"{task.text} done (invocation {count})")


def main() -> None:
    data, work, run_id = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    resume = len(sys.argv) > 4 and sys.argv[4] == "resume"
    planner = StaticPlanner([Subtask(id="first", text="first", agent="counter"),
                             Subtask(id="second", text="second", agent="counter", depends_on=["first"])])
    g = host(data, CountingAgent(work), planner=planner)
    result = g.resume(run_id) if resume else g.run("two steps", run_id=run_id)
    print(result.status, result.text.replace("\n", " | "))
    if result.status != "succeeded":
        print(result.model_dump_json(include={"error", "results", "plan"}), file=sys.stderr)
    g.close()


if __name__ == "__main__":
    main()
