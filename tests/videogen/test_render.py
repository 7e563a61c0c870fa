"""Rendering and encoding, checked by decoding the MP4 with PyAV and measuring the frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from genesis_agents.agents.videogen import ChartSpec, RenderSettings, Scene, Storyboard, encode, inspect_video
from genesis_agents.agents.videogen.critics import Evidence, critique, inspect_indices, read_chart
from genesis_agents.agents.videogen.critics.temporal import temporal
from genesis_agents.agents.videogen.pipeline import render_round
from genesis_agents.agents.videogen.render import Timeline
from genesis_agents.agents.videogen.subtitles import build_srt, parse_srt

from .conftest import CHURN


def _board(*scenes: Scene, **kw) -> Storyboard:
    return Storyboard(title="Test", target_duration_s=round(sum(s.duration_s for s in scenes), 6),
                      scenes=list(scenes), **kw)


def _churn_board() -> Storyboard:
    return _board(
        Scene(id="t", kind="title", title="Customer churn", subtitle="What the data says", duration_s=3.2),
        Scene(id="c", kind="chart", chart=ChartSpec(**CHURN), duration_s=4.8, reveal_s=0.4),
    )


def test_mp4_frames_resolution_duration_and_legibility(tmp_path: Path, small: RenderSettings) -> None:
    board = _churn_board()
    r = render_round(board, small, tmp_path / "v.mp4", narration=None)
    info = r.info
    assert (info.width, info.height) == (320, 180)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p" and not info.audio
    assert info.frames == 80 and info.fps == 10 and info.duration_s == pytest.approx(8.0)
    leg = r.critique.get("legibility")
    assert leg.passed, [i.message for i in leg.issues]
    assert leg.details["min_contrast"] >= 4.5
    assert leg.details["min_text_px"] >= small.min_text_px
    assert r.critique.passed, r.critique.report()["issues"]


def test_chart_frames_encode_the_data(tmp_path: Path, small: RenderSettings) -> None:
    values = [12.0, -4.5, 30.25, 0.0, 18.0]
    bar = Scene(id="bar", kind="chart", duration_s=3.0, reveal_s=0.4,
                chart=ChartSpec(title="Margin by product", labels=list("ABCDE"), values=values, unit="%"))
    line = Scene(id="line", kind="chart", duration_s=3.0, reveal_s=0.4,
                 chart=ChartSpec(kind="line", title="Monthly users", labels=["Jan", "Feb", "Mar", "Apr"],
                                 values=[120.0, 180.0, 150.0, 240.0]))
    settings = RenderSettings(width=640, height=360, fps=10, preset="ultrafast", narration="off")
    board = _board(bar, line)
    timeline = Timeline(board, settings)
    path = tmp_path / "chart.mp4"
    encode(timeline.frames(), path, settings)
    idx = inspect_indices(timeline.scenes)
    _, frames, _ = inspect_video(path, idx)
    for sf, i in zip(timeline.scenes, idx):
        drawn = read_chart(frames[i], sf.chart)
        span = sf.chart.vmax - sf.chart.vmin
        for want, got in zip(sf.chart.values, drawn):
            assert got is not None and abs(got - want) <= 0.02 * span, (sf.scene_id, want, got)
    # the critic must fail when the drawn chart does not match the data it is told about
    sf = timeline.scenes[0]
    sf.chart.values = [v * 1.5 + 5 for v in values]
    info, frames, thumbs = inspect_video(path, idx)
    ev = Evidence(path=str(path), info=info, board=board, settings=settings, scenes=timeline.scenes, frames=frames,
                  thumbs=thumbs)
    fid = critique(ev, ["fidelity"]).get("fidelity")
    assert not fid.passed and fid.score < 0.5


def test_chart_still_growing_is_caught(tmp_path: Path, small: RenderSettings) -> None:
    slow = Scene(id="c", kind="chart", chart=ChartSpec(**CHURN), duration_s=2.0, reveal_s=2.5)
    r = render_round(_board(slow), small, tmp_path / "v.mp4", narration=None)
    fid = r.critique.get("fidelity")
    assert not fid.passed and any(i.code == "value_mismatch" for i in fid.issues)
    assert any(i.code == "not_settled" for i in r.critique.get("legibility").issues)


def test_low_contrast_is_measured(tmp_path: Path, small: RenderSettings) -> None:
    grey = {"background": "#6b6b6b", "background2": "#6b6b6b", "text": "#8a8a8a", "muted": "#7a7a7a",
            "accent": "#38bdf8"}
    board = _board(Scene(id="t", kind="title", title="Hard to read", subtitle="grey on grey", duration_s=2.0),
                   theme=grey)
    r = render_round(board, small, tmp_path / "v.mp4", narration=None)
    leg = r.critique.get("legibility")
    assert not leg.passed
    low = [i for i in leg.issues if i.code == "low_contrast"]
    assert low and all(i.data["contrast"] < 2.0 for i in low)


def test_temporal_critic_flags_a_flash_but_not_a_cut(tmp_path: Path, small: RenderSettings) -> None:
    dark = np.full((180, 320, 3), 20, np.uint8)
    frames = [dark] * 10 + [np.full((180, 320, 3), 235, np.uint8)] + [dark] * 9
    path = tmp_path / "flash.mp4"
    encode(frames, path, small)
    board = _board(Scene(id="a", kind="title", title="A", duration_s=1.0),
                   Scene(id="b", kind="title", title="B", duration_s=1.0))
    timeline = Timeline(board, small)
    info, full, thumbs = inspect_video(path)
    ev = Evidence(path=str(path), info=info, board=board, settings=small, scenes=timeline.scenes, frames=full,
                  thumbs=thumbs)
    res = temporal(ev)
    assert not res.passed and {i.data["frame"] for i in res.issues} == {9, 10}
    # the same change at a storyboard cut is intended
    board_cut = _board(Scene(id="a", kind="title", title="A", duration_s=1.1, transition="cut"),
                       Scene(id="b", kind="title", title="B", duration_s=0.9))
    frames = [dark] * 11 + [np.full((180, 320, 3), 235, np.uint8)] * 9
    encode(frames, path, small)
    info, full, thumbs = inspect_video(path)
    ev = Evidence(path=str(path), info=info, board=board_cut, settings=small, scenes=Timeline(board_cut, small).scenes,
                  frames=full, thumbs=thumbs)
    assert temporal(ev).passed


def test_image_scene_pans_smoothly(tmp_path: Path, small: RenderSettings, photo: Path) -> None:
    board = _board(Scene(id="img", kind="image", image_path=str(photo), title="Product shot", backdrop=True,
                         pan=(0.8, 0.3), zoom=(1.0, 1.3), duration_s=3.0))
    r = render_round(board, small, tmp_path / "v.mp4", narration=None)
    assert r.critique.get("temporal").passed and r.critique.get("legibility").passed
    _, _, thumbs = inspect_video(r.path)
    deltas = np.abs(np.diff(thumbs, axis=0)).mean(axis=(1, 2))
    assert (deltas[3:-3] > 0.0005).mean() > 0.8  # the camera really moves
    assert deltas.max() < 0.12


def test_unreadable_image_in_storyboard(tmp_path: Path, small: RenderSettings) -> None:
    from genesis_agents.infrastructure.errors import BadInputError

    bad = tmp_path / "x.png"
    bad.write_text("nope")
    board = _board(Scene(id="img", kind="image", image_path=str(bad), duration_s=2.0))
    with pytest.raises(BadInputError) as exc:
        Timeline(board, small)
    assert exc.value.field == "scene[img].image_path"


def test_720p_render_is_legible(tmp_path: Path) -> None:
    settings = RenderSettings(width=1280, height=720, fps=8, preset="ultrafast", narration="off")
    board = _board(Scene(id="b", kind="bullets", title="Key findings", duration_s=2.0, reveal_s=0.3,
                         bullets=["Month-to-month customers churn at 42.7%", "Two-year contracts churn at 2.8%"]))
    r = render_round(board, settings, tmp_path / "v.mp4", narration=None)
    assert (r.info.width, r.info.height, r.info.frames) == (1280, 720, 16)
    leg = r.critique.get("legibility")
    assert leg.passed, [i.message for i in leg.issues]
    assert leg.details["min_text_px"] >= settings.min_text_px >= 18


def test_overflowing_text_is_caught(tmp_path: Path, small: RenderSettings) -> None:
    long = " ".join(["extraordinarily"] * 5)
    board = _board(Scene(id="b", kind="bullets", title="Too much", duration_s=3.0, reveal_s=0.2,
                         bullets=[long + " one", long + " two", long + " three", long + " four"]))
    r = render_round(board, small, tmp_path / "v.mp4", narration=None)
    assert any(i.code == "overflow" for i in r.critique.get("legibility").issues)


def test_srt_matches_timeline(small: RenderSettings) -> None:
    board = _churn_board()
    board.scenes[0].narration = "Customer churn. What the data says, in one short video for the whole sales team."
    starts = [sf.start / small.fps for sf in Timeline(board, small).scenes]
    cues = parse_srt(build_srt(board, starts))
    assert len(cues) >= 2
    assert all(a < b for a, b, _ in cues) and all(cues[i][1] <= cues[i + 1][0] + 1e-3 for i in range(len(cues) - 1))
    assert cues[-1][1] <= board.duration_s + 1e-3
    assert "Customer churn" in cues[0][2]


def test_logo_and_cta_stay_legible_inside_safe_area(tmp_path: Path, small: RenderSettings) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGBA", (120, 60), (250, 200, 40, 255)).save(logo)
    board = _board(Scene(id="t", kind="title", title="Spring sale", subtitle="30% off", duration_s=3.0),
                   Scene(id="e", kind="cta", title="Shop now", subtitle="example.com", duration_s=3.0),
                   logo_path=str(logo), theme={"accent": "#fde047"})
    r = render_round(board, small, tmp_path / "v.mp4", narration=None)
    leg = r.critique.get("legibility")
    assert leg.passed, [i.message for i in leg.issues]
    frame = r.frames[inspect_indices(r.scenes)[0]]
    _, sy0, sx1, _ = small.safe_rect
    yellow = (frame[..., 0] > 200) & (frame[..., 1] > 160) & (frame[..., 2] < 120)
    ys, xs = np.nonzero(yellow)
    assert len(ys) > 50 and xs.max() < sx1 + 1 and ys.min() >= sy0 - 1  # the logo is drawn, inside the safe area
