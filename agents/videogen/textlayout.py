"""Text wrapping and fitting: turn a string into an anti-aliased glyph mask that fits a box.

Masks are rendered once per scene and composited per frame (fading is a lookup table on the mask), which
is what keeps rendering fast. Fitting shrinks the font no further than the legibility floor; if the text
still does not fit, the block says so (``fits=False``) and the planner/refiner splits the scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from .fonts import font

LINE_SPACING = 1.42
#: Measured ink height of a typical line (cap/ascender top to baseline) relative to the font size.
INK_RATIO = 0.70


@dataclass
class TextBlock:
    """Wrapped text rendered as a coverage mask (``L`` image, 255 = full ink)."""

    text: str
    lines: list[str]
    size: int
    line_height: int
    mask: Image.Image
    fits: bool

    @property
    def width(self) -> int:
        return self.mask.width

    @property
    def height(self) -> int:
        return self.mask.height


def min_font_size(min_text_px: int) -> int:
    """The smallest font size whose measured ink height reaches ``min_text_px``."""
    return math.ceil(min_text_px / INK_RATIO)


def _break_word(word: str, f: ImageFont.FreeTypeFont, max_w: float) -> list[str]:
    parts, cur = [], ""
    for ch in word:
        if cur and f.getlength(cur + ch) > max_w:
            parts.append(cur)
            cur = ch
        else:
            cur += ch
    return parts + ([cur] if cur else [])


def wrap(text: str, f: ImageFont.FreeTypeFont, max_w: float) -> list[str]:
    """Greedy word wrap by measured advance widths; over-long words are broken by characters."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        cur = ""
        words: list[str] = []
        for word in para.split():  # long hyphenated words may break after a hyphen
            if "-" in word.strip("-") and f.getlength(word) > max_w:
                parts = word.split("-")
                words.extend([p + "-" for p in parts[:-1]] + [parts[-1]])
            else:
                words.append(word)
        for word in words:
            glue = "" if cur.endswith("-") and cur[-2:-1].isalnum() else " "
            trial = f"{cur}{glue}{word}" if cur else word
            if f.getlength(trial) <= max_w:
                cur = trial
                continue
            if cur:
                lines.append(cur)
            if f.getlength(word) <= max_w:
                cur = word
            else:
                *full, cur = _break_word(word, f, max_w)
                lines.extend(full)
        lines.append(cur)
    return [ln for ln in lines if ln] or [""]


def fit_text(
    text: str, *, max_w: int, max_h: int, size: int, min_size: int, weight: str = "regular",
    max_lines: int | None = None, align: str = "left", font_path: str | None = None,
) -> TextBlock:
    """Wrap ``text`` into ``max_w``x``max_h``, shrinking from ``size`` down to ``min_size`` if needed.

    ``font_path`` (optional) is a custom TTF used for every weight; the bundled face is the fallback."""
    size = max(size, min_size)
    while True:
        f = font(size, weight=weight, path=font_path)
        lines = wrap(text, f, max_w)
        ascent, descent = f.getmetrics()
        lh = round(size * LINE_SPACING)
        height = lh * (len(lines) - 1) + ascent + descent
        width = max(1, math.ceil(max(f.getlength(ln) for ln in lines)))
        fits = height <= max_h and width <= max_w and (max_lines is None or len(lines) <= max_lines)
        if fits or size <= min_size:
            break
        size = max(min_size, int(size * 0.9))
    mask = Image.new("L", (width, max(1, height)), 0)
    draw = ImageDraw.Draw(mask)
    for i, line in enumerate(lines):
        x = 0.0
        if align == "center":
            x = (width - f.getlength(line)) / 2
        draw.text((x, i * lh), line, font=f, fill=255)
    return TextBlock(text=text, lines=lines, size=size, line_height=lh, mask=mask, fits=fits)
