"""Easing curves for entrances, growth and camera moves (smooth starts and stops avoid visible jerks)."""

from __future__ import annotations


def clamp01(x: float) -> float:
    return 0.0 if x <= 0.0 else min(1.0, x)


def ease_out_cubic(x: float) -> float:
    x = clamp01(x)
    return 1.0 - (1.0 - x) ** 3


def ease_in_out_cubic(x: float) -> float:
    x = clamp01(x)
    return 4 * x * x * x if x < 0.5 else 1 - (-2 * x + 2) ** 3 / 2


def ease_in_out_sine(x: float) -> float:
    import math

    x = clamp01(x)
    return -(math.cos(math.pi * x) - 1) / 2


def progress(t: float, start: float, duration: float) -> float:
    """Linear 0..1 progress of an animation that starts at ``start`` and lasts ``duration`` seconds."""
    if duration <= 0:
        return 1.0 if t >= start else 0.0
    return clamp01((t - start) / duration)
