"""Storyboard models, inputs, and the deterministic planner (no rendering)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genesis_agents.agents.videogen import (
    ChartSpec,
    RenderSettings,
    Scene,
    Storyboard,
    gather,
    plan_storyboard,
)
from genesis_agents.agents.videogen.fonts import BUNDLED, font, font_usable
from genesis_agents.agents.videogen.models import SUPPORTED_FPS, build
from genesis_agents.agents.videogen.planner import duration_from_brief, topic_of
from genesis_agents.infrastructure.contracts import AgentResult, TaskInput
from genesis_agents.infrastructure.errors import BadInputError

from .conftest import CHURN, FINDINGS


def test_unsupported_resolution_lists_supported() -> None:
    with pytest.raises(BadInputError) as exc:
        build(RenderSettings, {"width": 1000, "height": 1000}, field="params")
    assert "1000x1000" in str(exc.value) and "1280x720" in str(exc.value) and exc.value.field == "params"
    with pytest.raises(BadInputError) as exc:
        build(RenderSettings, {"fps": 7}, field="params")
    assert all(str(f) in str(exc.value) for f in SUPPORTED_FPS)


def test_chart_spec_rejects_mismatched_lengths() -> None:
    with pytest.raises(BadInputError) as exc:
        build(ChartSpec, {"labels": ["a", "b"], "values": [1.0]}, field="chart")
    assert "differ in length" in str(exc.value)


def test_empty_brief_is_rejected(small: RenderSettings) -> None:
    with pytest.raises(BadInputError) as exc:
        plan_storyboard("   ", gather([]), small, duration_s=10)
    assert exc.value.field == "text"


def test_topic_and_duration_from_brief() -> None:
    assert topic_of("Make a 20 second video about our new invoicing app") == "our new invoicing app"
    assert topic_of("Create a short explainer video on how onboarding works. It has 3 steps.") == "how onboarding works"
    assert duration_from_brief("a 30-second promo") == 30.0
    assert duration_from_brief("a promo") is None


def test_planner_uses_real_numbers_and_fills_duration(small: RenderSettings) -> None:
    mat = gather([TaskInput(data={"findings": FINDINGS, "chart_data": CHURN})])
    board = plan_storyboard("Make a video of the findings for the sales team", mat, small, duration_s=20)
    kinds = [s.kind for s in board.scenes]
    assert kinds[0] == "title" and kinds[-1] == "cta" and "bullets" in kinds and "chart" in kinds
    chart = next(s for s in board.scenes if s.kind == "chart").chart
    assert chart.values == CHURN["values"] and chart.labels == CHURN["labels"] and chart.unit == "%"
    assert board.duration_s == pytest.approx(20.0, abs=1e-6)
    assert board.scenes[0].title == "Churn rate by contract"  # "the findings" is too generic for a title
    assert all(s.duration_s >= 1.5 for s in board.scenes)
    bullets = [b for s in board.scenes for b in s.bullets]
    assert bullets == FINDINGS


def test_text_too_long_for_duration_is_reported(small: RenderSettings) -> None:
    findings = [f"Finding number {i} says something long about customer behaviour in region {i}" for i in range(12)]
    mat = gather([TaskInput(data={"findings": findings})])
    with pytest.raises(BadInputError) as exc:
        plan_storyboard("Summarise the findings", mat, small, duration_s=8)
    assert exc.value.field == "duration_s" and exc.value.details["needed_s"] > 8
    board = plan_storyboard("Summarise the findings", mat, small, duration_s=90)
    bullet_scenes = [s for s in board.scenes if s.kind == "bullets"]
    assert len(bullet_scenes) == 4 and all(len(s.bullets) <= 3 for s in bullet_scenes)  # split, not crammed


def test_large_chart_split_keeps_every_value(small: RenderSettings) -> None:
    labels = [f"Region {i}" for i in range(10)]
    values = [float(i * 3 + 1) for i in range(10)]
    mat = gather([TaskInput(data={"chart_data": {"title": "Sales", "labels": labels, "values": values}})])
    board = plan_storyboard("Sales by region", mat, small, duration_s=40)
    charts = [s.chart for s in board.scenes if s.kind == "chart"]
    assert len(charts) > 1
    assert [v for c in charts for v in c.values] == values


def test_time_series_becomes_line_chart(small: RenderSettings) -> None:
    mat = gather([TaskInput(data={"2021": 10.0, "2022": 12.5, "2023": 15.0, "2024": 14.0})])
    board = plan_storyboard("Revenue over time", mat, small, duration_s=15)
    assert next(s for s in board.scenes if s.kind == "chart").chart.kind == "line"


def test_inputs_from_files_records_and_upstream(tmp_path: Path, churn_json: Path) -> None:
    records = tmp_path / "records.json"
    records.write_text(json.dumps([{"plan": "Basic", "users": 120}, {"plan": "Pro", "users": 45}]))
    upstream = {"analyse": AgentResult(agent="deepanalyze", data={"findings": ["Churn is 26.5% overall"],
                                                                  "chart_data": {**CHURN, "title": "Upstream"}})}
    mat = gather([TaskInput(path=churn_json), TaskInput(path=records)], upstream)
    assert mat.findings[:3] == FINDINGS and "Churn is 26.5% overall" in mat.findings
    assert [c.title for c in mat.charts] == ["Churn rate by contract", "users", "Upstream"]
    assert mat.charts[1].labels == ["Basic", "Pro"] and mat.charts[1].values == [120, 45]
    assert any(s.startswith("upstream:analyse") for s in mat.sources)


def test_bad_inputs_name_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(BadInputError) as exc:
        gather([TaskInput(path=broken)])
    assert exc.value.field == "inputs[0].path" and "cannot read image" in str(exc.value)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope")
    with pytest.raises(BadInputError) as exc:
        gather([TaskInput(path=bad_json)])
    assert exc.value.field == "inputs[0].path"
    with pytest.raises(BadInputError) as exc:
        gather([TaskInput(data={"chart_data": {"labels": ["a"], "values": ["x"]}})])
    assert exc.value.field.startswith("inputs[0].data.chart_data[0]")
    with pytest.raises(BadInputError):
        gather([TaskInput(data={"unrelated": "text"})])


def test_missing_font_falls_back_to_bundled() -> None:
    assert BUNDLED["regular"].is_file() and (BUNDLED["regular"].parent / "LICENSE-DejaVu.txt").is_file()
    assert not font_usable("/nonexistent/font.ttf")
    f = font(20, path="/nonexistent/font.ttf")
    assert f.path == str(BUNDLED["regular"]) and f.size == 20


def test_storyboard_validation_messages() -> None:
    with pytest.raises(BadInputError) as exc:
        build(Storyboard, {"title": "x", "target_duration_s": 5, "scenes": [{"id": "a", "kind": "chart",
                                                                              "duration_s": 2}]}, field="storyboard")
    assert "chart" in str(exc.value) and exc.value.field.startswith("storyboard.scenes.0")
    board = Storyboard(title="t", target_duration_s=3, scenes=[Scene(id="a", kind="title", title="Hi", duration_s=3)])
    assert board.summary()["scenes"][0]["words"] == 1


def test_upstream_chart_kinds_and_units_are_normalised() -> None:
    upstream = {
        "a": AgentResult(data={"findings": [{"text": "churn rate for One year: 12.7%", "value": 0.127}],
                               "chart_data": {"kind": "barh", "title": "Churn", "labels": ["A", "B", "C"],
                                              "values": [0.453, None, 0.04], "unit": "rate"}}),
        "b": AgentResult(data={"chart_data": {"kind": "scatter", "labels": ["1", "2"], "values": [3, 4]}}),
        "c": AgentResult(data={"chart_data": {"kind": "line", "labels": [f"2024-{m:02d}" for m in range(1, 13)]
                                              + ["2025-01", "2025-02"], "values": list(range(14)), "unit": "count"}}),
    }
    mat = gather([], upstream)
    assert mat.findings == ["churn rate for One year: 12.7%"]
    bar, line = mat.charts
    assert bar.kind == "bar" and bar.labels == ["A", "C"] and bar.format(0.453) == "45.3%"
    assert line.kind == "line" and len(line.values) == 12 and line.labels[-1] == "2025-02"  # the latest points
    with pytest.raises(BadInputError):  # a user's own data is not silently dropped
        gather([TaskInput(data={"chart_data": {"kind": "scatter", "labels": ["1"], "values": [1]}})])


def test_call_to_action_from_brief() -> None:
    from genesis_agents.agents.videogen.planner import cta_text

    assert cta_text("Spring sale; call to action: shop now at example.com", None) == ("Shop now", "example.com")
    assert cta_text("Spring sale. Visit https://ex.com/sale.", None) == ("Learn more", "https://ex.com/sale")
    assert cta_text("Spring sale", "book a demo") == ("Book a demo", "")
    assert cta_text("Spring sale", None) == ("Thanks for watching", "")
