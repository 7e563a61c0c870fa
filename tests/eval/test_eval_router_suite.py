"""The built-in router suite against the real HALO router and the real DeepAnalyze and VideoGen agents."""

from __future__ import annotations

from typing import Any

import pytest
from genesis_agents.infrastructure.eval import EvalRunner

from genesis_agents import Genesis, load_settings

MULTI_STEP = "analyse-then-video"


@pytest.fixture(scope="module")
def router_host(tmp_path_factory) -> Any:
    from genesis_agents.agents.deepanalyze.agent import DeepAnalyzeAgent
    from genesis_agents.agents.videogen.agent import VideoGenAgent
    from genesis_agents.infrastructure.routing import HaloRouter

    settings = load_settings(data_dir=tmp_path_factory.mktemp("router"), memory_backend="inprocess",
                             safety_reviewer="passthrough", checkpointer="memory")

    def factory(**kw: Any) -> Genesis:
        # planner and validator: the host's defaults (HTDAG/AOP where installed)
        return Genesis(settings, agents=[DeepAnalyzeAgent(), VideoGenAgent()], load_plugins=False,
                       router=HaloRouter(), **kw)

    return factory


@pytest.mark.slow
def test_router_suite_passes(router_host):
    ids = ["csv-question-to-deepanalyze", "video-brief-to-videogen", "analytics-wording-without-file",
           "task-type-video", "pinned-agent-is-explicit", "out-of-scope-is-unassigned"]
    report = EvalRunner(router_host, concurrency=2).run("router", ids=ids)
    assert {s.id: s.reason for s in report.scenarios if s.outcome != "passed"} == {}
    assert len(report.scenarios) == len(ids)
    print(f"router suite: {len(ids)} scenarios, wall {report.wall_time_s:.2f} s, p50 {report.latency_ms_p50:.0f} ms")


@pytest.mark.slow
def test_router_multi_step_plan(router_host):
    host = router_host()
    planner = host.planner.name
    host.close()
    report = EvalRunner(router_host).run("router", ids=[MULTI_STEP])
    sc = report.scenario(MULTI_STEP)
    if planner == "single" and sc.outcome != "passed":
        pytest.xfail(f"the host plans with the single-subtask planner (no HTDAG planner installed): {sc.reason}")
    assert sc.outcome == "passed", sc.reason
