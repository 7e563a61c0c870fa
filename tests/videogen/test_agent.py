"""VideoGenAgent end to end with a real context (in-process memory), scripted LLM and real TTS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genesis_agents.agents.videogen import VideoGenAgent, inspect_video
from genesis_agents.agents.videogen.critics import read_chart
from genesis_agents.agents.videogen.models import RenderSettings, Storyboard
from genesis_agents.agents.videogen.narration import tts_binary
from genesis_agents.agents.videogen.render import Timeline
from genesis_agents.infrastructure.contracts import AgentCard, AgentResult, Task, TaskInput
from genesis_agents.infrastructure.errors import BackendUnavailableError, BadInputError, CancelledError
from genesis_agents.infrastructure.llm import ScriptedChatModel

from .conftest import CHURN, FINDINGS, LocalContext

SMALL = {"resolution": "320x180", "fps": 10, "preset": "ultrafast", "narration": "off"}


def test_card_is_complete() -> None:
    card = AgentCard.model_validate(VideoGenAgent.card.model_dump())
    assert card.name == "videogen" and "video" in card.task_types
    outputs = {t for s in card.skills for t in s.output_types}
    assert {"video/mp4", "application/x-subrip", "image/png", "application/json"} <= outputs
    assert all(s.examples and s.description for s in card.skills)
    assert card.accepts(".json") and card.accepts(".png")


async def test_run_produces_artifacts_memory_and_scores(tmp_path: Path, churn_json: Path) -> None:
    task = Task(text="Make a 20 second video of the churn findings for the sales team",
                inputs=[TaskInput(path=churn_json)], params={**SMALL, "max_rounds": 1})
    ctx = LocalContext(task, tmp_path / "art")
    res = await VideoGenAgent().run(task, ctx)
    assert res.status == "ok" and res.agent == "videogen"
    by_type = {a.media_type: a for a in res.artifacts}
    assert set(by_type) == {"video/mp4", "application/x-subrip", "image/png", "application/json"}
    mp4 = by_type["video/mp4"]
    assert mp4.metadata["width"] == 320 and mp4.metadata["height"] == 180 and mp4.metadata["fps"] == 10
    assert mp4.metadata["frames"] == 200 and mp4.metadata["duration_s"] == pytest.approx(20.0)
    info = inspect_video(mp4.path, ())[0]
    assert (info.frames, info.width, info.height, info.audio) == (200, 320, 180, False)
    assert all(Path(a.path).parent == tmp_path / "art" and a.size_bytes > 0 for a in res.artifacts)
    # data: storyboard summary, critique before/after, rounds
    d = res.data
    assert d["storyboard"]["duration_s"] == pytest.approx(20.0) and d["rounds"] >= 1
    assert set(d["critique"]["before"]) == {"legibility", "temporal", "pacing", "duration", "fidelity", "overall"}
    assert d["critique"]["after"]["fidelity"] == 1.0 and d["critique"]["after"]["legibility"] == 1.0
    # the storyboard JSON carries the real numbers
    saved = json.loads(Path(by_type["application/json"].path).read_text())
    charts = [s["chart"] for s in saved["storyboard"]["scenes"] if s["kind"] == "chart"]
    assert charts and charts[0]["values"] == CHURN["values"] and charts[0]["labels"] == CHURN["labels"]
    # remembered in shared memory
    hits = await ctx.memory.recall("video storyboard churn", k=3)
    assert hits and hits[0].item.id == d["memory_id"] and hits[0].item.source_agent == "videogen"
    assert "storyboard" in hits[0].item.tags
    facts = await ctx.memory.neighbours("Churn rate by contract")
    assert any(t.predicate == "shown_in_video" for t in facts)
    assert ctx.events and ctx.events[-1][1] is not None


async def test_upstream_analysis_numbers_are_drawn(tmp_path: Path) -> None:
    upstream = {"analyse": AgentResult(agent="deepanalyze", data={
        "findings": FINDINGS[:2],
        "chart_data": {"title": "Churn by tenure", "labels": ["0-12 mo", "13-24 mo", "25+ mo"],
                       "values": [47.4, 28.7, 11.9], "unit": "%"}})}
    task = Task(text="Analyse the churn table and make a video of the findings", params={**SMALL, "duration_s": 14})
    ctx = LocalContext(task, tmp_path / "art", upstream=upstream)
    res = await VideoGenAgent().run(task, ctx)
    saved = json.loads(Path(next(a.path for a in res.artifacts if a.name == "storyboard.json")).read_text())
    board = Storyboard.model_validate(saved["storyboard"])
    settings = RenderSettings.model_validate(saved["settings"])
    timeline = Timeline(board, settings)
    sf = next(s for s in timeline.scenes if s.chart is not None)
    idx = max(sf.start, sf.fade_start - 1)
    _, frames, _ = inspect_video(next(a.path for a in res.artifacts if a.name == "video.mp4"), [idx])
    drawn = read_chart(frames[idx], sf.chart)
    assert sf.chart.values == [47.4, 28.7, 11.9]
    assert all(abs(d - v) <= 0.02 * 47.4 for d, v in zip(drawn, [47.4, 28.7, 11.9]))
    assert board.scenes[0].title == "Churn by tenure"
    assert [b for s in board.scenes for b in s.bullets] == FINDINGS[:2]


async def test_llm_planner_valid_repaired_and_rejected(tmp_path: Path) -> None:
    good = {"title": "Churn story", "scenes": [
        {"kind": "title", "title": "Churn story", "subtitle": "Q3 review"},
        {"kind": "chart", "chart": 0, "narration": "Month-to-month contracts churn most."},
        {"kind": "cta", "title": "Move customers to annual plans"}]}
    bad_index = {"title": "x", "scenes": [{"kind": "title", "title": "x"}, {"kind": "chart", "chart": 5}]}
    data = [TaskInput(data={"chart_data": CHURN})]
    # 1) valid on first try, wrapped in a code fence
    llm = ScriptedChatModel(replies=["Here you go:\n```json\n" + json.dumps(good) + "\n```"])
    task = Task(text="A short video about churn", inputs=data, params={**SMALL, "duration_s": 12, "max_rounds": 0})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path / "a", llm=llm))
    assert res.data["storyboard"]["source"] == "llm"
    assert [s["kind"] for s in res.data["storyboard"]["scenes"]] == ["title", "chart", "cta"]
    assert "DATASETS" in llm.calls[0] and "42.7" in llm.calls[0]
    # 2) an invalid reply is repaired with the validation error
    llm = ScriptedChatModel(replies=[json.dumps(bad_index), json.dumps(good)])
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path / "b", llm=llm))
    assert res.data["storyboard"]["source"] == "llm" and "index below 1" in llm.calls[1]
    # 3) invalid twice: deterministic fallback, and the storyboard says why
    llm = ScriptedChatModel(replies=["not json", json.dumps({"title": "x"})])
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path / "c", llm=llm))
    assert res.data["storyboard"]["source"] == "deterministic"
    assert any("llm plan rejected" in n for n in res.data["storyboard"]["notes"])


async def test_foreign_params_are_set_aside_and_reported(tmp_path: Path) -> None:
    """In a plan, DeepAnalyze's params reach VideoGen too: they are reported, not fatal."""
    task = Task(text="A 6 second video about params",
                params={**SMALL, "table": "customers", "horizon": 3, "videogen": {"max_rounds": 0, "fps": 8}})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path))
    assert res.data["ignored_params"] == ["horizon", "table"]
    assert any("ignored params: horizon, table" in n for n in res.data["storyboard"]["notes"])
    assert res.data["video"]["fps"] == 8 and res.data["rounds"] == 1  # the scoped values win


