"""Number formatting shared by the narrative, the dashboard and the memory findings (one source of truth)."""

from __future__ import annotations

from typing import Any


def fmt(v: Any, unit: str = "number") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if unit == "rate":
        return f"{100 * v:.1f}%"
    if unit == "percent":
        return f"{v:.1f}%"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "money":
        return f"{v:,.2f}"
    if isinstance(v, int) or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3f}"


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:+.1f}%"
