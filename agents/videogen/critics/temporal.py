"""Temporal coherence: no abrupt frame-to-frame jumps except at intended cuts.

Measured on grey thumbnails of every decoded frame: the mean absolute luma change between consecutive
frames. A change above ``JUMP`` (fraction of full scale) outside a cut is a visible flash or pop.
"""

from __future__ import annotations

import numpy as np

from .base import CriticResult, Evidence, Issue

JUMP = 0.12


def frame_deltas(thumbs: np.ndarray) -> np.ndarray:
    if len(thumbs) < 2:
        return np.zeros(0, np.float32)
    return np.abs(np.diff(thumbs, axis=0)).mean(axis=(1, 2))


def temporal(ev: Evidence, *, jump: float = JUMP) -> CriticResult:
    d = frame_deltas(ev.thumbs)
    cuts = {sf.end - 1 for sf in ev.scenes if sf.cut_after}  # delta index i = change from frame i to i+1
    issues: list[Issue] = []
    abrupt: list[int] = []
    for i in (int(k) for k in np.flatnonzero(d > jump)):
        if i in cuts:
            continue
        abrupt.append(i)
        scene = next((sf for sf in ev.scenes if sf.start <= i < sf.end), None)
        issues.append(Issue(critic="temporal", scene_id=scene.scene_id if scene else None, code="jump",
                            message=f"abrupt change of {d[i]:.1%} between frames {i} and {i + 1}",
                            data={"frame": i, "delta": round(float(d[i]), 4), "in_fade": bool(
                                scene and i >= scene.fade_start - 1)}))
    smooth = [float(x) for k, x in enumerate(d) if k not in cuts]
    score = max(0.0, 1.0 - len(abrupt) / max(1, len(ev.scenes)))
    return CriticResult(
        name="temporal", score=score, passed=not abrupt, threshold=1.0, issues=issues[:20],
        details={"max_delta": round(max(smooth), 4) if smooth else 0.0,
                 "mean_delta": round(float(np.mean(smooth)), 5) if smooth else 0.0,
                 "jump_threshold": jump, "abrupt_frames": abrupt[:50], "cuts": sorted(cuts)},
    )
