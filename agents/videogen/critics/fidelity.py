"""Chart data fidelity: read the values back from the rendered chart frames and compare with the data.

Bars: in a strip around each bar's centre, rows whose median colour is the bar colour form a run that
starts at the zero line; its far edge, mapped back through the chart's value axis, is the drawn value.
Lines: the centroid of the marker pixels in each point's column. Tolerance: 2 % of the value range or
1.5 pixels, whichever is larger (compression blurs edges by about a pixel).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..render.scenes import ChartLayout
from .base import CriticResult, Evidence, Issue

COLOUR_DIST = 60.0


def _is_colour(pixels: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.linalg.norm(pixels.astype(np.float32) - np.array(colour, np.float32), axis=-1) < COLOUR_DIST


LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _edge(luma: np.ndarray, y: int, inner: int, step: int) -> int:
    """Refine a bar's far edge on full-resolution luma (colour is subsampled 2x2 in yuv420p, so the
    colour test can lose the last row): extend while a row's luma is closer to the bar than to what lies
    beyond it."""
    n = len(luma)
    bar = float(luma[inner])
    for _ in range(2):
        beyond = y + 2 * step
        if not (0 <= y < n and 0 <= beyond < n):
            break
        if abs(luma[y] - bar) < abs(luma[y] - luma[beyond]):
            y += step
        else:
            break
    return y


def read_chart(frame: np.ndarray, c: ChartLayout) -> list[float | None]:
    """Values drawn in ``frame`` for each data point (None where nothing could be read)."""
    h, w = frame.shape[:2]
    out: list[float | None] = []
    zero = round(c.zero_y)
    lo, hi = max(0, int(c.top_y) - 4), min(h, int(c.bottom_y) + 4)
    for x in c.xs:
        if c.kind == "bar":
            half = max(1, int(c.bar_w * 0.25))
            xa, xb = max(0, round(x) - half), min(w, round(x) + half + 1)
            strip = frame[:, xa:xb]
            rows = np.median(_is_colour(strip, c.colour).astype(np.float32), axis=1) > 0.5
            luma = np.median(strip.astype(np.float32) @ LUMA, axis=1)
            up = next((y for y in range(zero - 1, max(lo, zero - 4), -1) if rows[y]), None)
            if up is not None:  # positive bar: a run of bar rows ending just above the (blurred) zero line
                y = up
                while y >= lo and rows[y]:
                    y -= 1
                y = _edge(luma, y, up, -1)
                out.append(c.value_at(y + 1))
                continue
            down = next((y for y in range(zero, min(hi, zero + 3)) if rows[y]), None)
            if down is None:
                out.append(0.0)
                continue
            y = down
            while y < hi and rows[y]:
                y += 1
            y = _edge(luma, y, down, +1)
            out.append(c.value_at(y))
        else:
            xi = round(x)
            col = frame[lo:hi, max(0, xi - 1): xi + 2]
            mask = np.median(_is_colour(col, c.colour).astype(np.float32), axis=1) > 0.5
            ys = np.flatnonzero(mask)
            out.append(c.value_at(lo + float(ys.mean())) if len(ys) else None)
    return out


def fidelity(ev: Evidence) -> CriticResult:
    issues: list[Issue] = []
    charts: list[dict[str, Any]] = []
    good = total = 0
    worst = 0.0
    for sf in ev.scenes:
        if sf.chart is None:
            continue
        frame = ev.frames.get(ev.inspect_index(sf))
        if frame is None:
            continue
        c = sf.chart
        drawn = read_chart(frame, c)
        span = c.vmax - c.vmin
        px = span / max(1.0, c.bottom_y - c.top_y)
        tol = max(0.02 * span, 1.5 * px)
        errors = []
        for label, want, got in zip(c.labels, c.values, drawn):
            total += 1
            err = None if got is None else abs(got - want)
            errors.append(None if err is None else round(err, 4))
            if err is not None and err <= tol:
                good += 1
            else:
                issues.append(Issue(critic="fidelity", scene_id=sf.scene_id, code="value_mismatch",
                                    message=f"scene {sf.scene_id}: '{label}' drawn as "
                                            f"{'nothing' if got is None else f'{got:.3g}'}, data {want:.3g}",
                                    data={"label": label, "expected": want, "drawn": got}))
            if err is not None:
                worst = max(worst, err / span)
        charts.append({"scene": sf.scene_id, "expected": c.values,
                       "drawn": [None if d is None else round(d, 3) for d in drawn], "tolerance": round(tol, 4)})
    score = good / total if total else 1.0
    return CriticResult(name="fidelity", score=score, passed=good == total, threshold=1.0, issues=issues,
                        details={"charts": charts, "points": total, "max_error_of_range": round(worst, 4)})