async def test_user_storyboard_is_rendered(tmp_path: Path) -> None:
    sb = {"title": "Mine", "target_duration_s": 6, "scenes": [
        {"id": "a", "kind": "title", "title": "Hello", "duration_s": 3},
        {"id": "b", "kind": "cta", "title": "Bye", "subtitle": "example.com", "duration_s": 3}]}
    task = Task(text="Render my storyboard", params={**SMALL, "storyboard": sb, "max_rounds": 0})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path))
    assert res.data["storyboard"]["source"] == "user" and res.data["video"]["frames"] == 60


@pytest.mark.parametrize("params, field", [
    ({"resolution": "1000x1000"}, "params"),
    ({"resolution": "big"}, "params.resolution"),
    ({"fps": 7}, "params"),
    ({"videogen": {"colour": "red"}}, "params.videogen.colour"),
    ({"videogen": {"fps": "fast"}}, "params.videogen.fps"),
])
async def test_bad_params(tmp_path: Path, params: dict, field: str) -> None:
    task = Task(text="A video", params=params)
    with pytest.raises(BadInputError) as exc:
        await VideoGenAgent().run(task, LocalContext(task, tmp_path))
    assert exc.value.field == field


async def test_cancelled_run_stops(tmp_path: Path) -> None:
    task = Task(text="A video about cancellation", params=SMALL)
    ctx = LocalContext(task, tmp_path)
    ctx.cancel = True
    with pytest.raises(CancelledError):
        await VideoGenAgent().run(task, ctx)


async def test_silent_when_narration_off_and_error_when_required_but_missing(tmp_path: Path, monkeypatch) -> None:
    task = Task(text="A 6 second video about quiet", params={**SMALL, "max_rounds": 0})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path / "a"))
    assert res.data["narration"] is False and res.data["video"]["audio"] is False
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on this PATH
    task = Task(text="A 6 second video about quiet", params={**SMALL, "narration": "on"})
    with pytest.raises(BackendUnavailableError) as exc:
        await VideoGenAgent().run(task, LocalContext(task, tmp_path / "b"))
    assert "espeak-ng" in str(exc.value)
    task = Task(text="A 6 second video about quiet", params={**SMALL, "narration": "auto", "max_rounds": 0})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path / "c"))
    assert res.data["narration"] is False and res.data["video"]["audio"] is False


