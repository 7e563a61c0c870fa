"""VideoGen: brief -> storyboard -> rendered H.264 MP4 with a VISTA critique-and-refine loop.

Public API: ``VideoGenAgent`` (the Genesis agent), ``Storyboard``/``Scene``/``ChartSpec``/``RenderSettings``
(the models), ``plan_storyboard`` (deterministic planner), ``plan_with_llm`` (LLM planner),
``render_video`` (plan-free rendering of a storyboard with critique and refinement), and the critics.
"""

from __future__ import annotations

from pathlib import Path

from .agent import VideoGenAgent, VideoParams
from .critics import CRITICS, CriticResult, Critique, Evidence, Issue, critique
from .encoder import VideoInfo, encode, inspect_video, probe
from .inputs import Material, gather
from .models import SUPPORTED_FPS, SUPPORTED_RESOLUTIONS, ChartSpec, RenderSettings, Scene, Storyboard, Theme
from .pipeline import VideoOutput, run_vista
from .planner import allocate_durations, plan_storyboard


def render_video(board: Storyboard, out_dir: str | Path, settings: RenderSettings | None = None, *,
                 max_rounds: int = 2) -> VideoOutput:
    """Render ``board`` into ``out_dir`` (video.mp4, video.srt, poster.png, storyboard.json), critiquing and
    refining it up to ``max_rounds`` times. Synchronous; CPU-bound."""
    return run_vista(board, settings or RenderSettings(), Path(out_dir), max_rounds=max_rounds)


__all__ = [
    "CRITICS",
    "SUPPORTED_FPS",
    "SUPPORTED_RESOLUTIONS",
    "ChartSpec",
    "CriticResult",
    "Critique",
    "Evidence",
    "Issue",
    "Material",
    "RenderSettings",
    "Scene",
    "Storyboard",
    "Theme",
    "VideoGenAgent",
    "VideoInfo",
    "VideoOutput",
    "VideoParams",
    "allocate_durations",
    "critique",
    "encode",
    "gather",
    "inspect_video",
    "plan_storyboard",
    "probe",
    "render_video",
    "run_vista",
]
