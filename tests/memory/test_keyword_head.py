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



async def test_common_words_score_but_do_not_find(hybrid: HybridMemory) -> None:
    """Past 500 items a word in over 1% of the index is common: rare words find the items, the common ones
    still count in their scores (the same order as ranking every match), and when the rare words find too
    few items the common-only matches are ranked as well."""
    noise = [MemoryItem(id=f"n{i}", text=f"{'an error' if i % 10 < 3 else 'a warning'} in module {i} of the build",
                        namespace="t") for i in range(2000)]
    targets = [MemoryItem(id="short", text="Orion status", namespace="t"),
               MemoryItem(id="with-error", text="Orion error status", namespace="t"),
               MemoryItem(id="late", text="billing for Orion Labs is late again this month", namespace="t")]
    await hybrid.ingest(noise + targets, dedup=False)
    assert hybrid.catalog._split_common(hybrid.catalog.db, ["orion", "error"]) == (["orion"], ["error"])
    got = [item_id for item_id, _ in hybrid.catalog.keyword("t", "orion error", 3, {})]
    every_match = hybrid.catalog.db.execute(
        "SELECT i.id FROM items_fts JOIN items i ON i.rid = items_fts.rowid WHERE items_fts MATCH ?"
        " ORDER BY bm25(items_fts) LIMIT 3", ['"orion" OR "error"']).fetchall()
    assert got == [row[0] for row in every_match]
    assert got[:2] == ["with-error", "short"]  # "error" lifts the longer item above the shorter one
    few = await hybrid.recall("orion error", k=5, mode="keyword", namespace="t")
    assert len(few) == 5 and {"short", "with-error", "late"} <= {h.item.id for h in few}
    only_common = await hybrid.recall("error in the build", k=3, mode="keyword", namespace="t")
    assert len(only_common) == 3
