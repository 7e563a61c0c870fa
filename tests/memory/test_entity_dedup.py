"""Entity deduplication: spelling variants merge by name embedding; identifiers never do."""

from __future__ import annotations

from genesis_agents.memory import HybridMemory


async def test_spelling_variants_merge_into_one_entity(hybrid: HybridMemory) -> None:
    await hybrid.relate("Acme Corp", "signed", "Contract C-7")
    await hybrid.relate("ACME Corporation", "signed", "Contract C-8")
    objects = {t.object for t in await hybrid.neighbours("Acme Corp", hops=1)}
    assert objects == {"Contract C-7", "Contract C-8"}


async def test_identifiers_that_differ_only_in_digits_stay_apart(hybrid: HybridMemory) -> None:
    await hybrid.relate("Invoice INV-2024-001", "billed to", "Orion Labs")
    await hybrid.relate("Invoice INV-2024-002", "billed to", "Vega Retail")
    first = {t.object for t in await hybrid.neighbours("Invoice INV-2024-001", hops=1)}
    second = {t.object for t in await hybrid.neighbours("Invoice INV-2024-002", hops=1)}
    assert first == {"Orion Labs"}
    assert second == {"Vega Retail"}
