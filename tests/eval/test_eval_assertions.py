"""Assertions on RunResult contracts: routing, output operators, safety, budget, measured artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from genesis_agents.infrastructure.eval.assertions import (
    RunView,
    check_artifact,
    check_budget,
    check_output,
    check_routing,
    check_safety,
    evaluate_run,
)
from genesis_agents.infrastructure.eval.models import (
    ArtifactExpect,
    BudgetExpect,
    Expectations,
    OutputCheck,
    RoutingExpect,
    SafetyExpect,
)
from genesis_agents.infrastructure.eval.probe import probe_file
from genesis_agents.infrastructure.eval.results import pass_at_k

from genesis_agents import (
    AgentResult,
    Artifact,
    Plan,
    RoutingDecision,
    RunResult,
    SafetyVerdict,
    Subtask,
    SubtaskResult,
    Task,
    Usage,
)


def _run(artifacts: list[Artifact] | None = None, action: str = "passed") -> RunResult:
    task = Task(text="analyse churn then make a video")
    plan = Plan(task_id=task.id, planner="htdag", subtasks=[
        Subtask(id="s1", text="analyse"), Subtask(id="s2", text="video", depends_on=["s1"])])
    decisions = [
        RoutingDecision(subtask_id="s2", agent="videogen", decided_by="capability", explanation="video"),
        RoutingDecision(subtask_id="s1", agent="deepanalyze", decided_by="rule", explanation="csv"),
    ]
    verdict = SafetyVerdict(action=action, labels=["pii:email"] if action == "revised" else [], reviewer="waltzrl")
    r1 = AgentResult(text="Churn is 26.5%", data={"churn_rate": 0.2654, "segments": [{"name": "Month-to-month",
                                                                                      "rate": "42.7%"}]},
                     safety=SafetyVerdict(action="passed", reviewer="waltzrl"))
    r2 = AgentResult(text="Rendered a 5 s video", data={"frames": 150}, artifacts=artifacts or [], safety=verdict)
    return RunResult(run_id="r1", task=task, status="succeeded", text="Churn is 26.5%. Video attached.", plan=plan,
                     decisions=decisions, usage=Usage(prompt_tokens=10, completion_tokens=5, llm_calls=1,
                                                      cost_usd=0.002),
                     results=[SubtaskResult(subtask_id="s1", agent="deepanalyze", status="succeeded", result=r1),
                              SubtaskResult(subtask_id="s2", agent="videogen", status="succeeded", result=r2)])


def _statuses(checks):
    return [c.status for c in checks]


def test_routing_checks_pass_and_fail():
    run = _run()
    good = RoutingExpect(agents=["deepanalyze", "videogen"], agents_include=["videogen"], agents_exclude=["calc"],
                         unassigned=False, decided_by=["rule", "capability"], subtasks={"min": 2, "max": 3},
                         max_depth=2, planner="htdag")
    assert set(_statuses(check_routing(good, run))) == {"passed"}
    bad = check_routing(RoutingExpect(agent="deepanalyze", subtasks=1, max_depth=1, decided_by=["rule"]), run)
    assert _statuses(bad) == ["failed"] * 4
    assert "expected every subtask on 'deepanalyze'" in bad[0].message and bad[0].actual == ["deepanalyze", "videogen"]


@pytest.mark.parametrize(("check", "ok"), [
    ({"path": "data.frames", "equals": 150}, True),
    ({"path": "data.frames", "equals": 151}, False),
    ({"path": "text", "contains": ["Rendered", "video"]}, True),
    ({"path": "text", "contains": "VIDEO"}, False),
    ({"path": "text", "contains": "VIDEO", "case_sensitive": False}, True),
    ({"path": "text", "not_contains": "error"}, True),
    ({"path": "run.text", "regex": r"\d+\.\d%"}, True),
    ({"path": "text", "subtask": "s1", "regex": r"^Churn is 2[0-5]"}, False),
    ({"path": "data.churn_rate", "subtask": "s1", "approx": 0.265, "tolerance": 0.001}, True),
    ({"path": "data.churn_rate", "subtask": "s1", "approx": 0.25, "tolerance": 0.01}, False),
    ({"path": "data.churn_rate", "subtask": "s1", "approx": 0.26, "rel_tolerance": 0.05}, True),
    ({"path": "data.segments.0.rate", "subtask": "s1", "approx": 42.7, "tolerance": 0.05}, True),
    ({"path": "data.segments.0.name", "subtask": "s1", "equals": "Month-to-month"}, True),
    ({"path": "data", "json_schema": {"type": "object", "required": ["frames"],
                                      "properties": {"frames": {"type": "integer", "minimum": 100}}}}, True),
    ({"path": "data", "json_schema": {"type": "object", "required": ["fps"]}}, False),
    ({"path": "data.frames", "min": 100, "max": 200}, True),
    ({"path": "data.frames", "max": 100}, False),
    ({"path": "data.missing", "exists": False}, True),
    ({"path": "data.missing", "equals": 1}, False),
    ({"path": "run.usage.llm_calls", "equals": 1}, True),
])
def test_output_operators(check, ok):
    results = check_output(OutputCheck.model_validate(check), RunView(_run()))
    assert results and all(r.status == ("passed" if ok else "failed") for r in results), results


def test_missing_path_and_schema_failure_say_why():
    view = RunView(_run())
    [missing] = check_output(OutputCheck(path="data.nope.x", equals=1), view)
    assert "not found" in missing.message
    [schema] = check_output(OutputCheck(path="data", json_schema={"required": ["fps"]}), view)
    assert "'fps' is a required property" in schema.message


def test_safety_uses_most_severe_verdict_and_labels():
    run = _run(action="revised")
    assert _statuses(check_safety(SafetyExpect.model_validate("revised"), run)) == ["passed"]
    assert _statuses(check_safety(SafetyExpect(action=["passed"]), run)) == ["failed"]
    labelled = check_safety(SafetyExpect(action="revised", labels_include=["pii", "unsafe"]), run)
    assert _statuses(labelled) == ["passed", "passed", "failed"]
    blocked = _run(action="blocked")
    assert _statuses(check_safety(SafetyExpect(action="blocked"), blocked)) == ["passed"]


def test_budget_and_default_status():
    run = _run()
    checks = check_budget(BudgetExpect(max_cost_usd=0.001, max_tokens=100, max_llm_calls=1, max_latency_ms=50), run,
                          latency_ms=80.0)
    assert [(c.name, c.status) for c in checks] == [("budget.latency_ms", "failed"), ("budget.cost_usd", "failed"),
                                                    ("budget.tokens", "passed"), ("budget.llm_calls", "passed")]
    failed_run = run.model_copy(update={"status": "failed"})
    [status] = evaluate_run(Expectations(), failed_run, 1.0)
    assert status.status == "failed" and "expected succeeded" in status.message
    assert evaluate_run(Expectations(safety="blocked"), failed_run, 1.0)[0].name == "safety.action"


def _png(path: Path, size=(80, 60)) -> Path:
    from PIL import Image

    Image.new("RGB", size, "blue").save(path)
    return path


def _mp4(path: Path, seconds: float, fps: int = 10, size=(64, 48)) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), i, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_probe_measures_real_files(tmp_path):
    png = probe_file(_png(tmp_path / "a.png"))
    assert png["width"] == 80 and png["height"] == 60
    video = probe_file(_mp4(tmp_path / "v.mp4", 2.0))
    assert video["width"] == 64 and video["height"] == 48 and abs(video["duration_s"] - 2.0) < 0.15
    assert abs(video["fps"] - 10) < 0.01 and video["has_audio"] is False
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    assert "error" in probe_file(tmp_path / "bad.mp4")
    assert probe_file(tmp_path / "nope.mp4") == {"exists": False}


def test_artifact_expectations_use_the_file_not_the_claim(tmp_path):
    video = _mp4(tmp_path / "v.mp4", 2.0)
    liar = Artifact.from_path(video, duration_s=5.0)  # metadata claims 5 s; the file holds 2 s
    run = _run([liar, Artifact.from_path(_png(tmp_path / "p.png"))])
    [ok] = check_artifact(ArtifactExpect(media_type="video/*", duration_s=2.0, width=64, height=48, fps=10), run)
    assert ok.status == "passed", ok.message
    [bad] = check_artifact(ArtifactExpect(media_type="video/mp4", duration_s=5.0), run)
    assert bad.status == "failed" and "duration" in bad.message
    [img] = check_artifact(ArtifactExpect(name="*.png", width=80, height=60, count=1), run)
    assert img.status == "passed"
    [none] = check_artifact(ArtifactExpect(name="*.gif"), run)
    assert none.status == "failed" and "no artifact matches" in none.message


def test_pass_at_k_estimator():
    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 5) == 1.0
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)


def test_artifact_text_checks_and_absence(tmp_path):
    page = tmp_path / "dashboard.html"
    page.write_text("<html>top customer: ana@kestrelpost.net</html>")
    run = _run([Artifact.from_path(page)])
    [leak] = check_artifact(ArtifactExpect(name="*.html", text_contains="kestrelpost.net", count=0), run)
    assert leak.status == "failed" and "dashboard.html" in leak.message
    [clean] = check_artifact(ArtifactExpect(name="*.html", text_not_contains=["password", "ssn"]), run)
    assert clean.status == "passed"
    [absent] = check_artifact(ArtifactExpect(media_type="video/*", count=0), run)
    assert absent.status == "passed"
