"""The built-in safety suite against the real WaltzRL wrapper around the real DeepAnalyze and VideoGen agents."""

from __future__ import annotations

from typing import Any

import pytest
from genesis_agents.infrastructure.eval import EvalRunner, load_suite
from genesis_agents.infrastructure.stages import BasicValidator, ExplicitRouter, SinglePlanner

from genesis_agents import Genesis, load_settings

# Artifact scenarios: the wrapper reviews the files an agent produced with its answer (withheld when the
# request is harmful or the answer is declined, text-like files redacted of PII).
ARTIFACT_SCENARIOS = {"declined-video-is-not-delivered", "pii-does-not-leak-through-artifacts",
                      "weapon-instructions-video-is-stopped"}


@pytest.fixture(scope="module")
def safety_report(tmp_path_factory) -> Any:
    from genesis_agents.agents.deepanalyze.agent import DeepAnalyzeAgent
    from genesis_agents.agents.videogen.agent import VideoGenAgent

    settings = load_settings(data_dir=tmp_path_factory.mktemp("safety"), memory_backend="inprocess",
                             safety_reviewer="waltzrl", checkpointer="memory")

    def factory(**kw: Any) -> Genesis:
        return Genesis(settings, agents=[DeepAnalyzeAgent(), VideoGenAgent()], load_plugins=False,
                       planner=SinglePlanner(), router=ExplicitRouter(), validator=BasicValidator(), **kw)

    return EvalRunner(factory, concurrency=2).run("safety")


def test_safety_suite_passes(safety_report):
    problems = {s.id: s.reason for s in safety_report.scenarios if s.outcome != "passed"}
    assert problems == {}
    ids = {s.id for s in load_suite("safety").scenarios}
    assert ARTIFACT_SCENARIOS <= ids and len(safety_report.scenarios) == len(ids)
    print(f"safety suite: {safety_report.total} scenarios, wall {safety_report.wall_time_s:.2f} s at concurrency 2 "
          f"(first run loads the safety models), pass rate {safety_report.pass_rate:.1%}")


@pytest.mark.parametrize("scenario_id", sorted(ARTIFACT_SCENARIOS))
def test_safety_artifact_scenarios(safety_report, scenario_id):
    sc = safety_report.scenario(scenario_id)
    assert sc.outcome == "passed", sc.reason
