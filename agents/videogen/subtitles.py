"""SubRip (SRT) subtitles, always written: they carry the words when there is no narration."""

from __future__ import annotations

import re
from pathlib import Path

from .models import Storyboard

MAX_CUE_CHARS = 84  # two lines of 42, the common broadcast limit
LINE_CHARS = 42


def _ts(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _chunks(text: str) -> list[str]:
    words, out, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > MAX_CUE_CHARS:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return out + ([cur] if cur else [])


def _two_lines(text: str) -> str:
    if len(text) <= LINE_CHARS:
        return text
    mid = len(text) // 2
    left, right = text.rfind(" ", 0, mid + 1), text.find(" ", mid)
    cut = left if right == -1 or (left != -1 and mid - left <= right - mid) else right
    return text[:cut].strip() + "\n" + text[cut:].strip() if cut > 0 else text


def cue_text(scene) -> str:
    if scene.narration.strip():
        return scene.narration.strip()
    return ". ".join(t for t in scene.screen_text()[:4])


def build_srt(board: Storyboard, starts_s: list[float]) -> str:
    """SRT cues per scene, timed within the scene, split into readable two-line chunks."""
    cues: list[str] = []
    n = 0
    for scene, start in zip(board.scenes, starts_s):
        text = re.sub(r"\s+", " ", cue_text(scene))
        if not text:
            continue
        chunks = _chunks(text)
        span = max(0.5, scene.duration_s - 0.2)
        total = sum(len(c) for c in chunks)
        t = start + 0.1
        for c in chunks:
            d = span * len(c) / total
            n += 1
            cues.append(f"{n}\n{_ts(t)} --> {_ts(t + d)}\n{_two_lines(c)}\n")
            t += d
    return "\n".join(cues)


def write_srt(board: Storyboard, starts_s: list[float], path: Path) -> Path:
    path.write_text(build_srt(board, starts_s), encoding="utf-8")
    return path


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    """Read cues back (start, end, text); used by tests and by anyone re-timing subtitles."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.strip().splitlines()
        if len(lines) < 3:
            continue
        m = re.match(r"(\d+):(\d+):(\d+),(\d+) --> (\d+):(\d+):(\d+),(\d+)", lines[1])
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        out.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000,
                    " ".join(lines[2:])))
    return out
