"""Critics that measure a rendered video (VISTA's critique step): legibility, temporal coherence,
pacing, duration match and chart data fidelity."""

from __future__ import annotations

from collections.abc import Callable

from .base import CriticResult, Critique, Evidence, Issue, inspect_indices
from .duration import duration
from .fidelity import fidelity, read_chart
from .legibility import legibility, measure_text
from .pacing import pacing
from .temporal import temporal

CRITICS: dict[str, Callable[[Evidence], CriticResult]] = {
    "legibility": legibility, "temporal": temporal, "pacing": pacing, "duration": duration, "fidelity": fidelity,
}


def critique(ev: Evidence, names: list[str] | None = None) -> Critique:
    """Run the named critics (all by default) on the evidence."""
    return Critique(results=[CRITICS[n](ev) for n in (names or list(CRITICS))])


__all__ = [
    "CRITICS",
    "CriticResult",
    "Critique",
    "Evidence",
    "Issue",
    "critique",
    "inspect_indices",
    "measure_text",
    "read_chart",
]
