"""Legibility measured on decoded frames: contrast ratio, text height in pixels, safe-area placement.

The renderer says *where* each text block should be; everything judged is measured from the pixels
there after H.264 compression: the background colour (the region's border ring), the ink colour (pixels
far from it), the WCAG contrast ratio between the two, the height of each text line (rows containing
ink), and the ink's bounding box against the title-safe rectangle. For plain-background scenes the
margins outside the safe area are scanned too, which catches text that overflowed its box.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..render.colors import contrast_ratio
from .base import CriticResult, Evidence, Issue

NORMAL_CONTRAST = 4.5  # WCAG AA, normal text
LARGE_CONTRAST = 3.0  # WCAG AA, large text
INK_MIN_DELTA = 14.0  # luma levels: below this the region holds no visible text


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


def measure_text(frame: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, Any]:
    """Measure one text region: contrast ratio, median line height (px), ink bounding box (frame coords)."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x1 - x0 < 3 or y1 - y0 < 3:
        return {"visible": False, "reason": "region outside the frame"}
    crop = frame[y0:y1, x0:x1].astype(np.float32)
    ring = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    bg = np.median(ring, axis=0)
    lum = _luma(crop)
    dist = np.abs(lum - float(_luma(bg)))
    peak = float(np.percentile(dist, 99.5))
    if peak < INK_MIN_DELTA:
        return {"visible": False, "reason": "no text visible in its region", "contrast": 1.0}
    ink = dist > 0.5 * peak
    core = dist > 0.8 * peak
    ink_rgb = np.median(crop[core], axis=0)
    ratio = contrast_ratio(ink_rgb, bg)
    rows = np.flatnonzero(ink.sum(axis=1) >= 1)
    cols = np.flatnonzero(ink.sum(axis=0) >= 1)
    bands: list[int] = []
    start = prev = int(rows[0])
    for r in rows[1:]:
        r = int(r)
        if r != prev + 1:
            bands.append(prev - start + 1)
            start = r
        prev = r
    bands.append(prev - start + 1)
    tallest = max(bands)
    lines = [b for b in bands if b >= 0.45 * tallest]
    return {
        "visible": True,
        "contrast": round(ratio, 2),
        "text_px": float(np.median(lines)),
        "lines": len(lines),
        "ink_box": (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1),
        "ink_rgb": [round(float(c)) for c in ink_rgb],
        "bg_rgb": [round(float(c)) for c in bg],
    }


def margin_ink(frame: np.ndarray, safe: tuple[int, int, int, int], *, delta: float = 28.0) -> float:
    """Fraction of pixels outside the safe rectangle that stand out from their row's margin background.

    The background of a row is the median of its margin pixels only (left and right bands), so large
    content inside the safe area (bars, images) cannot skew it.
    """
    lum = _luma(frame.astype(np.float32))
    sx0, sy0, sx1, sy1 = safe
    sides = np.concatenate([lum[:, :sx0], lum[:, sx1:]], axis=1)
    row_bg = np.median(sides, axis=1, keepdims=True) if sides.shape[1] else np.median(lum, axis=1, keepdims=True)
    odd = np.abs(lum - row_bg) > delta
    band = np.ones_like(odd)
    band[sy0:sy1, sx0:sx1] = False
    return float(odd[band].sum()) / max(1, int(band.sum()))


def legibility(ev: Evidence) -> CriticResult:
    s = ev.settings
    safe = s.safe_rect
    checked = failed = 0
    issues: list[Issue] = []
    rows: list[dict[str, Any]] = []
    min_px_seen = None
    min_contrast_seen = None
    for sf in ev.scenes:
        idx = ev.inspect_index(sf)
        frame = ev.frames.get(idx)
        if frame is None:
            continue
        if sf.settle > idx + 1:
            issues.append(Issue(critic="legibility", scene_id=sf.scene_id, code="not_settled",
                                message=f"scene {sf.scene_id}: text is still animating when the scene ends",
                                data={"settle_frame": sf.settle, "last_frame": idx}))
            failed += 1
            checked += 1
        for reg in sf.regions:
            checked += 1
            m = measure_text(frame, reg.box)
            row = {"scene": sf.scene_id, "role": reg.role, **{k: v for k, v in m.items() if k != "ink_rgb"}}
            rows.append(row)
            problems: list[tuple[str, str, dict]] = []
            if not m["visible"]:
                problems.append(("invisible", f"{reg.role} is not visible ({m['reason']})", {}))
            else:
                need = LARGE_CONTRAST if reg.large else NORMAL_CONTRAST
                min_contrast_seen = m["contrast"] if min_contrast_seen is None else min(min_contrast_seen, m["contrast"])
                min_px_seen = m["text_px"] if min_px_seen is None else min(min_px_seen, m["text_px"])
                if m["contrast"] < need:
                    problems.append(("low_contrast", f"{reg.role} contrast {m['contrast']:.2f}:1 < {need}:1",
                                     {"contrast": m["contrast"], "required": need, "bg_rgb": m["bg_rgb"],
                                      "ink_rgb": m["ink_rgb"]}))
                if m["text_px"] + 1 < s.min_text_px:
                    problems.append(("too_small", f"{reg.role} text {m['text_px']:.0f}px < {s.min_text_px}px",
                                     {"text_px": m["text_px"], "required": s.min_text_px}))
                bx0, by0, bx1, by1 = m["ink_box"]
                if bx0 < safe[0] - 1 or by0 < safe[1] - 1 or bx1 > safe[2] + 1 or by1 > safe[3] + 1:
                    problems.append(("outside_safe", f"{reg.role} extends outside the safe area",
                                     {"ink_box": m["ink_box"], "safe": safe}))
            if problems:
                failed += 1
                for code, msg, data in problems:
                    issues.append(Issue(critic="legibility", scene_id=sf.scene_id, code=code,
                                        message=f"scene {sf.scene_id}: {msg}", data={"role": reg.role, **data}))
        if sf.plain_background:
            checked += 1
            frac = margin_ink(frame, safe)
            if frac > 0.0005 or sf.overflow:
                failed += 1
                issues.append(Issue(critic="legibility", scene_id=sf.scene_id, code="overflow",
                                    message=f"scene {sf.scene_id}: content outside the safe area or text that "
                                            f"does not fit ({', '.join(sf.overflow) or f'{frac:.2%} of margin'})",
                                    data={"margin_ink": round(frac, 5), "overflow": sf.overflow}))
    score = 1.0 - failed / checked if checked else 1.0
    return CriticResult(
        name="legibility", score=max(0.0, score), passed=failed == 0, threshold=1.0, issues=issues,
        details={"regions": len(rows), "failed": failed, "min_contrast": min_contrast_seen,
                 "min_text_px": min_px_seen, "required_text_px": s.min_text_px, "measurements": rows[:60]},
    )
