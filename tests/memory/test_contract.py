"""The Memory protocol, checked identically against InProcessMemory and HybridMemory (real stores)."""

from __future__ import annotations

import asyncio
import time

import pytest
from genesis_agents.infrastructure.contracts import Memory, MemoryItem, ScopedMemory, Triple
from genesis_agents.infrastructure.errors import BadInputError, LimitExceededError

FACTS = [
    "Alice Chen leads Team Falcon.",
    "Team Falcon builds the Orion analytics platform.",
    "Bob Stone leads Team Heron.",
    "Team Heron builds the Lyra billing service.",
    "The quarterly offsite will be held in Lisbon.",
]


async def _load(memory, namespace: str = "default") -> list[MemoryItem]:
    out = []
    for n, text in enumerate(FACTS):
        out.append(await memory.remember(MemoryItem(text=text, namespace=namespace, kind="fact",
                                                    source_agent="tester", tags=[f"t{n % 2}"],
                                                    metadata={"n": n})))
    return out


def test_implements_protocol(memory) -> None:
    assert isinstance(memory, Memory)


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword", "graph"])
async def test_each_mode_finds_the_fact_and_reports_its_signal(memory, mode: str) -> None:
    await _load(memory)
    hits = await memory.recall("Who leads Team Falcon?", k=3, mode=mode)
    assert hits, f"{mode} found nothing"
    assert hits[0].item.text == FACTS[0]
    for hit in hits:
        assert set(hit.signals) <= {"vector", "keyword", "graph"}
        assert hit.signals and all(rank >= 1 for rank in hit.signals.values())
        if mode != "hybrid":
            assert set(hit.signals) == {mode}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_hybrid_reports_every_signal_that_found_a_hit(memory) -> None:
    await _load(memory)
    hits = await memory.recall("Team Falcon leads", k=5)
    top = hits[0]
    assert top.item.text == FACTS[0]
    assert {"keyword", "graph"} <= set(top.signals)


async def test_graph_walk_reaches_a_fact_two_hops_away(memory) -> None:
    await _load(memory)
    # the query names only Orion; the leader fact never mentions Orion: Orion -> Team Falcon -> Alice Chen
    hits = await memory.recall("Orion", k=5, mode="graph")
    texts = [h.item.text for h in hits]
    assert FACTS[1] in texts and FACTS[0] in texts
    assert FACTS[2] not in texts and FACTS[4] not in texts


async def test_namespaces_never_leak_through_any_signal(memory) -> None:
    await _load(memory, "tenant-a")
    await memory.remember(MemoryItem(text="Carol Diaz leads Team Falcon in tenant b.", namespace="tenant-b"))
    await memory.relate("Team Falcon", "located_in", "Berlin", namespace="tenant-b")
    for mode in ("hybrid", "vector", "keyword", "graph"):
        hits = await memory.recall("Who leads Team Falcon?", k=10, mode=mode, namespace="tenant-b")
        assert hits and all(h.item.namespace == "tenant-b" for h in hits), mode
        hits_a = await memory.recall("Carol Diaz Berlin", k=10, mode=mode, namespace="tenant-a")
        assert all(h.item.namespace == "tenant-a" for h in hits_a), mode
        assert not any("Carol" in h.item.text for h in hits_a), mode
    assert [t.object for t in await memory.neighbours("Team Falcon", namespace="tenant-a")
            if t.predicate == "located_in"] == []
    assert await memory.recall("Alice", namespace="never-used") == []


async def test_filters_apply_to_every_signal(memory) -> None:
    await _load(memory)
    for mode in ("hybrid", "vector", "keyword", "graph"):
        hits = await memory.recall("Team Falcon Team Heron leads builds", k=10, mode=mode, filters={"tags": ["t1"]})
        assert hits, mode
        assert all("t1" in h.item.tags for h in hits), mode
        hits = await memory.recall("Team Falcon Team Heron leads builds", k=10, mode=mode, filters={"n": [0, 3]})
        assert {h.item.metadata["n"] for h in hits} <= {0, 3}, mode
    assert await memory.recall("Team Falcon", filters={"source_agent": "someone-else"}) == []
    with pytest.raises(BadInputError) as err:
        await memory.recall("x", filters={"created_after": "yesterday"})
    assert err.value.field == "filters.created_after"


async def test_ttl_expired_items_are_not_recalled(memory) -> None:
    await memory.remember(MemoryItem(text="Team Falcon meets on Mondays."))
    short = await memory.remember(MemoryItem(text="The door code is 4711 for Team Falcon.", ttl_s=2.5))
    assert len(await memory.recall("Team Falcon door code", k=5)) == 2
    await asyncio.sleep(max(0.0, short.expires_at - time.time()) + 0.05)  # let the TTL really pass
    hits = await memory.recall("Team Falcon door code", k=5)
    assert [h.item.text for h in hits] == ["Team Falcon meets on Mondays."]


async def test_forget_by_id_and_by_filter(memory) -> None:
    items = await _load(memory)
    assert await memory.forget([items[0].id]) == 1
    assert all(h.item.id != items[0].id for h in await memory.recall("Alice Chen leads Team Falcon", k=10))
    assert await memory.forget(filters={"tags": ["t1"]}) == 2
    left = await memory.recall("Team leads builds Lisbon offsite", k=10)
    assert {h.item.text for h in left} <= {FACTS[2], FACTS[4]}
    assert await memory.forget(["does-not-exist"]) == 0
    with pytest.raises(BadInputError):
        await memory.forget()
    with pytest.raises(BadInputError):
        await memory.forget("mem_1")  # type: ignore[arg-type]


