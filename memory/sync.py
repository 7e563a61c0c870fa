"""Sync wrappers for the async memory API, usable from plain scripts and from inside a running loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from genesis_agents.infrastructure.contracts import MemoryHit, MemoryItem, RecallMode, Triple

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion. Inside a running event loop it runs on a helper thread (never nested)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class SyncHelpers:
    """Mixin: ``remember_sync``/``recall_sync``/... for callers without an event loop (CLI, notebooks)."""

    def remember_sync(self, item: MemoryItem, *, triples: Sequence[Triple] = ()) -> MemoryItem:
        return run_sync(self.remember(item, triples=triples))  # type: ignore[attr-defined]

    def recall_sync(self, query: str, *, k: int = 5, namespace: str = "default", mode: RecallMode = "hybrid",
                    filters: dict[str, Any] | None = None) -> list[MemoryHit]:
        return run_sync(self.recall(query, k=k, namespace=namespace, mode=mode,  # type: ignore[attr-defined]
                                    filters=filters))

    def relate_sync(self, subject: str, predicate: str, object: str, *, namespace: str = "default",
                    **properties: Any) -> Triple:
        return run_sync(self.relate(subject, predicate, object, namespace=namespace,  # type: ignore[attr-defined]
                                    **properties))

    def neighbours_sync(self, entity: str, *, hops: int = 1, namespace: str = "default") -> list[Triple]:
        return run_sync(self.neighbours(entity, hops=hops, namespace=namespace))  # type: ignore[attr-defined]

    def forget_sync(self, ids: Sequence[str] | None = None, *, namespace: str = "default",
                    filters: dict[str, Any] | None = None) -> int:
        return run_sync(self.forget(ids, namespace=namespace, filters=filters))  # type: ignore[attr-defined]

    def close(self) -> None:
        run_sync(self.aclose())  # type: ignore[attr-defined]
