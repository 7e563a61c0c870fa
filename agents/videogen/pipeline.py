"""The VISTA loop: render -> critique (on the decoded video) -> refine -> re-render, up to N rounds.

Synchronous and CPU-bound by design (Pillow and x264 do the work); the agent runs it in a worker thread.
Every round's scores are kept, the best-scoring round is delivered, and the first and delivered rounds'
scores are reported as "before" and "after".
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_agents.infrastructure.errors import BadInputError
from PIL import Image

from .critics import Critique, Evidence, critique, inspect_indices
from .encoder import EncodeStats, VideoInfo, encode, inspect_video
from .models import RenderSettings, Storyboard
from .narration import Narration, wants_narration
from .planner import allocate_durations
from .refine import refine
from .render import Timeline
from .subtitles import write_srt

ProgressFn = Callable[[str, float], None]


@dataclass
class Round:
    index: int
    board: Storyboard
    critique: Critique
    path: Path
    stats: EncodeStats
    info: VideoInfo
    scenes: list
    frames: dict
    speech_s: dict[str, float] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"round": self.index, "scores": self.critique.scores(), "passed": self.critique.passed,
                "issues": len(self.critique.issues), "refinements": self.actions,
                "render_fps": round(self.stats.render_fps, 1), "encode_fps": round(self.stats.encode_fps, 1),
                "seconds": round(self.seconds, 2)}


@dataclass
class VideoOutput:
    video: Path
    subtitles: Path
    poster: Path
    storyboard_json: Path
    board: Storyboard
    rounds: list[Round]
    chosen: Round
    narrated: bool

    @property
    def before(self) -> Critique:
        return self.rounds[0].critique

    @property
    def after(self) -> Critique:
        return self.chosen.critique

    def data(self) -> dict[str, Any]:
        info = self.chosen.info
        return {
            "storyboard": self.board.summary(),
            "critique": {"before": self.before.scores(), "after": self.after.scores(),
                         "passed": self.after.passed, "issues": [i.message for i in self.after.issues][:20]},
            "rounds": len(self.rounds),
            "chosen_round": self.chosen.index,
            "history": [r.summary() for r in self.rounds],
            "video": {"width": info.width, "height": info.height, "fps": info.fps, "frames": info.frames,
                      "duration_s": round(info.duration_s, 3), "codec": info.codec, "pix_fmt": info.pix_fmt,
                      "audio": info.audio},
            "narration": self.narrated,
        }


def render_round(board: Storyboard, settings: RenderSettings, path: Path, *, narration: Narration | None,
                 index: int = 0, on_frame: Callable[[int, int], None] | None = None) -> Round:
    """Render, encode, decode and critique one storyboard."""
    t0 = time.perf_counter()
    speech = narration.prepare(board) if narration else {}
    timeline = Timeline(board, settings)
    starts = [sf.start / settings.fps for sf in timeline.scenes]
    audio = narration.track(board, starts, timeline.duration_s) if narration else None
    total = timeline.total_frames
    stats = encode(timeline.frames(), path, settings, audio=audio[0] if audio else None,
                   sample_rate=audio[1] if audio else 22050,
                   on_frame=(lambda i: on_frame(i, total)) if on_frame else None)
    info, frames, thumbs = inspect_video(path, inspect_indices(timeline.scenes))
    ev = Evidence(path=str(path), info=info, board=board, settings=settings, scenes=timeline.scenes,
                  frames=frames, thumbs=thumbs, narration_s=speech)
    crit = critique(ev)
    return Round(index=index, board=board, critique=crit, path=path, stats=stats, info=info,
                 scenes=timeline.scenes, frames=frames, speech_s=speech, seconds=time.perf_counter() - t0)


def run_vista(board: Storyboard, settings: RenderSettings, out_dir: Path, *, max_rounds: int = 2,
              progress: ProgressFn | None = None, check_cancelled: Callable[[], None] | None = None
              ) -> VideoOutput:
    """Plan has been made; render it, critique it and refine it up to ``max_rounds`` times."""
    out_dir.mkdir(parents=True, exist_ok=True)
    narration = Narration(out_dir / ".tts", settings) if wants_narration(settings) else None
    if narration is not None and board.source != "user":
        board, narration = _fit_narration(board, settings, narration, out_dir)
    rounds: list[Round] = []
    n_rounds = max_rounds + 1
    try:
        for k in range(n_rounds):
            if check_cancelled:
                check_cancelled()

            def on_frame(i: int, total: int, k: int = k) -> None:
                if i % 24 == 0 or i == total:
                    if check_cancelled:
                        check_cancelled()
                    if progress:
                        progress(f"round {k + 1}: frame {i}/{total}", min(0.99, (k + i / total) / n_rounds))

            r = render_round(board, settings, out_dir / f".round{k}.mp4", narration=narration, index=k,
                             on_frame=on_frame)
            rounds.append(r)
            if progress:
                progress(f"round {k + 1}: scores {r.critique.scores()}", min(0.99, (k + 1) / n_rounds))
            if r.critique.passed or k == max_rounds:
                break
            new_board, actions = refine(board, r.critique, settings, speech_s=r.speech_s)
            if not actions or new_board.scenes == board.scenes:
                break
            r.actions = actions
            board = new_board
    except BaseException:
        for leftover in out_dir.glob(".round*.mp4"):  # a cancelled or failed run leaves no half-made files
            leftover.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(out_dir / ".tts", ignore_errors=True)

    chosen = max(rounds, key=lambda r: (r.critique.passed, r.critique.overall, r.index))
    video = out_dir / "video.mp4"
    os.replace(chosen.path, video)
    for r in rounds:
        if r is not chosen and r.path.exists():
            r.path.unlink()
    chosen.path = video
    starts = [sf.start / settings.fps for sf in chosen.scenes]
    srt = write_srt(chosen.board, starts, out_dir / "video.srt")
    poster = out_dir / "poster.png"
    _poster(chosen).save(poster)
    out = VideoOutput(video=video, subtitles=srt, poster=poster, storyboard_json=out_dir / "storyboard.json",
                      board=chosen.board, rounds=rounds, chosen=chosen, narrated=narration is not None)
    out.storyboard_json.write_text(json.dumps({
        "storyboard": chosen.board.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "timeline": [{"scene_id": s.scene_id, "start": s.start, "end": s.end, "fade_start": s.fade_start}
                     for s in chosen.scenes],
        "critique": {"before": out.before.report(), "after": out.after.report()},
        "history": [r.summary() for r in rounds],
    }, indent=2, default=str), encoding="utf-8")
    return out


def _fit_narration(board: Storyboard, settings: RenderSettings, narration: Narration, out_dir: Path
                   ) -> tuple[Storyboard, Narration]:
    """Plan durations around the measured speech; if it cannot fit the target, speak faster (up to 280 wpm)."""
    speech = narration.prepare(board)
    try:
        return allocate_durations(board, settings, speech_s=speech, strict=True), narration
    except BadInputError:
        budget = max(1.0, board.target_duration_s - 0.45 * len(board.scenes))
        factor = max(1.1, sum(speech.values()) / budget)
        wpm = min(280, math.ceil(settings.words_per_minute * factor))
        narration = Narration(out_dir / ".tts", settings.model_copy(update={"words_per_minute": wpm}))
        speech = narration.prepare(board)
        board = allocate_durations(board, settings, speech_s=speech, strict=False)
        return board.model_copy(update={"notes": board.notes + [f"narration sped up to {wpm} wpm to fit"]}), narration


def _poster(r: Round) -> Image.Image:
    """The most informative decoded frame: a chart if there is one, else the title."""
    pick = next((s for s in r.scenes if s.kind == "chart"), None) or r.scenes[0]
    idx = max(pick.start, min(pick.fade_start, pick.end) - 1)
    frame = r.frames.get(idx)
    if frame is None:  # pragma: no cover - inspect_indices always includes it
        frame = next(iter(r.frames.values()))
    return Image.fromarray(frame)
