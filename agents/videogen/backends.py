"""Pluggable generative-video backends (e.g. a diffusers text-to-video pipeline on a GPU).

Genesis renders videos deterministically with Pillow; a GPU user can add generated footage by passing a
backend that turns a prompt into frames. The generated clip is written to a PNG sequence's first frame
plus an MP4 the storyboard can use as an image scene. Nothing here is imported or downloaded unless a
backend is explicitly constructed: model weights must already be on disk (``local_files_only``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from genesis_agents.infrastructure.errors import BackendUnavailableError, BadInputError


@runtime_checkable
class GenerativeBackend(Protocol):
    """Turns a text prompt into RGB frames (uint8, shape (n, h, w, 3))."""

    name: str

    def available(self) -> bool: ...

    def generate(self, prompt: str, *, width: int, height: int, frames: int, fps: int, seed: int = 0
                 ) -> np.ndarray: ...


class DiffusersBackend:
    """A diffusers text-to-video pipeline loaded from a local directory (needs ``diffusers`` and a GPU)."""

    name = "diffusers"

    def __init__(self, model_dir: str | Path, *, device: str = "cuda", steps: int = 25):
        self.model_dir, self.device, self.steps = Path(model_dir), device, steps
        self._pipe = None

    def available(self) -> bool:
        try:
            import diffusers  # noqa: F401
            import torch
        except ImportError:
            return False
        return self.model_dir.is_dir() and (self.device != "cuda" or torch.cuda.is_available())

    def _load(self):
        if self._pipe is not None:
            return self._pipe
        try:
            import torch
            from diffusers import DiffusionPipeline
        except ImportError:
            raise BackendUnavailableError("diffusers", "the diffusers package is not installed",
                                          hint="pip install diffusers") from None
        if not self.model_dir.is_dir():
            raise BackendUnavailableError("diffusers", f"no model directory at {self.model_dir}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("diffusers", "no CUDA device is available")
        dtype = torch.float16 if self.device == "cuda" else torch.float32
        self._pipe = DiffusionPipeline.from_pretrained(str(self.model_dir), torch_dtype=dtype,
                                                       local_files_only=True).to(self.device)
        return self._pipe

    def generate(self, prompt: str, *, width: int, height: int, frames: int, fps: int, seed: int = 0
                 ) -> np.ndarray:
        if not prompt.strip():
            raise BadInputError("the prompt is empty", field="prompt")
        import torch

        pipe = self._load()
        gen = torch.Generator(device=self.device).manual_seed(seed)
        out = pipe(prompt, num_frames=frames, width=width, height=height, num_inference_steps=self.steps,
                   generator=gen, output_type="np")
        video = np.asarray(out.frames[0])
        if video.dtype != np.uint8:
            video = (np.clip(video, 0.0, 1.0) * 255).round().astype(np.uint8)
        return video


def still_from_backend(backend: GenerativeBackend, prompt: str, out: Path, *, width: int, height: int,
                       fps: int = 8, frames: int = 8, seed: int = 0) -> Path:
    """Generate a short clip and keep its middle frame as a PNG an image scene can pan across."""
    if not backend.available():
        raise BackendUnavailableError(backend.name, "backend is not available on this host")
    clip = backend.generate(prompt, width=width, height=height, frames=frames, fps=fps, seed=seed)
    if clip.ndim != 4 or clip.shape[-1] != 3 or len(clip) == 0:
        raise BackendUnavailableError(backend.name, f"returned frames of shape {clip.shape}, expected (n, h, w, 3)")
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(clip[len(clip) // 2]).save(out)
    return out