async def test_forget_removes_relations_extracted_from_the_item(memory) -> None:
    items = await _load(memory)
    before = await memory.neighbours("Alice Chen")
    assert any(t.object == "Team Falcon" for t in before)
    await memory.forget([items[0].id])
    assert await memory.neighbours("Alice Chen") == []


async def test_relate_and_neighbours_multi_hop(memory) -> None:
    await memory.relate("Acme Corp", "signed", "Contract C-7", value_usd=120000)
    await memory.relate("Contract C-7", "covers", "Orion")
    await memory.relate("Orion", "built_by", "Team Falcon")
    one = await memory.neighbours("acme corp", hops=1)
    assert [(t.subject, t.predicate, t.object) for t in one] == [("Acme Corp", "signed", "Contract C-7")]
    assert one[0].properties["value_usd"] == 120000
    three = await memory.neighbours("Acme Corp", hops=3)
    assert {(t.subject, t.object) for t in three} == {("Acme Corp", "Contract C-7"), ("Contract C-7", "Orion"),
                                                       ("Orion", "Team Falcon")}
    again = await memory.relate("Acme Corp", "signed", "Contract C-7", value_usd=120000)
    assert isinstance(again, Triple)
    assert len(await memory.neighbours("Acme Corp", hops=1)) == 1  # idempotent


async def test_explicit_triples_link_items_in_the_graph(memory) -> None:
    await memory.remember(
        MemoryItem(text="Churn analysis for the month-to-month segment (Q3).", kind="finding",
                   source_agent="deepanalyze"),
        triples=[Triple(subject="segment Month-to-month", predicate="has_churn_rate", object="42.7%")],
    )
    rels = await memory.neighbours("segment month-to-month")
    assert [(t.predicate, t.object) for t in rels] == [("has_churn_rate", "42.7%")]
    hits = await memory.recall("segment Month-to-month", mode="graph")
    assert hits and hits[0].item.kind == "finding"


async def test_exact_duplicates_are_merged(memory) -> None:
    first = await memory.remember(MemoryItem(text="Team Falcon ships on Fridays.", tags=["a"]))
    second = await memory.remember(MemoryItem(text="Team Falcon ships on Fridays.", tags=["b"]))
    assert second.id == first.id
    assert set(second.tags) == {"a", "b"}
    hits = await memory.recall("Team Falcon ships", k=5)
    assert len(hits) == 1 and set(hits[0].item.tags) == {"a", "b"}


async def test_bad_input_is_a_typed_error_naming_the_field(memory) -> None:
    with pytest.raises(BadInputError) as err:
        await memory.recall("   ")
    assert err.value.field == "query"
    with pytest.raises(BadInputError) as err:
        await memory.recall("x", mode="fuzzy")  # type: ignore[arg-type]
    assert err.value.field == "mode"
    with pytest.raises(BadInputError) as err:
        await memory.recall("x", namespace="bad namespace!")
    assert err.value.field == "namespace"
    with pytest.raises(LimitExceededError) as lim:
        await memory.remember(MemoryItem(text="x" * (memory.limits.max_item_chars + 1)))
    assert lim.value.field == "item.text" and lim.value.limit == "max_item_chars"
    with pytest.raises(LimitExceededError):
        await memory.recall("x", k=memory.limits.max_k + 1)
    with pytest.raises(LimitExceededError):
        await memory.neighbours("x", hops=memory.limits.max_hops + 1)
    with pytest.raises(BadInputError) as err:
        await memory.relate(" ", "p", "o")
    assert err.value.field == "subject"


async def test_scoped_memory_fills_namespace_agent_and_run(memory) -> None:
    scoped = ScopedMemory(memory, namespace="acme", agent="deepanalyze", run_id="run_1")
    item = await scoped.remember("Revenue grew 12% in Q3 for Acme Corp.", kind="finding", tags=["q3"])
    assert (item.namespace, item.source_agent, item.run_id) == ("acme", "deepanalyze", "run_1")
    hits = await scoped.recall("Acme revenue growth")
    assert hits and hits[0].item.id == item.id
    assert await memory.recall("Acme revenue growth", namespace="default") == []
    assert await scoped.forget(filters={"run_id": "run_1"}) == 1


def test_sync_helpers_work_without_and_inside_a_loop(memory) -> None:
    item = memory.remember_sync(MemoryItem(text="Team Falcon uses Postgres for Orion."))
    assert memory.recall_sync("Postgres")[0].item.id == item.id
    memory.relate_sync("Orion", "uses", "Postgres")
    assert memory.neighbours_sync("Postgres")

    async def inside() -> int:
        return len(memory.recall_sync("Postgres"))  # a running loop: runs on a helper thread

    assert asyncio.run(inside()) == 1
    assert memory.forget_sync([item.id]) == 1


async def test_list_items_newest_first_with_filters(memory) -> None:
    items = await _load(memory)
    listed = await memory.list_items(filters={"kind": "fact"}, limit=None)
    assert {i.id for i in listed} == {i.id for i in items}
    assert [i.created_at for i in listed] == sorted((i.created_at for i in listed), reverse=True)
    assert len(await memory.list_items(limit=2)) == 2
    cutoff = time.time() + 10
    assert len(await memory.list_items(filters={"created_before": cutoff}, limit=None)) == 5
