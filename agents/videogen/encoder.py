"""H.264/AAC encoding and decoding with PyAV (FFmpeg's libraries, no ffmpeg binary needed).

Encoding: RGB frames -> libx264 yuv420p (plays everywhere: browsers, phones, slide decks), optional mono
AAC narration, MP4 with the moov atom up front (``+faststart``) so it streams. Decoding: what the critics
and the tests use to look at the *rendered* video rather than at the plan.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from genesis_agents.infrastructure.errors import BackendUnavailableError, BadInputError
from PIL import Image

from .models import RenderSettings


@dataclass
class EncodeStats:
    frames: int = 0
    render_s: float = 0.0
    encode_s: float = 0.0
    wall_s: float = 0.0
    audio: bool = False

    @property
    def render_fps(self) -> float:
        return self.frames / self.render_s if self.render_s else 0.0

    @property
    def wall_fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0

    @property
    def encode_fps(self) -> float:
        return self.frames / self.encode_s if self.encode_s else 0.0


def to_yuv(arr: np.ndarray) -> av.VideoFrame:
    """RGB array -> yuv420p frame: a zero-copy wrap, then swscale (which runs without the GIL)."""
    src = (av.VideoFrame.from_numpy_buffer(arr, format="rgb24") if arr.flags.c_contiguous
           else av.VideoFrame.from_ndarray(arr, format="rgb24"))
    return src.reformat(format="yuv420p")


class _Prefetch:
    """Render frames and convert them to yuv420p on a worker thread while the caller encodes.

    Pillow, swscale and x264 all release the GIL, so on two cores rendering and colour conversion overlap
    with encoding. Bounded, so memory stays at ``depth`` frames.
    """

    _END = object()

    def __init__(self, frames: Iterable[Image.Image | np.ndarray], shape: tuple[int, int, int], depth: int = 4):
        self._it = iter(frames)
        self._shape = shape
        self._q: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.render_s = 0.0
        self.convert_s = 0.0
        self._thread = threading.Thread(target=self._run, name="videogen-render", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            index = 0
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    img = next(self._it)
                except StopIteration:
                    break
                arr = np.asarray(img, dtype=np.uint8)
                t1 = time.perf_counter()
                if arr.shape != self._shape:
                    raise BadInputError(f"frame {index} has shape {arr.shape}, expected {self._shape}",
                                        field="frames")
                frame = to_yuv(arr)
                self.render_s += t1 - t0
                self.convert_s += time.perf_counter() - t1
                index += 1
                if not self._put(frame):
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer thread
            self.error = exc
        self._put(self._END)

    def __iter__(self) -> Iterator[av.VideoFrame]:
        while True:
            item = self._q.get()
            if item is self._END:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def encode(
    frames: Iterable[Image.Image | np.ndarray],
    path: str | Path,
    settings: RenderSettings,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int = 22050,
    on_frame: Callable[[int], None] | None = None,
    prefetch: bool = True,
) -> EncodeStats:
    """Encode ``frames`` (RGB, all of the settings' size) to an MP4 at ``path``.

    Time spent producing frames (rendering) and encoding them (colour conversion + x264) is measured
    separately; with ``prefetch`` rendering and conversion run on a worker thread, overlapped with x264. ``audio`` is mono int16 PCM at
    ``sample_rate``; it is encoded as AAC and interleaved with the video.
    """
    if "libx264" not in av.codecs_available:
        raise BackendUnavailableError("libx264", "this FFmpeg build of PyAV has no H.264 encoder")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = EncodeStats(audio=audio is not None and len(audio) > 0)
    wall0 = time.perf_counter()
    shape = (settings.height, settings.width, 3)
    source = _Prefetch(frames, shape) if prefetch else None
    container = av.open(str(path), mode="w", options={"movflags": "+faststart"})
    try:
        vs = container.add_stream("libx264", rate=settings.fps)
        vs.width, vs.height, vs.pix_fmt = settings.width, settings.height, "yuv420p"
        vs.codec_context.time_base = Fraction(1, settings.fps)
        vs.options = {"crf": str(settings.crf), "preset": settings.preset}
        astream = None
        pcm = None
        if stats.audio:
            astream = container.add_stream("aac", rate=sample_rate)
            astream.layout = "mono"
            pcm = np.asarray(audio, dtype=np.int16).reshape(1, -1)
        apos = 0
        it: Iterator = iter(source) if source is not None else iter(frames)
        index = 0
        while True:
            t0 = time.perf_counter()
            try:
                img = next(it)
            except StopIteration:
                break
            if source is None:
                arr = np.asarray(img, dtype=np.uint8)
                t1 = time.perf_counter()
                stats.render_s += t1 - t0
                if arr.shape != shape:
                    raise BadInputError(f"frame {index} has shape {arr.shape}, expected {shape}", field="frames")
                vf = to_yuv(arr)
            else:
                t1 = time.perf_counter()
                vf = img
            vf.pts = index
            for packet in vs.encode(vf):
                container.mux(packet)
            if astream is not None and pcm is not None:  # keep audio roughly interleaved with video
                until = min(pcm.shape[1], round((index + 1) / settings.fps * sample_rate))
                apos = _push_audio(container, astream, pcm, apos, until, sample_rate)
            stats.encode_s += time.perf_counter() - t1
            index += 1
            if on_frame is not None:
                on_frame(index)
        t1 = time.perf_counter()
        for packet in vs.encode(None):
            container.mux(packet)
        if astream is not None and pcm is not None:
            apos = _push_audio(container, astream, pcm, apos, pcm.shape[1], sample_rate)
            for packet in astream.encode(None):
                container.mux(packet)
        stats.encode_s += time.perf_counter() - t1
        stats.frames = index
    finally:
        if source is not None:
            source.close()
            stats.render_s = source.render_s
            stats.encode_s += source.convert_s
        container.close()
    stats.wall_s = time.perf_counter() - wall0
    if stats.frames == 0:
        raise BadInputError("no frames to encode", field="frames")
    return stats


def _push_audio(container, stream, pcm: np.ndarray, start: int, end: int, rate: int, chunk: int = 4096) -> int:
    while start < end:
        stop = min(end, start + chunk)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, start:stop]), format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
        start = stop
    return start


@dataclass
class VideoInfo:
    """What a decoded MP4 actually contains."""

    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    codec: str
    pix_fmt: str
    audio: bool
    audio_duration_s: float = 0.0
    extra: dict = field(default_factory=dict)


def probe(path: str | Path) -> VideoInfo:
    """Decode every video frame (counting them exactly) and report the stream properties."""
    return inspect_video(path, (), thumb=None)[0]


def inspect_video(path: str | Path, indices: Sequence[int] = (), *, thumb: tuple[int, int] | None = (96, 54)
                  ) -> tuple[VideoInfo, dict[int, np.ndarray], np.ndarray]:
    """One decoding pass: stream facts, full RGB frames at ``indices`` and a grey thumbnail of every frame.

    The frame count is counted, not read from the header. Thumbnails (float32, 0..1, shape (n, h, w)) feed
    the temporal-coherence critic.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"no video at {path}", field="path")
    wanted = set(indices)
    full: dict[int, np.ndarray] = {}
    thumbs: list[np.ndarray] = []
    n = 0
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise BadInputError(f"cannot decode {path}: {exc}", field="path") from None
    with container:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        for frame in container.decode(vs):
            if n in wanted:
                full[n] = frame.to_ndarray(format="rgb24")
            if thumb is not None:
                g = frame.reformat(width=thumb[0], height=thumb[1], format="gray")
                thumbs.append(g.to_ndarray().astype(np.float32) / 255.0)
            n += 1
        fps = float(vs.average_rate or vs.base_rate or 0)
        info = VideoInfo(width=vs.codec_context.width, height=vs.codec_context.height, fps=fps, frames=n,
                         duration_s=n / fps if fps else 0.0, codec=vs.codec_context.name,
                         pix_fmt=str(vs.codec_context.pix_fmt), audio=bool(container.streams.audio))
        if container.streams.audio:
            a = container.streams.audio[0]
            if a.duration is not None and a.time_base is not None:
                info.audio_duration_s = float(a.duration * a.time_base)
    arr = np.stack(thumbs) if thumbs else np.zeros((0, 1, 1), np.float32)
    return info, full, arr