@pytest.mark.skipif(tts_binary() is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
async def test_narration_track_with_espeak(tmp_path: Path) -> None:
    task = Task(text="Make a 10 second video about churn", inputs=[TaskInput(data={"findings": FINDINGS[:2]})],
                params={**SMALL, "narration": "on", "max_rounds": 1})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path))
    mp4 = next(a for a in res.artifacts if a.media_type == "video/mp4")
    info = inspect_video(mp4.path, ())[0]
    assert info.audio and res.data["narration"] is True
    assert abs(info.audio_duration_s - info.duration_s) < 0.3
    import av
    import numpy as np

    with av.open(mp4.path) as c:
        samples = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
    assert np.abs(samples).max() > 0.05  # real speech, not silence
    assert res.data["critique"]["after"]["pacing"] == 1.0  # scenes are long enough for the speech


async def test_deepanalyze_then_videogen_uses_the_analysis(tmp_path: Path) -> None:
    """The analysis' real chart_data and findings (DeepAnalyze's format) end up drawn in the video."""
    from genesis_agents.agents.deepanalyze import DeepAnalyzeAgent

    churn_csv = Path(__file__).resolve().parents[2] / "examples" / "data" / "churn.csv"
    t1 = Task(text="churn rate by contract", inputs=[TaskInput(path=churn_csv)])
    ctx1 = LocalContext(t1, tmp_path / "da")
    analysis = await DeepAnalyzeAgent().run(t1, ctx1)
    chart = analysis.data["chart_data"]
    t2 = Task(text="Analyse the churn table and make a video of the findings", params={**SMALL, "duration_s": 20})
    res = await VideoGenAgent().run(t2, LocalContext(t2, tmp_path / "vg", upstream={"analyse": analysis}))
    saved = json.loads(Path(next(a.path for a in res.artifacts if a.name == "storyboard.json")).read_text())
    board = Storyboard.model_validate(saved["storyboard"])
    spec = next(s.chart for s in board.scenes if s.chart is not None)
    assert spec.labels == chart["labels"] and spec.values == pytest.approx(chart["values"])
    texts = [f["text"] for f in analysis.data["findings"]]
    bullets = [b for s in board.scenes for b in s.bullets]
    assert [b.lower() for b in bullets] == [t.lower() for t in texts][: len(bullets)] and bullets
    assert res.data["critique"]["after"]["fidelity"] == 1.0


async def test_missing_custom_font_falls_back_with_a_note(tmp_path: Path) -> None:
    bad_font = tmp_path / "Brand.ttf"
    bad_font.write_bytes(b"not a font")
    task = Task(text="A 6 second video about fonts", params={**SMALL, "font": str(bad_font), "max_rounds": 0})
    res = await VideoGenAgent().run(task, LocalContext(task, tmp_path / "a"))
    assert any("not readable" in n for n in res.data["storyboard"]["notes"])
    assert res.data["critique"]["after"]["legibility"] == 1.0


async def test_cancel_mid_render_cleans_up(tmp_path: Path) -> None:
    task = Task(text="A 10 second video about cancelling", params={**SMALL, "max_rounds": 0})
    ctx = LocalContext(task, tmp_path / "art")
    original = ctx.emit

    def emit(message: str = "", *, progress=None, **data) -> None:
        original(message, progress=progress, **data)
        if "frame" in message:  # the user cancels once frames are being rendered
            ctx.cancel = True

    ctx.emit = emit  # type: ignore[method-assign]
    with pytest.raises(CancelledError):
        await VideoGenAgent().run(task, ctx)
    assert any("frame" in m for m, _ in ctx.events)
    assert not list((tmp_path / "art").glob("*.mp4")) and not list((tmp_path / "art").glob(".round*"))


async def test_duration_follows_content_when_not_given(tmp_path: Path) -> None:
    thin = Task(text="Make a video about our new invoicing app", params={**SMALL, "max_rounds": 0})
    res = await VideoGenAgent().run(thin, LocalContext(thin, tmp_path / "a"))
    assert 6.0 <= res.data["video"]["duration_s"] < 20.0  # two short scenes would drag over 20 s
    assert res.data["critique"]["after"]["pacing"] == 1.0
    rich = Task(text="Make a video of the findings", inputs=[TaskInput(data={"findings": FINDINGS, "chart_data": CHURN})],
                params={**SMALL, "max_rounds": 0})
    res = await VideoGenAgent().run(rich, LocalContext(rich, tmp_path / "b"))
    assert res.data["video"]["duration_s"] == 20.0


async def test_timeout_stops_the_render_thread(tmp_path: Path) -> None:
    """asyncio cancellation (a task timeout) must not leave a thread rendering in the background."""
    import asyncio

    task = Task(text="A 20 second video about timeouts", params={**SMALL, "resolution": "640x360", "fps": 24,
                                                                 "max_rounds": 0, "duration_s": 20})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(VideoGenAgent().run(task, LocalContext(task, tmp_path)), timeout=0.5)
    # a render left running would finish 480 frames and write video.mp4; a stopped one cleans up its file
    for _ in range(40):
        await asyncio.sleep(0.05)
        assert not (tmp_path / "video.mp4").exists()
    assert not list(tmp_path.glob(".round*.mp4"))
