"""Per-event-loop values: objects that asyncio binds to the loop that first used them.

A semaphore, an ``httpx.AsyncClient`` or a checkpointer connection made under one event loop fails or hangs
under another, so a host used from several loops (``asyncio.run`` per call, a test per loop) keeps one per
loop. A plain dict keyed by ``id(loop)`` goes wrong twice: a closed loop's id can be reused by a later loop,
which would then be handed the dead loop's objects; and every closed loop stays referenced (with its
semaphores, clients and connections) for the life of the host. Here a value is handed out only to the very
loop it was made for, and the values of loops that have been closed are discarded when a new loop arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")
log = logging.getLogger(__name__)


class LoopLocal(Generic[V]):
    """One value per running event loop (see the module docstring).

    ``discard`` is called with the value of a loop found closed, to release what it holds without that loop
    (it must not need the loop; errors are logged, not raised).
    """

    def __init__(self, discard: Callable[[V], None] | None = None) -> None:
        self._by_loop: dict[int, tuple[asyncio.AbstractEventLoop, V]] = {}
        self._discard = discard

    def current(self) -> V | None:
        """The running loop's value, or None if it has none yet (call from inside the loop)."""
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(id(loop))
        return entry[1] if entry is not None and entry[0] is loop else None

    def get(self, factory: Callable[[], V]) -> V:
        """The running loop's value, made now by ``factory`` if this loop has none."""
        value = self.current()
        if value is None:
            value = factory()
            self.set(value)
        return value

    def set(self, value: V) -> None:
        """Make ``value`` the running loop's value (e.g. replacing a client that was closed)."""
        loop = asyncio.get_running_loop()
        if id(loop) not in self._by_loop:
            self._drop_closed()
        self._by_loop[id(loop)] = (loop, value)

    def pop_all(self) -> list[V]:
        """Every loop's value, forgotten here (for closing them)."""
        values = [value for _, value in self._by_loop.values()]
        self._by_loop.clear()
        return values

    def __len__(self) -> int:
        return len(self._by_loop)

    def _drop_closed(self) -> None:
        for key, (loop, value) in list(self._by_loop.items()):
            if loop.is_closed():
                del self._by_loop[key]
                if self._discard is not None:
                    try:
                        self._discard(value)
                    except Exception:
                        log.warning("releasing a closed event loop's %s failed", type(value).__name__, exc_info=True)
