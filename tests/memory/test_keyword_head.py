"""Keyword ranking screens the index's best matches first and falls back to every match when too few of
them belong to the namespace (or pass the filters)."""

from __future__ import annotations

from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.memory import HybridMemory


async def test_a_crowded_index_still_finds_the_namespace_matches(hybrid: HybridMemory) -> None:
    other = [MemoryItem(id=f"o{i}", text=f"invoice invoice invoice number {i} for tenant two", namespace="other")
             for i in range(260)]
    await hybrid.ingest(other, dedup=False)
    mine = [MemoryItem(id="m1", text="the invoice for Orion Labs is late", namespace="mine"),
            MemoryItem(id="m2", text="an invoice was sent twice to Vega", namespace="mine", tags=["billing"]),
            MemoryItem(id="m3", text="a login timeout on the dashboard", namespace="mine")]
    await hybrid.ingest(mine)
    hits = await hybrid.recall("invoice", k=5, mode="keyword", namespace="mine")
    assert {h.item.id for h in hits} == {"m1", "m2"}  # the 260 better-scoring other-tenant rows came first
    tagged = await hybrid.recall("invoice", k=5, mode="keyword", namespace="mine", filters={"tags": ["billing"]})
    assert [h.item.id for h in tagged] == ["m2"]
    crowd = await hybrid.recall("invoice", k=5, mode="keyword", namespace="other")
    assert len(crowd) == 5 and all(h.item.namespace == "other" for h in crowd)
