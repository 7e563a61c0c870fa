"""The timeline: lays scenes end to end at the frame rate, cross-fades between them, yields frames.

Scene ``k`` owns frames ``[start_k, end_k)``; a cross-fade into scene ``k+1`` happens in the last frames of
scene ``k`` and blends towards scene ``k+1``'s first frame, so the total length is exactly the sum of the
scene durations (what the duration critic checks) and no frame is dropped or duplicated at a seam.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from ..easing import ease_in_out_sine
from ..models import RenderSettings, Storyboard
from .scenes import SceneFrames, SceneRenderer, renderer_for


def _load_logo(path: str | None, settings: RenderSettings) -> Image.Image | None:
    if not path:
        return None
    from genesis_agents.infrastructure.errors import BadInputError

    try:
        with Image.open(Path(path)) as im:
            logo = im.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise BadInputError(f"cannot read logo {path} ({exc.__class__.__name__})", field="logo_path") from None
    h = max(8, round(settings.unit * 7))
    return logo.resize((max(1, round(logo.width * h / logo.height)), h), Image.Resampling.LANCZOS)


class Timeline:
    """Frame-accurate schedule of a storyboard plus the renderers that draw it."""

    def __init__(self, board: Storyboard, settings: RenderSettings):
        self.board, self.s = board, settings
        logo = _load_logo(board.logo_path, settings)
        self.renderers: list[SceneRenderer] = [
            renderer_for(sc, settings, board.theme, logo=logo if sc.kind in ("title", "cta") else None)
            for sc in board.scenes
        ]
        fps = settings.fps
        bounds = [0]
        acc = 0.0
        for sc in board.scenes:
            acc += sc.duration_s
            bounds.append(round(acc * fps))
        self.total_frames = bounds[-1]
        self.scenes: list[SceneFrames] = []
        for k, (sc, r) in enumerate(zip(board.scenes, self.renderers)):
            start, end = bounds[k], bounds[k + 1]
            n_fade = 0
            if k + 1 < len(board.scenes) and sc.transition == "crossfade":
                nxt = board.scenes[k + 1]
                want = settings.crossfade_s if sc.fade_s is None else sc.fade_s
                fade_s = min(want, 0.4 * sc.duration_s, 0.4 * nxt.duration_s)
                n_fade = max(0, round(fade_s * fps))
            settle = start + math.ceil(r.settle_time() * fps)
            self.scenes.append(SceneFrames(
                scene_id=sc.id, kind=sc.kind, start=start, end=end, fade_start=end - n_fade, settle=settle,
                regions=r.regions, chart=r.chart, plain_background=r.plain_background, overflow=list(r.overflow),
                cut_after=(k + 1 < len(board.scenes) and sc.transition == "cut"),
            ))

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.s.fps

    def frames(self) -> Iterator[Image.Image]:
        """Yield every frame in order as an RGB Pillow image."""
        fps = self.s.fps
        for k, (sf, r) in enumerate(zip(self.scenes, self.renderers)):
            incoming: Image.Image | None = None
            n_fade = sf.end - sf.fade_start
            for f in range(sf.start, sf.end):
                img = r.frame((f - sf.start) / fps)
                if f >= sf.fade_start and n_fade > 0:
                    if incoming is None:
                        incoming = self.renderers[k + 1].frame(0.0)
                    a = ease_in_out_sine((f - sf.fade_start + 1) / (n_fade + 1))
                    img = Image.blend(img, incoming, a)
                yield img

    def frame_at(self, index: int) -> Image.Image:
        """Render a single frame (for posters and spot checks) without rendering the whole video."""
        for k, (sf, r) in enumerate(zip(self.scenes, self.renderers)):
            if sf.start <= index < sf.end:
                img = r.frame((index - sf.start) / self.s.fps)
                n_fade = sf.end - sf.fade_start
                if index >= sf.fade_start and n_fade > 0:
                    a = ease_in_out_sine((index - sf.fade_start + 1) / (n_fade + 1))
                    img = Image.blend(img, self.renderers[k + 1].frame(0.0), a)
                return img
        raise IndexError(f"frame {index} outside 0..{self.total_frames - 1}")

    def manifest(self) -> list[dict]:
        return [
            {"scene_id": s.scene_id, "kind": s.kind, "start": s.start, "end": s.end, "fade_start": s.fade_start,
             "settle": s.settle, "regions": len(s.regions)}
            for s in self.scenes
        ]
