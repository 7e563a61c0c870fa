"""Hybrid RAG memory shared by all agents: vector store, graph store, fused retrieval.

``InProcessMemory`` (dicts, no dependencies) and ``HybridMemory`` (Chroma + a Cypher graph database +
SQLite FTS5) implement the same ``Memory`` protocol from ``genesis_agents.infrastructure.contracts``.
Heavy backends are imported lazily so that importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .inprocess import InProcessMemory
from .limits import MemoryLimits

if TYPE_CHECKING:  # pragma: no cover
    from .hybrid import HybridMemory, MemoryConfig

__all__ = ["HybridMemory", "InProcessMemory", "MemoryConfig", "MemoryLimits", "build_memory"]


def __getattr__(name: str) -> Any:
    if name in ("HybridMemory", "MemoryConfig", "build_memory"):
        from . import hybrid

        return getattr(hybrid, name)
    raise AttributeError(name)
