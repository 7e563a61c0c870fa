"""A 200-scenario suite runs concurrently on this machine; its wall time is reported (not asserted)."""

from __future__ import annotations

import json
import os

from genesis_agents.infrastructure.eval import EvalRunner


async def test_200_scenarios_run_concurrently(make_host, write_suite, calc_agent, tmp_path, record_property):
    lines = [json.dumps({"id": f"add-{i:03d}", "task": {"text": f"add {i} and {i + 1}", "agent": "calc"},
                         "tags": ["even" if i % 2 == 0 else "odd"],
                         "expect": {"output": [{"path": "data.sum", "equals": 2 * i + 1},
                                               {"path": "text", "regex": r"^The sum is \d+\.$"}]}})
             for i in range(200)]
    path = write_suite("\n".join(lines) + "\n", "scale.jsonl")
    report = await EvalRunner(make_host, concurrency=16).arun(path)
    assert report.total == 200 and report.passed == 200, [s.reason for s in report.scenarios if s.outcome != "passed"][:3]
    assert calc_agent.max_in_flight > 1  # attempts really overlapped
    busy = sum(a.latency_ms for s in report.scenarios for a in s.attempts) / 1000
    assert report.wall_time_s < busy  # more attempt-seconds than wall seconds: that is concurrency
    line = (f"200 scenarios, concurrency 16, {os.cpu_count()} cpu: wall {report.wall_time_s:.2f} s, "
            f"{200 / report.wall_time_s:.0f} scenarios/s, p50 {report.latency_ms_p50:.0f} ms, "
            f"p95 {report.latency_ms_p95:.0f} ms, max in flight {calc_agent.max_in_flight}")
    record_property("eval_200_wall_s", round(report.wall_time_s, 3))
    print(line)
