"""The VISTA loop: a flawed storyboard is rendered, measured, refined and re-rendered until it passes."""

from __future__ import annotations

import json
from pathlib import Path

from genesis_agents.agents.videogen import (
    ChartSpec,
    RenderSettings,
    Scene,
    Storyboard,
    inspect_video,
    run_vista,
)
from genesis_agents.agents.videogen.critics import inspect_indices, read_chart

from .conftest import CHURN


def test_low_contrast_theme_is_fixed_by_refinement(tmp_path: Path, small: RenderSettings) -> None:
    grey = {"background": "#6b6b6b", "background2": "#707070", "text": "#8a8a8a", "muted": "#7a7a7a",
            "accent": "#1d4ed8"}
    board = Storyboard(title="Grey", target_duration_s=8.0, theme=grey, scenes=[
        Scene(id="t", kind="title", title="Quarterly results", subtitle="Sales team update", duration_s=3.5),
        Scene(id="b", kind="bullets", title="Highlights", bullets=["Revenue up 12%", "Churn down to 4%"],
              duration_s=4.5),
    ])
    out = run_vista(board, small, tmp_path, max_rounds=2)
    assert not out.before.get("legibility").passed
    assert out.after.get("legibility").passed, [i.message for i in out.after.issues]
    assert out.after.overall > out.before.overall
    assert len(out.rounds) >= 2 and out.rounds[0].actions
    assert any("text colour" in a for a in out.rounds[0].actions)
    assert out.board.source == "refined"
    # outputs exist and describe the delivered round
    assert out.video.name == "video.mp4" and out.subtitles.read_text().startswith("1\n")
    saved = json.loads(out.storyboard_json.read_text())
    assert saved["critique"]["after"]["passed"] is True
    assert saved["history"][0]["scores"]["legibility"] < 1.0
    assert not list(tmp_path.glob(".round*.mp4"))  # intermediate renders are cleaned up


def test_unfinished_chart_and_rushed_scene_are_retimed(tmp_path: Path, small: RenderSettings) -> None:
    board = Storyboard(title="Churn", target_duration_s=14.0, scenes=[
        Scene(id="t", kind="title", title="Churn", duration_s=6.0),
        Scene(id="c", kind="chart", chart=ChartSpec(**CHURN), duration_s=2.0, reveal_s=2.0),
        Scene(id="e", kind="cta", title="Offer annual plans", duration_s=6.0),
    ])
    out = run_vista(board, small, tmp_path, max_rounds=3)
    before = {r.name: r.passed for r in out.before.results}
    assert before["fidelity"] is False and before["pacing"] is False
    assert out.after.passed, [i.message for i in out.after.issues]
    assert abs(out.chosen.info.duration_s - 14.0) < 1e-6
    # the delivered video really shows the data
    idx = inspect_indices(out.chosen.scenes)
    _, frames, _ = inspect_video(out.video, idx)
    sf = next(s for s in out.chosen.scenes if s.chart is not None)
    drawn = read_chart(frames[idx[out.chosen.scenes.index(sf)]], sf.chart)
    assert all(abs(d - v) < 0.02 * 42.7 for d, v in zip(drawn, CHURN["values"]))


def test_overflow_is_split_into_scenes(tmp_path: Path, small: RenderSettings) -> None:
    words = "Customers on monthly plans leave far more often than customers on yearly plans"
    board = Storyboard(title="Split", target_duration_s=40.0, scenes=[
        Scene(id="b", kind="bullets", title="Findings", duration_s=40.0, reveal_s=0.3,
              bullets=[f"{words} ({i})" for i in range(4)]),
    ])
    out = run_vista(board, small, tmp_path, max_rounds=2)
    assert any(i.code == "overflow" for i in out.before.issues)
    assert [s.kind for s in out.board.scenes] == ["bullets", "bullets"]
    assert out.after.get("legibility").passed


def test_flash_between_bright_image_and_dark_title_gets_a_longer_fade(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    white = tmp_path / "white.png"
    Image.fromarray(np.full((300, 480, 3), 245, np.uint8)).save(white)
    settings = RenderSettings(width=320, height=180, fps=8, preset="ultrafast", narration="off")
    board = Storyboard(title="t", target_duration_s=6.0, scenes=[
        Scene(id="i", kind="image", image_path=str(white), title="Bright", backdrop=True, duration_s=3.0),
        Scene(id="t", kind="title", title="Dark title", duration_s=3.0)])
    out = run_vista(board, settings, tmp_path / "out", max_rounds=2)
    first = out.before.get("temporal")
    assert not first.passed and first.details["max_delta"] > 0.12
    assert out.rounds[0].actions == ["i: longer cross-fade (1.0s)"]  # one edit per scene and problem
    assert out.after.get("temporal").passed and out.board.scenes[0].fade_s >= 1.0
    assert out.after.get("duration").passed  # a longer fade does not change the length
