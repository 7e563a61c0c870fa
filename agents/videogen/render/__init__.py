"""Frame rendering: scene renderers, the timeline that sequences them, colour science for legibility."""

from .scenes import ChartLayout, SceneFrames, SceneRenderer, TextRegion, renderer_for
from .timeline import Timeline

__all__ = ["ChartLayout", "SceneFrames", "SceneRenderer", "TextRegion", "Timeline", "renderer_for"]
