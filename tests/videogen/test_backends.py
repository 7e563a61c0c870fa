"""The pluggable generative backend interface (a GPU diffusers pipeline is optional and absent here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from genesis_agents.agents.videogen import RenderSettings, Scene, Storyboard
from genesis_agents.agents.videogen.backends import DiffusersBackend, GenerativeBackend, still_from_backend
from genesis_agents.agents.videogen.pipeline import render_round
from genesis_agents.infrastructure.errors import BackendUnavailableError


class NoiseFieldBackend:
    """A procedural text-to-frames generator: the prompt seeds a smooth colour field (no model weights)."""

    name = "noise-field"

    def available(self) -> bool:
        return True

    def generate(self, prompt: str, *, width: int, height: int, frames: int, fps: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(sum(prompt.encode()) + seed)
        base = rng.uniform(40, 215, size=3)
        y, x = np.mgrid[0:height, 0:width] / max(width, height)
        out = []
        for t in range(frames):
            phase = 2 * np.pi * t / max(1, frames)
            field = np.sin(6 * x + phase)[..., None] * 30 + np.cos(5 * y - phase)[..., None] * 30
            out.append(np.clip(base + field, 0, 255).astype(np.uint8))
        return np.stack(out)


def test_protocol_and_generated_still_feeds_an_image_scene(tmp_path: Path, small: RenderSettings) -> None:
    backend = NoiseFieldBackend()
    assert isinstance(backend, GenerativeBackend)
    png = still_from_backend(backend, "sunrise over a city", tmp_path / "gen.png", width=480, height=270)
    board = Storyboard(title="Generated", target_duration_s=3.0, scenes=[
        Scene(id="g", kind="image", image_path=str(png), title="Sunrise", backdrop=True, duration_s=3.0)])
    r = render_round(board, small, tmp_path / "v.mp4", narration=None)
    assert r.info.frames == 30 and r.critique.get("legibility").passed


def test_diffusers_backend_reports_unavailable(tmp_path: Path) -> None:
    backend = DiffusersBackend(tmp_path / "no-model")
    assert isinstance(backend, GenerativeBackend)
    assert backend.available() is False
    with pytest.raises(BackendUnavailableError) as exc:
        still_from_backend(backend, "a product shot", tmp_path / "x.png", width=320, height=180)
    assert exc.value.backend == "diffusers"
