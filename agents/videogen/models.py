"""Storyboard and render-settings models: the boundary between planning, rendering and critique.

Everything the planner produces and the renderer consumes is a pydantic model, so a storyboard written by
a user, by the deterministic planner or by an LLM is validated the same way, and a bad value is reported
as a ``BadInputError`` that names the field instead of failing deep inside the renderer.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, TypeVar

from genesis_agents.infrastructure.errors import BadInputError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Frame sizes the renderer lays out and the critics are calibrated for (16:9, square and vertical).
SUPPORTED_RESOLUTIONS: tuple[tuple[int, int], ...] = (
    (320, 180), (426, 240), (640, 360), (854, 480), (1280, 720), (1920, 1080),
    (720, 720), (1080, 1080), (720, 1280), (1080, 1920),
)
#: Frame rates accepted by the encoder (integer rates only, so frame timing is exact).
SUPPORTED_FPS: tuple[int, ...] = (8, 10, 12, 15, 24, 25, 30, 50, 60)
SUPPORTED_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")

SceneKind = Literal["title", "bullets", "chart", "image", "cta"]
Transition = Literal["crossfade", "cut"]
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

M = TypeVar("M", bound=BaseModel)


class VModel(BaseModel):
    """Base: unknown fields are errors, so a typo in a storyboard never passes silently."""

    model_config = ConfigDict(extra="forbid")


def build(cls: type[M], data: Any, *, field: str) -> M:
    """Validate ``data`` as ``cls``; turn pydantic's error into a ``BadInputError`` naming the field path."""
    if isinstance(data, cls):
        return data
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise BadInputError(msg, field=f"{field}.{loc}" if loc else field) from None


def resolution_list() -> str:
    return ", ".join(f"{w}x{h}" for w, h in SUPPORTED_RESOLUTIONS)


class RenderSettings(VModel):
    """How to render: size, frame rate, encoder quality, safe margins, narration. Every limit is explicit."""

    width: int = 1280
    height: int = 720
    fps: int = 24
    crf: int = Field(default=23, ge=0, le=51, description="x264 constant rate factor (lower = better)")
    preset: str = Field(default="veryfast", description="x264 speed preset")
    safe_margin: float = Field(default=0.06, ge=0.0, le=0.2, description="title-safe margin, fraction of each side")
    crossfade_s: float = Field(default=0.5, ge=0.0, le=3.0)
    narration: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto = speak with espeak-ng when installed; on = require it; off = silent"
    )
    voice: str = "en"
    words_per_minute: int = Field(default=165, ge=80, le=400, description="speech rate for narration")
    reading_wpm: int = Field(default=200, ge=60, le=600, description="reading speed the pacing critic assumes")
    max_duration_s: float = Field(default=600.0, gt=0, description="longest video this host renders")
    font_path: str | None = Field(default=None, description="custom TTF/OTF; the bundled DejaVu Sans if unreadable")

    @model_validator(mode="after")
    def _supported(self) -> RenderSettings:
        if (self.width, self.height) not in SUPPORTED_RESOLUTIONS:
            raise ValueError(f"unsupported resolution {self.width}x{self.height}; supported: {resolution_list()}")
        if self.fps not in SUPPORTED_FPS:
            raise ValueError(f"unsupported fps {self.fps}; supported: {', '.join(map(str, SUPPORTED_FPS))}")
        if self.preset not in SUPPORTED_PRESETS:
            raise ValueError(f"unsupported preset {self.preset!r}; supported: {', '.join(SUPPORTED_PRESETS)}")
        return self

    @property
    def unit(self) -> float:
        """Layout unit: 1 % of the shorter side, so sizes scale with the frame."""
        return min(self.width, self.height) / 100.0

    @property
    def min_text_px(self) -> int:
        """Smallest legible glyph height (ascender to descender) the renderer and critic accept."""
        return max(9, round(2.6 * self.unit))

    @property
    def safe_rect(self) -> tuple[int, int, int, int]:
        mx, my = round(self.width * self.safe_margin), round(self.height * self.safe_margin)
        return mx, my, self.width - mx, self.height - my


def _check_hex(value: str | None) -> str | None:
    if value is not None and not _HEX.match(value):
        raise ValueError(f"expected a colour like '#1e293b', got {value!r}")
    return value


class Theme(VModel):
    """Brand colours. The critic measures whether they are legible; the refiner fixes them if not."""

    background: str = "#0f172a"
    background2: str = "#1e293b"
    text: str = "#f8fafc"
    accent: str = "#38bdf8"
    muted: str = "#cbd5e1"

    @field_validator("background", "background2", "text", "accent", "muted")
    @classmethod
    def _colour(cls, value: str) -> str:
        return _check_hex(value) or value


