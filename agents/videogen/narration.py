"""Optional narration with espeak-ng: one WAV per scene, laid out on the video's timeline.

espeak-ng is a small offline speech synthesiser (``apt-get install espeak-ng``). When it is missing the
video is silent and the subtitles carry the words; ``narration="on"`` turns that into an error instead.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
from genesis_agents.infrastructure.errors import BackendUnavailableError

from .models import RenderSettings, Storyboard

TTS_TIMEOUT_S = 60.0


def tts_binary() -> str | None:
    """Path of espeak-ng (or classic espeak), or None."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def wants_narration(settings: RenderSettings) -> bool:
    if settings.narration == "off":
        return False
    if tts_binary() is None:
        if settings.narration == "on":
            raise BackendUnavailableError("espeak-ng", "text-to-speech is not installed",
                                          hint="apt-get install espeak-ng, or set narration to 'auto' or 'off'")
        return False
    return True


def synthesize(text: str, out: Path, settings: RenderSettings) -> tuple[np.ndarray, int]:
    """Speak ``text`` into ``out`` (WAV) and return (mono int16 samples, sample rate)."""
    binary = tts_binary()
    if binary is None:
        raise BackendUnavailableError("espeak-ng", "text-to-speech is not installed")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([binary, "-v", settings.voice, "-s", str(settings.words_per_minute), "-w", str(out), text],
                       check=True, capture_output=True, timeout=TTS_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[:200] or str(exc)
        raise BackendUnavailableError("espeak-ng", f"synthesis failed: {detail}") from None
    with wave.open(str(out), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise BackendUnavailableError("espeak-ng", f"unexpected sample width {width}")
    pcm = np.frombuffer(raw, dtype=np.int16)
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return pcm, rate


class Narration:
    """Per-scene speech, synthesised once per distinct text (cached in ``workdir``)."""

    def __init__(self, workdir: Path, settings: RenderSettings):
        self.workdir, self.settings = workdir, settings
        self.clips: dict[str, tuple[np.ndarray, int]] = {}

    def prepare(self, board: Storyboard) -> dict[str, float]:
        """Synthesise every scene's narration; return spoken seconds per scene id."""
        out: dict[str, float] = {}
        for scene in board.scenes:
            text = scene.narration.strip()
            if not text:
                continue
            key = hashlib.sha1(f"{self.settings.voice}|{self.settings.words_per_minute}|{text}".encode()).hexdigest()[:16]
            if key not in self.clips:
                self.clips[key] = synthesize(text, self.workdir / f"tts_{key}.wav", self.settings)
            pcm, rate = self.clips[key]
            self.clips[scene.id] = (pcm, rate)
            out[scene.id] = len(pcm) / rate
        return out

    def track(self, board: Storyboard, starts_s: list[float], total_s: float) -> tuple[np.ndarray, int] | None:
        """One mono track of the video's length with each scene's speech at its start (cut at scene end)."""
        rates = {r for sid, (_, r) in self.clips.items() if any(s.id == sid for s in board.scenes)}
        if not rates:
            return None
        rate = rates.pop()
        track = np.zeros(round(total_s * rate), dtype=np.int16)
        for scene, start in zip(board.scenes, starts_s):
            clip = self.clips.get(scene.id)
            if clip is None:
                continue
            pcm, _ = clip
            a = round((start + 0.1) * rate)
            room = min(len(pcm), round(scene.duration_s * rate) - round(0.1 * rate), len(track) - a)
            if room > 0:
                track[a:a + room] = pcm[:room]
        return track, rate
