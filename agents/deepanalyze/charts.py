"""PNG charts from chart specs (matplotlib, Agg canvas, no pyplot global state so threads are safe)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#db2777"]


def _fmt(unit: str):
    from matplotlib.ticker import FuncFormatter

    if unit == "rate":
        return FuncFormatter(lambda v, _: f"{100 * v:.0f}%")
    if unit == "percent":
        return FuncFormatter(lambda v, _: f"{v:.0f}%")
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:,.2f}")


def _dates(labels: list[Any]) -> list[Any]:
    out = []
    for x in labels:
        try:
            out.append(datetime.fromisoformat(str(x)))
        except ValueError:
            return labels
    return out


def render(spec: dict[str, Any], path: Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Draw one chart spec to ``path``. ``extra`` may carry forecast rows or anomaly points."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kind = spec.get("kind", "bar")
    labels = list(spec.get("labels") or [])
    values = [float("nan") if v is None else v for v in (spec.get("values") or [])]
    h = 4.2 if kind != "barh" else max(3.0, 0.35 * len(labels) + 1.2)
    fig = Figure(figsize=(8, h), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    unit = spec.get("unit", "number")
    if kind == "bar":
        ax.bar([str(x)[:18] for x in labels], values, color=PALETTE[0])
        ax.yaxis.set_major_formatter(_fmt(unit))
        if len(labels) > 6:
            ax.tick_params(axis="x", rotation=45)
    elif kind == "barh":
        ax.barh([str(x)[:30] for x in labels][::-1], values[::-1], color=PALETTE[0])
        ax.xaxis.set_major_formatter(_fmt(unit))
    elif kind in ("line", "forecast", "anomalies"):
        xs = _dates(labels)
        ax.plot(xs, values, color=PALETTE[0], marker="o" if len(xs) <= 40 else None, ms=3, label="actual")
        if extra and extra.get("forecast"):
            fx = _dates([r["period"] for r in extra["forecast"]])
            ax.plot(fx, [r["forecast"] for r in extra["forecast"]], color=PALETTE[1], marker="o", ms=3,
                    label=f"forecast ({extra.get('model', '')})")
            ax.fill_between(fx, [r["lower"] for r in extra["forecast"]], [r["upper"] for r in extra["forecast"]],
                            color=PALETTE[1], alpha=0.2, label=f"{int(100 * extra.get('interval', 0.95))}% interval")
            ax.legend(loc="upper left", fontsize=8)
        if extra and extra.get("anomalies"):
            ax_x = _dates([a["period"] for a in extra["anomalies"]])
            ax.scatter(ax_x, [a["value"] for a in extra["anomalies"]], color=PALETTE[3], zorder=5, s=40,
                       label="anomaly")
            ax.legend(loc="upper left", fontsize=8)
        ax.yaxis.set_major_formatter(_fmt(unit))
        fig.autofmt_xdate()
    elif kind == "multiline":
        xs = _dates(labels)
        for i, (name, vals) in enumerate((spec.get("series") or {}).items()):
            ax.plot(xs, [float("nan") if v is None else v for v in vals], color=PALETTE[i % len(PALETTE)], label=str(name)[:24])
        ax.legend(fontsize=8)
        ax.yaxis.set_major_formatter(_fmt(unit))
        fig.autofmt_xdate()
    elif kind == "scatter":
        ax.scatter(labels, values, s=6, alpha=0.5, color=PALETTE[0])
    elif kind == "heatmap":
        import numpy as np

        mat = np.array([[float("nan") if v is None else v for v in row] for row in spec.get("matrix", [])], dtype=float)
        im = ax.imshow(mat, aspect="auto", cmap="Blues", vmin=0, vmax=1)
        ax.set_yticks(range(len(labels)), [str(x)[:10] for x in labels], fontsize=7)
        ax.set_xticks(range(len(spec.get("columns", []))), spec.get("columns", []), fontsize=7)
        fig.colorbar(im, ax=ax)
    ax.set_title(spec.get("title", "")[:90], fontsize=11)
    ax.set_xlabel(str(spec.get("x_label", ""))[:60])
    ax.set_ylabel(str(spec.get("y_label", ""))[:40])
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
