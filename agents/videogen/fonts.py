"""Font loading with a bundled fallback.

The package ships DejaVu Sans (Bitstream Vera licence, see ``fonts/LICENSE-DejaVu.txt``) so rendering
never depends on what the host has installed. A caller may point at another TTF; if it cannot be read we
fall back to the bundled face and say so, instead of failing or silently using Pillow's bitmap font.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PIL import ImageFont

FONT_DIR = Path(__file__).with_name("fonts")
BUNDLED = {"regular": FONT_DIR / "DejaVuSans.ttf", "bold": FONT_DIR / "DejaVuSans-Bold.ttf"}
log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=256)
def _load(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size)


def font(size: int, *, weight: str = "regular", path: str | Path | None = None) -> ImageFont.FreeTypeFont:
    """A TrueType font of ``size`` px. ``path`` (optional) is tried first; the bundled face is the fallback."""
    size = max(1, int(size))
    if path is not None:
        try:
            return _load(str(path), size)
        except OSError:
            log.warning("font %s could not be read; using bundled DejaVu Sans", path)
    return _load(str(BUNDLED.get(weight, BUNDLED["regular"])), size)


def font_usable(path: str | Path) -> bool:
    """True if ``path`` is a font Pillow can load (used to report a missing custom font)."""
    try:
        ImageFont.truetype(str(path), size=12)
        return True
    except OSError:
        return False
