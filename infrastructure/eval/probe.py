"""Measure artifact files: video duration/size/fps/audio with PyAV, image size with Pillow.

Expectations are checked against what the file really contains, never against the metadata the agent
wrote about it, so a video that claims 5 s but holds 2 s fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
MEDIA_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mp3", ".wav",
                  ".ogg", ".oga", ".flac", ".m4a", ".aac", ".opus"}


def probe_file(path: str | Path, media_type: str | None = None) -> dict[str, Any]:
    """Return measured properties: ``size_bytes`` always; ``width``/``height`` for images and videos;
    ``duration_s``, ``fps``, ``frames``, ``has_audio`` for audio/video files. ``error`` if unreadable.
    Other files (JSON, SRT, HTML) only get their size."""
    p = Path(path)
    if not p.is_file():
        return {"exists": False}
    props: dict[str, Any] = {"exists": True, "size_bytes": p.stat().st_size}
    kind = (media_type or "").split("/", 1)[0]
    try:
        if kind == "image" or p.suffix.lower() in IMAGE_SUFFIXES:
            props.update(_probe_image(p))
        elif kind in ("video", "audio") or p.suffix.lower() in MEDIA_SUFFIXES:
            props.update(_probe_media(p))
    except Exception as exc:  # noqa: BLE001 - a corrupt file is a failed expectation, not a crashed run
        props["error"] = f"{type(exc).__name__}: {exc}"
    return props


def _probe_image(p: Path) -> dict[str, Any]:
    from PIL import Image

    with Image.open(p) as img:
        return {"width": img.width, "height": img.height, "format": img.format, "mode": img.mode}


def _probe_media(p: Path) -> dict[str, Any]:
    import av

    with av.open(str(p)) as container:
        out: dict[str, Any] = {"format": container.format.name}
        video = next(iter(container.streams.video), None)
        out["has_audio"] = bool(container.streams.audio)
        duration = container.duration / av.time_base if container.duration else None
        if video is not None:
            out["width"] = video.codec_context.width
            out["height"] = video.codec_context.height
            rate = video.average_rate or video.guessed_rate
            out["fps"] = float(rate) if rate else None
            out["frames"] = video.frames or None
            if duration is None and video.duration is not None and video.time_base is not None:
                duration = float(video.duration * video.time_base)
        if duration is None:  # some muxers leave the header empty: count the packets instead
            last = 0.0
            for packet in container.demux(video) if video is not None else []:
                if packet.pts is not None and packet.time_base is not None:
                    last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            duration = last or None
        out["duration_s"] = round(duration, 4) if duration is not None else None
        return out
