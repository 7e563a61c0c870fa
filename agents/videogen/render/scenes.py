"""Scene renderers: one class per scene kind, each turning (scene, time) into a Pillow RGB frame.

Each renderer lays its scene out once (text masks, chart geometry, scaled image) and then composes
frames cheaply. It also publishes what it drew where — text regions and chart geometry — so that the
critics know *where to look* in the decoded video; what they find there is measured from pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from genesis_agents.infrastructure.errors import BadInputError
from PIL import Image, ImageDraw, UnidentifiedImageError

from ..easing import ease_in_out_cubic, ease_in_out_sine, ease_out_cubic, progress
from ..models import ChartSpec, RenderSettings, Scene, Theme
from ..textlayout import TextBlock, fit_text, min_font_size
from .colors import RGB, best_text_colour, hex_rgb, mix


@dataclass
class TextRegion:
    """Where a piece of text ends up (its final, fully revealed position), for the legibility critic."""

    role: str
    text: str
    box: tuple[int, int, int, int]
    font_px: int
    large: bool


@dataclass
class ChartLayout:
    """Chart geometry: enough to convert pixel positions back into values (the fidelity critic)."""

    kind: str
    plot: tuple[int, int, int, int]
    zero_y: float
    top_y: float
    bottom_y: float
    vmin: float
    vmax: float
    xs: list[float]
    bar_w: float
    colour: RGB
    values: list[float]
    labels: list[str]

    def value_at(self, y: float) -> float:
        """Invert the value->pixel mapping used when drawing."""
        return self.vmin + (self.bottom_y - y) / (self.bottom_y - self.top_y) * (self.vmax - self.vmin)

    def y_of(self, value: float) -> float:
        return self.bottom_y - (value - self.vmin) / (self.vmax - self.vmin) * (self.bottom_y - self.top_y)


@dataclass
class _Text:
    block: TextBlock
    pos: tuple[int, int]
    colour: RGB
    start: float
    duration: float
    slide: int


@functools.lru_cache(maxsize=16)
def _gradient(width: int, height: int, top: str, bottom: str) -> Image.Image:
    a, b = np.array(hex_rgb(top), np.float32), np.array(hex_rgb(bottom), np.float32)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    rows = (a + (b - a) * t).round().astype(np.uint8)  # (h, 3)
    return Image.fromarray(np.repeat(rows[:, None, :], width, axis=1), "RGB")


def _fade(mask: Image.Image, alpha: float) -> Image.Image:
    if alpha >= 0.999:
        return mask
    return mask.point([int(i * alpha + 0.5) for i in range(256)])


class SceneRenderer:
    """Base renderer: background, animated text elements, published regions."""

    plain_background = True

    def __init__(self, scene: Scene, settings: RenderSettings, theme: Theme, *, logo: Image.Image | None = None):
        self.scene, self.s, self.theme = scene, settings, theme
        self.W, self.H, self.u = settings.width, settings.height, settings.unit
        self.safe = settings.safe_rect
        self.min_size = min_font_size(settings.min_text_px)
        self.text_rgb = hex_rgb(scene.text_color or theme.text)
        self.muted_rgb = hex_rgb(scene.text_color or theme.muted)
        self.accent_rgb = hex_rgb(theme.accent)
        self.texts: list[_Text] = []
        self.regions: list[TextRegion] = []
        self.chart: ChartLayout | None = None
        self.overflow: list[str] = []
        self.logo = logo
        self.layout()

    # -- layout helpers -------------------------------------------------------------------------------
    def fit(self, text: str, **kw: object) -> TextBlock:
        """``fit_text`` with the configured font (custom TTF if readable, else the bundled face)."""
        return fit_text(text, font_path=self.s.font_path, **kw)  # type: ignore[arg-type]

    def px(self, units: float) -> int:
        return max(1, round(units * self.u * self.scene.font_scale))

    def add_text(self, role: str, text: str, *, x: int, y: int, max_w: int, max_h: int, size: int,
                 weight: str = "regular", colour: RGB | None = None, start: float = 0.15,
                 duration: float | None = None, align: str = "left", large: bool = False,
                 max_lines: int | None = None) -> _Text:
        block = self.fit(text, max_w=max_w, max_h=max_h, size=size, min_size=self.min_size, weight=weight,
                         align=align, max_lines=max_lines)
        if not block.fits:
            self.overflow.append(role)
        if align == "center":
            x = x + (max_w - block.width) // 2
        item = _Text(block, (x, y), colour or self.text_rgb, start,
                     self.scene.reveal_s if duration is None else duration, slide=round(1.5 * self.u))
        self.texts.append(item)
        pad = max(2, round(0.6 * self.u))
        self.regions.append(TextRegion(role, text, (x - pad, y - pad, x + block.width + pad, y + block.height + pad),
                                       block.size, large or block.size >= round(3.4 * self.u)))
        return item

    def shift(self, dy: int) -> None:
        """Move every laid-out text element (and its published region) down by ``dy`` pixels."""
        if dy <= 0:
            return
        for item in self.texts:
            item.pos = (item.pos[0], item.pos[1] + dy)
        for r in self.regions:
            r.box = (r.box[0], r.box[1] + dy, r.box[2], r.box[3] + dy)
        self.dots = [(x, y + dy, r, st) for x, y, r, st in getattr(self, "dots", [])]

    def layout(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- frames ---------------------------------------------------------------------------------------
    def settle_time(self) -> float:
        """Time at which every entrance animation has finished."""
        ends = [t.start + t.duration for t in self.texts]
        return max(ends + [self.scene.reveal_end_s()])

    def background(self, t: float) -> Image.Image:
        return _gradient(self.W, self.H, self.theme.background, self.theme.background2).copy()

    def draw_extra(self, frame: Image.Image, t: float) -> None:
        """Non-text graphics (accent lines, charts). Drawn before text."""

    def frame(self, t: float) -> Image.Image:
        img = self.background(t)
        self.draw_extra(img, t)
        for item in self.texts:
            p = ease_out_cubic(progress(t, item.start, item.duration))
            if p <= 0.0:
                continue
            x, y = item.pos
            y += round((1.0 - p) * item.slide)
            mask = _fade(item.block.mask, p)
            img.paste(item.colour, (x, y, x + mask.width, y + mask.height), mask)
        if self.logo is not None:
            lx, ly = self.safe[2] - self.logo.width, self.safe[1]
            img.paste(self.logo, (lx, ly), self.logo if self.logo.mode == "RGBA" else None)
        return img


class TitleRenderer(SceneRenderer):
    """Large centred title with an accent rule and a subtitle."""

    def layout(self) -> None:
        sx0, sy0, sx1, sy1 = self.safe
        w = sx1 - sx0
        title = self.add_text("title", self.scene.title, x=sx0, y=0, max_w=w, max_h=round(self.H * 0.42),
                              size=self.px(9), weight="bold", align="center", large=True)
        sub = None
        if self.scene.subtitle:
            sub = self.add_text("subtitle", self.scene.subtitle, x=sx0, y=0, max_w=w, max_h=round(self.H * 0.25),
                                size=self.px(4.6), colour=self.muted_rgb, start=0.15 + self.scene.reveal_s * 0.5,
                                align="center")
        gap = round(3 * self.u)
        total = title.block.height + (gap * 2 + sub.block.height if sub else 0)
        y = sy0 + max(0, ((sy1 - sy0) - total) // 2)
        self._place(title, y)
        self.rule_y = y + title.block.height + gap
        if sub:
            self._place(sub, self.rule_y + gap)

    def _place(self, item: _Text, y: int) -> None:
        idx = self.texts.index(item)
        x = item.pos[0]
        item.pos = (x, y)
        r = self.regions[idx]
        pad = max(2, round(0.6 * self.u))
        self.regions[idx] = TextRegion(r.role, r.text, (x - pad, y - pad, x + item.block.width + pad,
                                                        y + item.block.height + pad), r.font_px, r.large)

    def draw_extra(self, frame: Image.Image, t: float) -> None:
        p = ease_in_out_cubic(progress(t, 0.15, self.scene.reveal_s * 1.2))
        if p <= 0:
            return
        half = round(self.W * 0.09 * p)
        cx, th = self.W // 2, max(2, round(0.5 * self.u))
        ImageDraw.Draw(frame).rectangle((cx - half, self.rule_y - th // 2, cx + half, self.rule_y + th // 2),
                                        fill=self.accent_rgb)


class CtaRenderer(TitleRenderer):
    """Call to action: a title and the action on an accent pill."""

    def layout(self) -> None:
        super().layout()
        self.pill = None
        if self.scene.subtitle:
            sub = self.texts[-1]
            pill_text = best_text_colour(self.accent_rgb, (self.theme.background, "#ffffff", "#0b0b0b"))
            sub.colour = hex_rgb(self.scene.text_color or pill_text)
            x, y = sub.pos
            px, py = round(2.4 * self.u), round(1.2 * self.u)
            self.pill = (x - px, y - py, x + sub.block.width + px, y + sub.block.height + py)

    def draw_extra(self, frame: Image.Image, t: float) -> None:
        super().draw_extra(frame, t)
        if self.pill is None:
            return
        p = ease_out_cubic(progress(t, 0.15 + self.scene.reveal_s * 0.5, self.scene.reveal_s))
        if p <= 0:
            return
        bg = frame.getpixel((self.pill[0], self.pill[1]))
        assert isinstance(bg, tuple)
        colour = mix((int(bg[0]), int(bg[1]), int(bg[2])), self.accent_rgb, p)
        ImageDraw.Draw(frame).rounded_rectangle(self.pill, radius=round(1.2 * self.u), fill=colour)


class BulletsRenderer(SceneRenderer):
    """A heading and bullets that enter one after another."""

    def layout(self) -> None:
        sx0, sy0, sx1, sy1 = self.safe
        w = sx1 - sx0
        y = sy0
        if self.scene.title:
            head = self.add_text("title", self.scene.title, x=sx0, y=y, max_w=w, max_h=round(self.H * 0.22),
                                 size=self.px(6.4), weight="bold", large=True, start=0.05)
            y += head.block.height + round(3.2 * self.u)
        indent = round(4 * self.u)
        avail = sy1 - y
        size = self.px(4.8)
        n = len(self.scene.bullets)
        while True:  # shrink all bullets together until they fit (never below the legibility floor)
            gap = round(2.0 * self.u)
            per = max(1, (avail - gap * (n - 1)) // n)
            blocks = [self.fit(b, max_w=w - indent, max_h=per, size=size, min_size=self.min_size)
                      for b in self.scene.bullets]
            total = sum(b.height for b in blocks) + gap * (n - 1)
            if total <= avail or size <= self.min_size:
                break
            size = max(self.min_size, int(size * 0.92))
        self.dots: list[tuple[int, int, int, float]] = []
        for i, text in enumerate(self.scene.bullets):
            start = 0.15 + i * self.scene.reveal_s
            item = self.add_text(f"bullet{i + 1}", text, x=sx0 + indent, y=y, max_w=w - indent,
                                 max_h=max(1, sy1 - y), size=blocks[i].size, start=start)
            r = max(2, round(0.9 * self.u))
            first_line_mid = y + round(item.block.size * 0.62)
            self.dots.append((sx0 + indent // 2 - r // 2, first_line_mid, r, start))
            y += item.block.height + gap
        if y - gap > sy1:
            self.overflow.append("bullets")
        else:  # centre the block in the free height (slightly above the middle reads best)
            self.shift(round((sy1 - (y - gap)) * 0.4))

    def draw_extra(self, frame: Image.Image, t: float) -> None:
        draw = ImageDraw.Draw(frame)
        for cx, cy, r, start in self.dots:
            p = ease_out_cubic(progress(t, start, self.scene.reveal_s))
            if p > 0:
                rr = max(1, round(r * p))
                draw.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=self.accent_rgb)


class ChartRenderer(SceneRenderer):
    """Animated bar or line chart drawn from real numbers, with value labels."""

    def layout(self) -> None:
        spec: ChartSpec = self.scene.chart  # type: ignore[assignment]
        sx0, sy0, sx1, sy1 = self.safe
        w = sx1 - sx0
        y = sy0
        heading = self.scene.title or spec.title
        if heading:
            head = self.add_text("title", heading, x=sx0, y=y, max_w=w, max_h=round(self.H * 0.18),
                                 size=self.px(5.4), weight="bold", large=True, start=0.05, max_lines=2)
            y += head.block.height + round(2.5 * self.u)
        n = len(spec.values)
        slot = w / n
        label_size = max(self.min_size, self.px(3.4))
        labels = [self.fit(lbl, max_w=max(8, int(slot * 0.94)), max_h=round(self.H * 0.21), size=label_size,
                           min_size=self.min_size, align="center", max_lines=2) for lbl in spec.labels]
        label_h = max(b.height for b in labels)
        value_texts = [spec.format(v) for v in spec.values]
        vblocks = [self.fit(v, max_w=max(8, int(slot * 0.98)), max_h=round(self.H * 0.1), size=label_size,
                            min_size=self.min_size, align="center", max_lines=1) for v in value_texts]
        value_h = max(b.height for b in vblocks)
        gap = round(1.2 * self.u)
        plot = (sx0, y, sx1, sy1 - label_h - gap)
        vmin, vmax = min(0.0, min(spec.values)), max(0.0, max(spec.values))
        if vmin == vmax:
            vmax = 1.0
        top_y = plot[1] + value_h + gap
        bottom_y = plot[3] - (value_h + gap if vmin < 0 else 0)
        span = vmax - vmin
        zero_y = bottom_y - (0 - vmin) / span * (bottom_y - top_y)
        xs = [sx0 + slot * (i + 0.5) for i in range(n)]
        self.chart = ChartLayout(kind=spec.kind, plot=plot, zero_y=zero_y, top_y=top_y, bottom_y=bottom_y, vmin=vmin, vmax=vmax,
                                 xs=xs, bar_w=slot * 0.62, colour=self.accent_rgb, values=list(spec.values),
                                 labels=list(spec.labels))
        self.bottom_y = bottom_y
        grow_start, grow = 0.25, self.scene.reveal_s * 1.5
        self.grow = (grow_start, grow)
        for i, (lb, vb) in enumerate(zip(labels, vblocks)):
            cx = xs[i]
            self.texts.append(_Text(lb, (round(cx - lb.width / 2), plot[3] + gap), self.muted_rgb, 0.05,
                                    self.scene.reveal_s, 0))
            self._region(f"label{i + 1}", lb, self.texts[-1].pos)
            v = spec.values[i]
            vy = self.chart.y_of(v)
            ty = round(vy - gap - vb.height) if v >= 0 else round(vy + gap)
            self.texts.append(_Text(vb, (round(cx - vb.width / 2), ty), self.text_rgb, grow_start + grow,
                                    max(0.2, self.scene.reveal_s * 0.5), 0))
            self._region(f"value{i + 1}", vb, self.texts[-1].pos)
            if not lb.fits or not vb.fits:
                self.overflow.append(f"label{i + 1}")

    def _region(self, role: str, block: TextBlock, pos: tuple[int, int]) -> None:
        pad = max(2, round(0.5 * self.u))
        x, y = pos
        self.regions.append(TextRegion(role, block.text, (x - pad, y - pad, x + block.width + pad,
                                                          y + block.height + pad), block.size, False))

    def draw_extra(self, frame: Image.Image, t: float) -> None:
        c = self.chart
        assert c is not None
        draw = ImageDraw.Draw(frame)
        base = mix(hex_rgb(self.theme.muted), hex_rgb(self.theme.background), 0.55)
        lw = max(1, round(0.3 * self.u))
        draw.line((c.plot[0], round(c.zero_y), c.plot[2], round(c.zero_y)), fill=base, width=lw)
        start, dur = self.grow
        if c.kind == "bar":
            for i, (x, v) in enumerate(zip(c.xs, c.values)):
                p = ease_in_out_cubic(progress(t, start + i * 0.04 * dur, dur * 0.9))
                if p <= 0:
                    continue
                y = c.y_of(v * p)
                y0, y1 = sorted((round(c.zero_y), round(y)))
                if y1 > y0:
                    draw.rectangle((round(x - c.bar_w / 2), y0, round(x + c.bar_w / 2) - 1, y1 - 1), fill=c.colour)
        else:
            p = ease_in_out_sine(progress(t, start, dur))
            if p <= 0:
                return
            pts = [(x, c.y_of(v)) for x, v in zip(c.xs, c.values)]
            reach = p * (len(pts) - 1)
            k = math.floor(reach)
            shown = pts[: k + 1]
            if k < len(pts) - 1:
                f = reach - k
                (xa, ya), (xb, yb) = pts[k], pts[k + 1]
                shown.append((xa + (xb - xa) * f, ya + (yb - ya) * f))
            width = max(2, round(0.7 * self.u))
            if len(shown) > 1:
                draw.line(shown, fill=c.colour, width=width, joint="curve")
            r = max(3, round(1.3 * self.u))
            for x, y in pts[: k + 1]:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=c.colour)


class ImageRenderer(SceneRenderer):
    """Full-bleed image with a slow pan/zoom (Ken Burns) and an optional caption on a backdrop."""

    plain_background = False

    def layout(self) -> None:
        path = Path(self.scene.image_path or "")
        try:
            with Image.open(path) as im:
                src = im.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise BadInputError(f"cannot read image {path} ({exc.__class__.__name__})",
                                field=f"scene[{self.scene.id}].image_path",
                                hint="give a PNG, JPEG or WebP file") from None
        zmax = max(self.scene.zoom)
        scale = max(self.W * zmax / src.width, self.H * zmax / src.height)
        tw, th = max(self.W, round(src.width * scale)), max(self.H, round(src.height * scale))
        src = src.resize((tw, th), Image.Resampling.LANCZOS)
        # crop to the frame's aspect ratio
        aspect = self.W / self.H
        if tw / th > aspect:
            cw = round(th * aspect)
            src = src.crop(((tw - cw) // 2, 0, (tw - cw) // 2 + cw, th))
        else:
            ch = round(tw / aspect)
            src = src.crop((0, (th - ch) // 2, tw, (th - ch) // 2 + ch))
        self.src = src
        self.backdrop_box = None
        text = self.scene.title or self.scene.subtitle
        if text:
            sx0, _, sx1, sy1 = self.safe
            pad = round(1.6 * self.u)
            item = self.add_text("caption", text, x=sx0 + pad, y=0, max_w=sx1 - sx0 - 2 * pad,
                                 max_h=round(self.H * 0.3), size=self.px(5), weight="bold", large=True)
            y = sy1 - pad - item.block.height
            item.pos = (sx0 + pad, y)
            bw = item.block.width
            p2 = max(2, round(0.6 * self.u))
            self.regions[-1] = TextRegion("caption", text, (sx0 + pad - p2, y - p2, sx0 + pad + bw + p2,
                                                            y + item.block.height + p2), item.block.size, True)
            self.backdrop_box = (sx0, y - pad, sx0 + bw + 2 * pad, sy1)

    def background(self, t: float) -> Image.Image:
        p = ease_in_out_sine(t / max(self.scene.duration_s, 1e-6))
        z0, z1 = self.scene.zoom
        z = (z0 + (z1 - z0) * p) / max(self.scene.zoom)
        sw, sh = self.src.size
        vw, vh = sw * z, sh * z
        px, py = self.scene.pan
        cx = sw / 2 + px * p * (sw - vw) / 2
        cy = sh / 2 + py * p * (sh - vh) / 2
        box = (cx - vw / 2, cy - vh / 2, cx + vw / 2, cy + vh / 2)
        return self.src.resize((self.W, self.H), Image.Resampling.BILINEAR, box=box)

    def draw_extra(self, frame: Image.Image, t: float) -> None:
        if self.backdrop_box is None or not self.scene.backdrop:
            return
        p = ease_out_cubic(progress(t, 0.05, self.scene.reveal_s))
        if p <= 0:
            return
        x0, y0, x1, y1 = self.backdrop_box
        region = frame.crop((x0, y0, x1, y1))
        dark = Image.new("RGB", region.size, hex_rgb(self.theme.background))
        frame.paste(Image.blend(region, dark, 0.78 * p), (x0, y0))


RENDERERS: dict[str, type[SceneRenderer]] = {
    "title": TitleRenderer, "cta": CtaRenderer, "bullets": BulletsRenderer, "chart": ChartRenderer,
    "image": ImageRenderer,
}


def renderer_for(scene: Scene, settings: RenderSettings, theme: Theme, *, logo: Image.Image | None = None
                 ) -> SceneRenderer:
    return RENDERERS[scene.kind](scene, settings, theme, logo=logo)


@dataclass
class SceneFrames:
    """Frame range of one scene in the final video (filled by the timeline)."""

    scene_id: str
    kind: str
    start: int
    end: int
    fade_start: int
    settle: int
    regions: list[TextRegion] = field(default_factory=list)
    chart: ChartLayout | None = None
    plain_background: bool = True
    overflow: list[str] = field(default_factory=list)
    cut_after: bool = False
