"""Keeping full garbage collections off the request path of a long-running host.

Python's collector rescans every tracked object on each full collection. A host keeps thousands of finished
runs for GET (and the models it loaded at start), so a full collection is a pause of every request in flight:
0.83 s once in a 200 x 50 A2A load, enough to make the slowest 1% of requests. The keeper moves what has
survived into the permanent generation every ``freeze_every_s`` (``gc.freeze()``, constant time) when
requests were served since, so automatic collections only look at recent objects; and it collects
everything (``gc.unfreeze()`` + ``gc.collect()``) once the host has been idle for ``idle_s`` — reference
cycles among frozen objects are freed only then — or, under load that never pauses, every ``full_every_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

Action = Literal["freeze", "full"]


class HeapKeeper:
    """Decides when to freeze survivors and when to run a full clean-up; ``run()`` acts on it."""

    def __init__(self, *, freeze_every_s: float = 10.0, idle_s: float = 1.0, full_every_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.freeze_every_s = freeze_every_s
        self.idle_s = idle_s
        self.full_every_s = full_every_s
        self._clock = clock
        now = clock()
        self.in_flight = 0
        self.served = 0  # requests finished since the last freeze
        self.last_active = now
        self.last_freeze = now
        self.last_full = now
        self.frozen_since_full = False
        self.full_collections = 0
        self.freezes = 0

    def enter(self) -> None:
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        self.served += 1
        self.last_active = self._clock()

    def due(self, now: float) -> Action | None:
        """What to do at ``now``: a full clean-up when idle after freezes (or when overdue), a freeze when
        requests were served since the last one, else nothing."""
        idle = self.in_flight == 0 and now - self.last_active >= self.idle_s
        if self.frozen_since_full and (idle or now - self.last_full >= self.full_every_s):
            return "full"
        if self.served and now - self.last_freeze >= self.freeze_every_s:
            return "freeze"
        return None

    def act(self, action: Action) -> None:
        now = self._clock()
        if action == "full":
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.last_full = now
            self.frozen_since_full = False
            self.full_collections += 1
        else:
            gc.freeze()
            self.frozen_since_full = True
            self.freezes += 1
        self.last_freeze = now
        self.served = 0

    async def run(self, tick_s: float = 0.25) -> None:
        while True:
            await asyncio.sleep(tick_s)  # the keeper's own cadence, not a wait for work
            action = self.due(self._clock())
            if action is not None:
                self.act(action)


class ActivityMiddleware:
    """Counts HTTP requests in flight for the keeper (plain ASGI: no per-request overhead beyond two calls)."""

    def __init__(self, app: Callable[..., Awaitable[None]], keeper: HeapKeeper) -> None:
        self.app = app
        self.keeper = keeper

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.keeper.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.keeper.leave()


@contextlib.asynccontextmanager
async def keeping(keeper: HeapKeeper) -> Any:
    """Run the keeper for the life of the app."""
    task = asyncio.create_task(keeper.run(), name="genesis-heap-keeper")
    try:
        yield keeper
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
