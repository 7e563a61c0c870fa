"""Colour helpers: hex parsing and WCAG 2.x relative luminance / contrast ratio.

The same formulas are used by the refiner to choose a text colour and by the legibility critic to measure
rendered pixels, so "legible" means the same thing at both ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RGB = tuple[int, int, int]


def hex_rgb(value: str) -> RGB:
    v = value.lstrip("#")
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def rgb_hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb[:3])


def luminance(rgb: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """WCAG relative luminance of sRGB colour(s) in 0..255 (last axis = channels)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722
    return float(out) if out.ndim == 0 else out


def contrast_ratio(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)  # type: ignore[type-var]
    return float((hi + 0.05) / (lo + 0.05))


def best_text_colour(background: Sequence[float], candidates: Sequence[str] = ("#ffffff", "#0b0b0b")) -> str:
    """The candidate with the highest contrast against ``background``."""
    return max(candidates, key=lambda c: contrast_ratio(hex_rgb(c), background))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))
