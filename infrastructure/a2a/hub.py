"""``RunHub``: runs started over the network (HTTP API and A2A), their buffered events and their results.

Why a hub between the web layer and ``Genesis``: a client submits a task and may come back later (poll,
stream, resubscribe, cancel) on another connection, so each run is driven by a background asyncio task
that buffers its events (bounded) and keeps its result (bounded number of finished runs). Runs are owned
by the API key that started them; another key cannot see them (it gets "not found", never "forbidden").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any, Literal, Protocol

from ..contracts import DoneEvent, RunResult, Task, new_id
from ..errors import GenesisError, LimitExceededError, NotFoundError
from .settings import ServeSettings

log = logging.getLogger(__name__)

HandleStatus = Literal["queued", "running", "succeeded", "partial", "failed", "cancelled", "interrupted"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "partial", "failed", "cancelled", "interrupted"})


class GenesisHost(Protocol):
    """The part of the ``Genesis`` facade the server needs."""

    def astream(self, task: Task | str, *, run_id: str | None = None, **fields: Any) -> AsyncIterator[Any]: ...

    def cancel(self, run_id: str) -> bool: ...

    def cards(self) -> list[Any]: ...

    def make_task(self, task: Task | str, **fields: Any) -> Task: ...


@dataclass
class RunHandle:
    """One network-started run. ``events`` holds JSON-ready dicts (``type`` + fields), oldest first."""

    run_id: str
    task: Task
    owner: str
    status: HandleStatus = "queued"
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    result: RunResult | None = None
    error: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    dropped_events: int = 0
    cancel_requested: bool = False
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)
    _job: asyncio.Task[None] | None = field(default=None, repr=False)
    _seq: int = 0

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


def _has_news(handle: RunHandle, seen: int) -> bool:
    return handle.done or bool(handle.events and handle.events[-1]["seq"] > seen)


class RunHub:
    def __init__(self, genesis: GenesisHost, settings: ServeSettings | None = None) -> None:
        self.genesis = genesis
        self.settings = settings or ServeSettings()
        self._runs: OrderedDict[str, RunHandle] = OrderedDict()
        self._slots = asyncio.Semaphore(self.settings.max_active_runs)

    # ------------------------------------------------------------------------------------ submit

    def submit(self, task: Task, *, owner: str) -> RunHandle:
        """Validate against the host's limits and start the run in the background. Returns at once."""
        task = self.genesis.make_task(task)
        self._evict()
        if len(self._runs) >= self.settings.max_kept_runs:
            raise LimitExceededError(
                f"{len(self._runs)} runs are active or kept, the limit is {self.settings.max_kept_runs}",
                limit="serve_max_kept_runs", value=len(self._runs), maximum=self.settings.max_kept_runs,
                hint="retry later, or raise GENESIS_SERVE_MAX_KEPT_RUNS",
            )
        handle = RunHandle(run_id=new_id("run_"), task=task, owner=owner)
        self._runs[handle.run_id] = handle
        handle._job = asyncio.ensure_future(self._drive(handle))
        return handle

    async def _drive(self, handle: RunHandle) -> None:
        try:
            async with self._slots:
                if handle.cancel_requested:
                    await self._finish(handle, "cancelled", error={"code": "cancelled", "message": "cancelled"})
                    return
                await self._set_status(handle, "running")
                async for event in self.genesis.astream(handle.task, run_id=handle.run_id):
                    await self._record(handle, event)
                    if isinstance(event, DoneEvent):
                        handle.result = event.result
                status = handle.result.status if handle.result else "failed"
                await self._finish(handle, status if status in TERMINAL else "failed")
        except asyncio.CancelledError:
            await self._finish(handle, "cancelled", error={"code": "cancelled", "message": "run was cancelled"})
        except GenesisError as exc:
            await self._finish(handle, "failed", error=exc.to_dict())
        except Exception as exc:
            log.exception("run %s failed", handle.run_id)
            await self._finish(handle, "failed", error={"code": "internal", "message": f"{type(exc).__name__}: {exc}"})

    async def _record(self, handle: RunHandle, event: Any) -> None:
        data = event.model_dump(mode="json") if hasattr(event, "model_dump") else {"type": "unknown", "value": str(event)}
        async with handle._changed:
            handle._seq += 1
            data["seq"] = handle._seq
            handle.events.append(data)
            limit = self.settings.max_events_per_run
            if len(handle.events) > limit:
                # Keep the first events (plan, routing) and the newest; drop from the middle.
                keep_head = limit // 4
                del handle.events[keep_head]
                handle.dropped_events += 1
            handle._changed.notify_all()

    async def _set_status(self, handle: RunHandle, status: HandleStatus) -> None:
        async with handle._changed:
            handle.status = status
            handle._changed.notify_all()

    async def _finish(self, handle: RunHandle, status: str, *, error: dict[str, Any] | None = None) -> None:
        async with handle._changed:
            if handle.done:
                return
            handle.status = status  # type: ignore[assignment]
            handle.error = error or (handle.result.error if handle.result else None)
            handle.finished_at = time.time()
            handle._changed.notify_all()

    def _evict(self) -> None:
        """Forget the oldest finished runs beyond the limit (active runs are never evicted)."""
        over = len(self._runs) - self.settings.max_kept_runs + 1
        if over <= 0:
            return
        done = (rid for rid, h in self._runs.items() if h.done)  # oldest first; stops at the first ``over``
        for run_id in list(islice(done, over)):
            del self._runs[run_id]

    # ------------------------------------------------------------------------------------ read

    def get(self, run_id: str, *, owner: str) -> RunHandle:
        handle = self._runs.get(run_id)
        if handle is None or handle.owner != owner:
            raise NotFoundError(f"no run {run_id!r}", field="run_id", hint="runs are visible only to the key that "
                                "started them, and finished runs are kept for a limited time")
        return handle

    def list(self, *, owner: str, limit: int = 50) -> list[RunHandle]:
        mine = [h for h in self._runs.values() if h.owner == owner]
        return list(reversed(mine))[:limit]

    async def wait(self, handle: RunHandle, timeout_s: float | None = None) -> RunHandle:
        async with asyncio.timeout(timeout_s):
            async with handle._changed:
                await handle._changed.wait_for(lambda: handle.done)
        return handle

    async def events(self, handle: RunHandle, *, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Replay buffered events with ``seq > after``, then follow live ones until the run ends."""
        last = after
        while True:
            async with handle._changed:
                await handle._changed.wait_for(partial(_has_news, handle, last))
                fresh = [e for e in handle.events if e["seq"] > last]
                finished = handle.done
            for event in fresh:
                last = event["seq"]
                yield event
            if finished and not [e for e in handle.events if e["seq"] > last]:
                return

    # ------------------------------------------------------------------------------------ cancel

    async def cancel(self, handle: RunHandle, *, grace_s: float = 5.0) -> RunHandle:
        """Ask Genesis to cancel (agents stop, the run finishes as cancelled); force after ``grace_s``."""
        if handle.done:
            return handle
        handle.cancel_requested = True
        if not self.genesis.cancel(handle.run_id) and handle._job is not None and handle.status == "queued":
            handle._job.cancel()
        try:
            await self.wait(handle, grace_s)
        except TimeoutError:
            if handle._job is not None:
                handle._job.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await handle._job
        return handle

    async def aclose(self) -> None:
        jobs = [h._job for h in self._runs.values() if h._job is not None and not h._job.done()]
        for h in self._runs.values():
            if not h.done:
                self.genesis.cancel(h.run_id)
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
