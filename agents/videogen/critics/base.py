"""Critic results and the evidence they measure (a decoded video plus where each scene lives in it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from ..encoder import VideoInfo
from ..models import RenderSettings, Storyboard
from ..render.scenes import SceneFrames


class Issue(BaseModel):
    """One concrete problem found in the rendered video, tied to a scene so the refiner can act on it."""

    critic: str
    scene_id: str | None = None
    code: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class CriticResult(BaseModel):
    name: str
    score: float = Field(ge=0.0, le=1.0)
    passed: bool
    threshold: float
    details: dict[str, Any] = Field(default_factory=dict)
    issues: list[Issue] = Field(default_factory=list)


class Critique(BaseModel):
    """All critics' verdicts on one rendered video."""

    results: list[CriticResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def overall(self) -> float:
        return round(sum(r.score for r in self.results) / max(1, len(self.results)), 4)

    @property
    def issues(self) -> list[Issue]:
        return [i for r in self.results for i in r.issues]

    def scores(self) -> dict[str, float]:
        return {r.name: round(r.score, 4) for r in self.results} | {"overall": self.overall}

    def get(self, name: str) -> CriticResult | None:
        return next((r for r in self.results if r.name == name), None)

    def report(self) -> dict[str, Any]:
        return {
            "scores": self.scores(),
            "passed": self.passed,
            "issues": [i.model_dump() for i in self.issues],
            "details": {r.name: r.details for r in self.results},
        }


@dataclass
class Evidence:
    """What the critics look at: the decoded video and the frame ranges of its scenes."""

    path: str
    info: VideoInfo
    board: Storyboard
    settings: RenderSettings
    scenes: list[SceneFrames]
    frames: dict[int, np.ndarray]
    thumbs: np.ndarray
    narration_s: dict[str, float] = field(default_factory=dict)

    def inspect_index(self, sf: SceneFrames) -> int:
        """The last frame that shows this scene alone (before its outgoing cross-fade starts)."""
        return max(sf.start, min(sf.fade_start, sf.end) - 1)


def inspect_indices(scenes: list[SceneFrames]) -> list[int]:
    return [max(s.start, min(s.fade_start, s.end) - 1) for s in scenes]
