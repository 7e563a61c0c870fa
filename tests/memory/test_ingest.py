"""``HybridMemory.ingest``: chunked bulk load with the next chunk embedded ahead - same results as
``remember_many`` (order, duplicate merge across chunks, namespaces). Each chunk goes through the same
journaled write as ``remember_many``, whose atomicity ``test_atomicity.py`` proves."""

from __future__ import annotations

import pytest
from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.infrastructure.errors import BadInputError
from genesis_agents.memory import HybridMemory


async def test_ingest_stores_every_chunk_in_order_and_merges_across_chunks(hybrid: HybridMemory) -> None:
    texts = ["Mara Novak reported a login timeout in Vinesk.", "The invoice export failed for Dorlu Bank.",
             "Dashboards are slow since the Orion upgrade.", "A CSV import broke for Brisul Labs on Monday.",
             "Keiko Sato renewed the expired certificate.", "Duplicate orders appeared in the Kovin shop.",
             "The search index of Celsova is flaky after midnight."]
    items = [MemoryItem(id=f"t{i}", text=text) for i, text in enumerate(texts)]
    items.append(MemoryItem(id="dup", text=items[1].text, tags=["again"]))  # exact duplicate, later chunk
    items.append(MemoryItem(id="other", text="Zephyr runs on Postgres.", namespace="acme"))
    progress: list[tuple[int, int]] = []
    stored = await hybrid.ingest(items, chunk=3, on_progress=lambda done, total: progress.append((done, total)))
    assert progress == [(3, 9), (6, 9), (9, 9)]
    assert [s.id for s in stored] == [f"t{i}" for i in range(7)] + ["t1", "other"]
    assert stored[7].provenance["merged"] == ["dup"] and "again" in stored[7].tags
    assert (await hybrid.stats("default"))["namespaces"]["default"]["vectors"] == 7
    hits = await hybrid.recall("duplicate orders in the Kovin shop", k=3)
    assert hits[0].item.id == "t5" and set(hits[0].signals) >= {"vector", "keyword"}
    assert "other" not in {h.item.id for h in await hybrid.recall("Zephyr Postgres", k=3)}  # namespaces stay apart
    assert [h.item.id for h in await hybrid.recall("Zephyr Postgres", k=3, namespace="acme")] == ["other"]


async def test_ingest_rejects_bad_input(hybrid: HybridMemory) -> None:
    with pytest.raises(BadInputError, match="chunk"):
        await hybrid.ingest([MemoryItem(text="x")], chunk=0)
    with pytest.raises(BadInputError, match="triple lists"):
        await hybrid.ingest([MemoryItem(text="x")], triples=[[], []])
    assert await hybrid.ingest([]) == []
