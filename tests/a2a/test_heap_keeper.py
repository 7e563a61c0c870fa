"""The served host's heap keeper: survivors are frozen while requests are served, and everything (frozen
reference cycles included) is collected once the host is idle or the clean-up is overdue."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from pathlib import Path

from genesis_agents.infrastructure.api.heap import HeapKeeper

from .conftest import running_host


class Clock:
    """An explicit time source, so the policy is checked at chosen instants."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_policy_freezes_while_serving_and_cleans_up_when_idle() -> None:
    clock = Clock()
    keeper = HeapKeeper(freeze_every_s=10, idle_s=1, full_every_s=3600, clock=clock)
    clock.now += 60
    assert keeper.due(clock.now) is None  # nothing served: nothing to do
    keeper.enter()
    clock.now += 11
    keeper.leave()
    assert keeper.due(clock.now) == "freeze"
    keeper.act("freeze")
    assert keeper.due(clock.now) is None
    keeper.enter()  # busy again: no full clean-up while a request is in flight
    clock.now += 30
    assert keeper.due(clock.now) is None
    keeper.leave()
    clock.now += 0.5
    assert keeper.due(clock.now) == "freeze"  # served since the last freeze, not idle for 1 s yet
    keeper.act("freeze")
    clock.now += 1.0
    assert keeper.due(clock.now) == "full"
    keeper.act("full")
    clock.now += 100
    assert keeper.due(clock.now) is None  # idle with nothing frozen since: no repeated clean-ups


def test_policy_cleans_up_under_load_that_never_pauses() -> None:
    clock = Clock()
    keeper = HeapKeeper(freeze_every_s=10, idle_s=1, full_every_s=60, clock=clock)
    keeper.enter()  # a stream that never ends
    for _ in range(5):
        keeper.enter()
        clock.now += 11
        keeper.leave()
        action = keeper.due(clock.now)
        if action:
            keeper.act(action)
    assert keeper.freezes >= 4 and keeper.full_collections == 0
    clock.now += 60
    assert keeper.due(clock.now) == "full"


def test_frozen_cycles_are_freed_only_by_the_full_clean_up() -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    probe = weakref.ref(a)
    keeper = HeapKeeper()
    try:
        keeper.act("freeze")
        del a, b
        gc.collect()
        assert probe() is not None  # frozen: out of the collector's reach
        keeper.act("full")
        assert probe() is None
        assert gc.get_freeze_count() > 0  # the survivors are frozen again
    finally:
        gc.unfreeze()


async def test_served_host_freezes_and_cleans_up(data_dir: Path) -> None:
    async with running_host(data_dir, gc_freeze_every_s=0.05, gc_idle_s=0.3) as host:
        keeper = host.app.state.heap_keeper
        async with host.http() as client:
            for _ in range(3):
                assert (await client.get(host.base + "/healthz")).status_code == 200
        deadline = time.monotonic() + 20
        while keeper.full_collections == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # waiting for the keeper's idle clean-up, with a deadline
        assert keeper.freezes >= 1 and keeper.full_collections >= 1
        assert keeper.in_flight == 0
    gc.unfreeze()
