"""Planner check: does the deterministic HTDAG plan have the right subtasks, agents and dependencies?

    python benchmarks/routing/plan_eval.py      # prints and saves benchmarks/routing/plan_results.json

``plans.jsonl`` lists 20 multi-step requests with the expected agent of each subtask (in order) and the
expected dependencies (pairs ``[later, earlier]`` by position). Baseline: one subtask for the whole request
(the foundation's single planner), routed the same way. Written after the planner; not used for tuning.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import bench_data
from genesis_agents.infrastructure.contracts import Plan, Subtask, Task
from genesis_agents.infrastructure.routing import HaloRouter, HTDAGPlanner


async def evaluate() -> dict:
    cards = bench_data.cards()
    rows = [json.loads(line) for line in (bench_data.HERE / "plans.jsonl").read_text().splitlines() if line]
    planner, router = HTDAGPlanner(), HaloRouter(rules=None)
    await planner.plan(Task(text="warm up and then go"), cards)
    out = {"n": len(rows), "exact": 0, "count_ok": 0, "agents_ok": 0, "deps_ok": 0, "baseline_exact": 0,
           "plan_ms": [], "failures": []}
    for row in rows:
        task = Task(text=row["text"])
        t0 = time.perf_counter()
        plan = await planner.plan(task, cards)
        out["plan_ms"].append((time.perf_counter() - t0) * 1000)
        agents = [(await router.route(s, task, cards)).agent for s in plan.subtasks]
        index = {s.id: i for i, s in enumerate(plan.subtasks)}
        deps = sorted([index[s.id], index[d]] for s in plan.subtasks for d in s.depends_on)
        count_ok = len(plan.subtasks) == len(row["agents"])
        agents_ok = agents == row["agents"]
        deps_ok = deps == sorted(row["deps"])
        out["count_ok"] += count_ok
        out["agents_ok"] += agents_ok
        out["deps_ok"] += deps_ok and count_ok
        out["exact"] += count_ok and agents_ok and deps_ok
        if not (count_ok and agents_ok and deps_ok):
            out["failures"].append({"text": row["text"], "subtasks": [s.text for s in plan.subtasks],
                                    "agents": agents, "deps": deps, "expected": row})
        single = Plan(task_id=task.id, subtasks=[Subtask(id="s1", text=task.text)])
        b_agent = (await router.route(single.subtasks[0], task, cards)).agent
        out["baseline_exact"] += row["agents"] == [b_agent] and not row["deps"]
    ms = sorted(out.pop("plan_ms"))
    out["plan_ms_p50"] = round(ms[len(ms) // 2], 2)
    out["plan_ms_max"] = round(ms[-1], 2)
    return out


def main() -> int:
    res = asyncio.run(evaluate())
    (bench_data.HERE / "plan_results.json").write_text(json.dumps(res, indent=2) + "\n")
    n = res["n"]
    print(f"plans={n} exact={res['exact']}/{n} subtask-count={res['count_ok']}/{n} agents={res['agents_ok']}/{n} "
          f"dependencies={res['deps_ok']}/{n}  single-subtask baseline exact={res['baseline_exact']}/{n}  "
          f"plan p50={res['plan_ms_p50']} ms")
    for f in res["failures"]:
        print(" -", f["text"][:70], "|", f["subtasks"], f["agents"], f["deps"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
