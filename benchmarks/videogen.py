"""VideoGen benchmark: rendering and encoding throughput, measured separately.

    python benchmarks/videogen.py                 # both cases, JSON printed and saved
    python benchmarks/videogen.py --quick         # only the 30-frame 720p case
    python benchmarks/videogen.py --out results/videogen.json

Case 1 — 30 frames at 1280x720 (goal: <= 2 s on 2 cores, render + encode). Baselines, measured in the
same run: rendering and encoding one after the other instead of overlapped; the same frames rendered
without the per-scene layout cache (layout, text wrapping and glyph masks redone for every frame); and
the same frames encoded with x264's default preset ('medium').
Render fps is measured rendering alone (no encoder running); encode fps is the encoder alone on
pre-rendered frames (case 1) or the time spent inside the encoder during the overlapped run (case 2).
Case 2 — a 20-second 1080p video planned from data (title, findings, animated chart, call to action),
rendered, encoded, decoded and critiqued once; render fps, encode fps and critique time are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from genesis_agents.agents.videogen import (
    ChartSpec,
    RenderSettings,
    Scene,
    Storyboard,
    encode,
    gather,
    plan_storyboard,
)
from genesis_agents.agents.videogen.pipeline import render_round
from genesis_agents.agents.videogen.render import Timeline
from genesis_agents.agents.videogen.render.scenes import renderer_for
from genesis_agents.infrastructure.contracts import TaskInput

CHURN = {"title": "Churn rate by contract", "labels": ["Month-to-month", "One year", "Two year"],
         "values": [42.7, 11.3, 2.8], "unit": "%"}
FINDINGS = ["Month-to-month customers churn at 42.7%", "Two-year contracts churn at only 2.8%",
            "Fiber optic customers churn more than DSL customers"]
GOAL_30_FRAMES_S = 2.0


def _thirty_frame_board() -> Storyboard:
    """30 frames at 30 fps: a bullet reveal cross-fading into an animated chart (every frame animates)."""
    return Storyboard(title="bench", target_duration_s=1.0, scenes=[
        Scene(id="b", kind="bullets", title="Key findings", bullets=FINDINGS, duration_s=0.5, reveal_s=0.12),
        Scene(id="c", kind="chart", chart=ChartSpec(**CHURN), duration_s=0.5, reveal_s=0.2),
    ])


def _render_only(board: Storyboard, settings: RenderSettings) -> tuple[float, int]:
    """Seconds to lay out and render every frame (converted to arrays, as the encoder needs), no encoding."""
    t0 = time.perf_counter()
    n = 0
    for img in Timeline(board, settings).frames():
        np.asarray(img)
        n += 1
    return time.perf_counter() - t0, n


def case_30_frames(reps: int) -> dict:
    settings = RenderSettings(width=1280, height=720, fps=30, narration="off")
    board = _thirty_frame_board()
    with tempfile.TemporaryDirectory() as tmp:
        total, render, enc, sequential, uncached, medium_enc = [], [], [], [], [], []
        frames_cache = [np.asarray(f) for f in Timeline(board, settings).frames()]
        medium = settings.model_copy(update={"preset": "medium"})
        for _ in range(reps):
            t0 = time.perf_counter()  # the goal: plan layout + render + encode, overlapped
            encode(Timeline(board, settings).frames(), Path(tmp) / "v.mp4", settings)
            total.append(time.perf_counter() - t0)
            render.append(_render_only(board, settings)[0])
            enc.append(encode(frames_cache, Path(tmp) / "e.mp4", settings, prefetch=False).encode_s)
            t0 = time.perf_counter()  # baseline: render and encode one after the other
            encode(Timeline(board, settings).frames(), Path(tmp) / "s.mp4", settings, prefetch=False)
            sequential.append(time.perf_counter() - t0)
            timeline = Timeline(board, settings)  # baseline: no layout cache (renderer rebuilt per frame)
            t0 = time.perf_counter()
            for sf, scene in zip(timeline.scenes, board.scenes):
                for f in range(sf.start, sf.end):
                    np.asarray(renderer_for(scene, settings, board.theme).frame((f - sf.start) / settings.fps))
            uncached.append(time.perf_counter() - t0)
            medium_enc.append(encode(frames_cache, Path(tmp) / "m.mp4", medium, prefetch=False).encode_s)
    n = len(frames_cache)
    med = statistics.median
    return {
        "case": "30 frames 1280x720", "frames": n, "reps": reps, "encode_preset": settings.preset,
        "total_s": round(med(total), 3), "goal_s": GOAL_30_FRAMES_S, "meets_goal": med(total) <= GOAL_30_FRAMES_S,
        "render_fps": round(n / med(render), 1),
        "encode_fps": round(n / med(enc), 1),
        "baseline_sequential_total_s": round(med(sequential), 3),
        "baseline_uncached_render_fps": round(n / med(uncached), 1),
        "baseline_encode_fps_preset_medium": round(n / med(medium_enc), 1),
    }


def case_1080p_20s() -> dict:
    settings = RenderSettings(width=1920, height=1080, fps=24, narration="off")
    material = gather([TaskInput(data={"findings": FINDINGS, "chart_data": CHURN})])
    board = plan_storyboard("Make a 20 second video of the churn findings for the sales team", material, settings,
                            duration_s=20)
    render_s, n = _render_only(board, settings)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = render_round(board, settings, Path(tmp) / "v.mp4", narration=None)
        total = time.perf_counter() - t0
        size = (Path(tmp) / "v.mp4").stat().st_size
    encode_total = r.stats.wall_s
    return {
        "case": "20 s 1920x1080 @ 24 fps", "frames": r.info.frames, "duration_s": round(r.info.duration_s, 3),
        "render_fps": round(n / render_s, 1), "encode_fps": round(r.stats.encode_fps, 1),
        "pipelined_fps": round(r.stats.wall_fps, 1), "render_and_encode_s": round(r.stats.wall_s, 2),
        "decode_and_critique_s": round(total - encode_total, 2), "total_s": round(total, 2),
        "realtime_factor": round(r.info.duration_s / encode_total, 2),
        "file_mb": round(size / 1e6, 2), "critique": r.critique.scores(), "passed": r.critique.passed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the 30-frame case")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results") / "videogen.json")
    args = ap.parse_args()
    report = {
        "benchmark": "videogen",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "pyav": av.__version__,
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "cases": [case_30_frames(args.reps)] + ([] if args.quick else [case_1080p_20s()]),
    }
    text = json.dumps(report, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