class ChartSpec(VModel):
    """Real numbers to draw. The fidelity critic reads them back from the rendered frames."""

    kind: Literal["bar", "line"] = "bar"
    title: str = ""
    labels: list[str] = Field(min_length=1, max_length=48)
    values: list[float] = Field(min_length=1, max_length=48)
    unit: str = Field(default="", description="'rate' (fractions shown as %), 'percent'/'%', 'money'/'$', "
                                              "'count', 'number' or any unit word")

    @model_validator(mode="after")
    def _consistent(self) -> ChartSpec:
        if len(self.labels) != len(self.values):
            raise ValueError(f"labels ({len(self.labels)}) and values ({len(self.values)}) differ in length")
        if not all(math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite numbers")
        if self.kind == "line" and len(self.values) < 2:
            raise ValueError("a line chart needs at least 2 values")
        return self

    def format(self, value: float) -> str:
        """Value label as shown on screen (same conventions as DeepAnalyze's number formatting)."""
        unit = self.unit.strip()
        low = unit.lower()
        if low == "rate":
            return f"{100 * value:.1f}%"
        if low in ("%", "pct", "percent"):
            return f"{value:.1f}%"
        if low in ("$", "usd", "money"):
            return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
        if abs(value) >= 100 or float(value).is_integer():
            text = f"{value:,.0f}"
        else:
            text = f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2f}"
        if low in ("", "number", "count", "ratio"):
            return text
        return f"{text} {unit}"


class Scene(VModel):
    """One scene. ``duration_s`` includes its reveal animation and the outgoing cross-fade."""

    id: str = Field(min_length=1, max_length=64)
    kind: SceneKind
    title: str = Field(default="", max_length=200)
    subtitle: str = Field(default="", max_length=300)
    bullets: list[str] = Field(default_factory=list, max_length=8)
    chart: ChartSpec | None = None
    image_path: str | None = None
    zoom: tuple[float, float] = (1.0, 1.12)
    pan: tuple[float, float] = (0.0, 0.0)
    narration: str = Field(default="", max_length=2000)
    duration_s: float = Field(gt=0, le=120)
    transition: Transition = Field(default="crossfade", description="how this scene hands over to the next")
    fade_s: float | None = Field(default=None, ge=0.0, le=3.0, description="cross-fade length (default: settings)")
    reveal_s: float = Field(default=0.6, ge=0.0, le=10.0, description="per-element entrance animation")
    text_color: str | None = None
    backdrop: bool = Field(default=False, description="draw a translucent panel behind text (image scenes)")
    font_scale: float = Field(default=1.0, ge=0.5, le=2.5)

    @field_validator("text_color")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        return _check_hex(value)

    @model_validator(mode="after")
    def _kind_needs(self) -> Scene:
        if self.kind == "chart" and self.chart is None:
            raise ValueError("a chart scene needs 'chart'")
        if self.kind == "image" and not self.image_path:
            raise ValueError("an image scene needs 'image_path'")
        if self.kind == "bullets" and not self.bullets:
            raise ValueError("a bullets scene needs at least one bullet")
        if self.kind in ("title", "cta") and not self.title.strip():
            raise ValueError(f"a {self.kind} scene needs a title")
        if any(not b.strip() for b in self.bullets):
            raise ValueError("bullets must not be empty")
        return self

    def screen_text(self) -> list[str]:
        """All text shown on screen (what a viewer has to read)."""
        out = [t for t in (self.title, self.subtitle) if t]
        out += self.bullets
        if self.chart is not None:
            out += [self.chart.title] if self.chart.title and not self.title else []
            out += self.chart.labels + [self.chart.format(v) for v in self.chart.values]
        return out

    def words(self) -> int:
        return sum(len(t.split()) for t in self.screen_text())

    def reveal_end_s(self) -> float:
        """When the last element has finished entering (bullets enter one after another)."""
        steps = max(1, len(self.bullets)) if self.kind == "bullets" else 1
        if self.kind == "chart":
            return 0.25 + self.reveal_s * 1.5
        return 0.15 + self.reveal_s * steps


class Storyboard(VModel):
    """The plan of a video. ``source`` says who wrote it; ``notes`` what the planner had to decide."""

    title: str = Field(min_length=1, max_length=200)
    brief: str = ""
    target_duration_s: float = Field(gt=0, le=600)
    scenes: list[Scene] = Field(min_length=1, max_length=40)
    theme: Theme = Field(default_factory=Theme)
    logo_path: str | None = None
    source: Literal["deterministic", "llm", "user", "refined"] = "deterministic"
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Storyboard:
        ids = [s.id for s in self.scenes]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate scene ids: {', '.join(sorted(dup))}")
        return self

    @property
    def duration_s(self) -> float:
        return round(sum(s.duration_s for s in self.scenes), 3)

    def summary(self) -> dict[str, Any]:
        """Compact description for results, memory and the CLI."""
        return {
            "title": self.title,
            "source": self.source,
            "duration_s": self.duration_s,
            "target_duration_s": self.target_duration_s,
            "scenes": [
                {"id": s.id, "kind": s.kind, "title": s.title or (s.chart.title if s.chart else ""),
                 "duration_s": round(s.duration_s, 2), "words": s.words()}
                for s in self.scenes
            ],
            "notes": list(self.notes),
        }

    def summary_text(self) -> str:
        parts = [f"{s.kind} '{s.title or (s.chart.title if s.chart else s.id)}' {s.duration_s:.1f}s" for s in self.scenes]
        return (f"Video storyboard '{self.title}' ({self.duration_s:.1f}s, {len(self.scenes)} scenes, "
                f"{self.source}): " + "; ".join(parts))
