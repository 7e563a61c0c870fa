"""Graph write semantics: first-written items are CREATEd (not MERGEd) for speed, so these tests pin down
that rewriting an id, merging a duplicate and repeating a fact within one item never leave extra edges — on
the embedded LadybugDB store and on a real Bolt server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from genesis_agents.infrastructure.contracts import MemoryItem, Triple
from genesis_agents.memory import HybridMemory, MemoryConfig


@pytest.fixture(params=["ladybug", "bolt"])
def memory(request, tmp_path, embedder) -> Iterator[HybridMemory]:
    if request.param == "ladybug":
        config = MemoryConfig(data_dir=tmp_path / "m")
    else:
        server = request.getfixturevalue("falkordb")
        config = MemoryConfig(data_dir=tmp_path / "m", graph_backend="neo4j", neo4j_uri=server.url, neo4j_password="")
    mem = HybridMemory(config, embedder=embedder)
    yield mem
    mem.close()


def _mentions(memory: HybridMemory, ns: str, entity: str) -> int:
    assert memory.graph is not None
    return memory.graph.mention_counts(ns, [entity]).get(entity, 0)


async def test_rewriting_an_id_replaces_its_mentions_and_relations(memory: HybridMemory) -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    await memory.remember(MemoryItem(id="doc-1", text="Alice Novak leads Project Orion.", namespace=ns))
    await memory.remember(MemoryItem(id="doc-1", text="Alice Novak leads Project Vega.", namespace=ns))
    assert memory.graph is not None
    counts = memory.graph.counts(ns)
    assert counts["items"] == 1
    assert counts["relations"] == 1
    assert _mentions(memory, ns, "alice novak") == 1
    assert _mentions(memory, ns, "project orion") == 0
    objects = {t.object for t in await memory.neighbours("Alice Novak", namespace=ns)}
    assert objects == {"Project Vega"}


async def test_one_batch_many_items_one_entity(memory: HybridMemory) -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    issues = ["a crash on startup", "wrong tax totals", "a stuck payment", "an expired certificate", "slow search"]
    items = [MemoryItem(text=f"Bruno Sato reported {issue} in Vakori.", namespace=ns) for issue in issues]
    # the same stated fact twice in one item's triples is one edge, as a MERGE would leave it
    fact = Triple(subject="Bruno Sato", predicate="owns", object="Vakori")
    await memory.remember_many(items, triples=[[fact, fact]] + [[]] * 4)
    assert _mentions(memory, ns, "bruno sato") == 5
    assert _mentions(memory, ns, "vakori") == 5
    assert memory.graph is not None
    owns = [t for t in await memory.neighbours("Bruno Sato", namespace=ns) if t.predicate == "owns"]
    assert len(owns) == 1


async def test_a_duplicate_adds_its_facts_to_the_earlier_item_without_repeating_edges(memory: HybridMemory) -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    first = await memory.remember(MemoryItem(text="Chiara Gallo signed the Lumo contract.", namespace=ns))
    again = await memory.remember(MemoryItem(text="Chiara Gallo signed the Lumo contract.", namespace=ns),
                                  triples=[Triple(subject="Chiara Gallo", predicate="works_at", object="Lumo")])
    assert again.id == first.id
    await memory.remember(MemoryItem(text="Chiara Gallo signed the Lumo contract.", namespace=ns),
                          triples=[Triple(subject="Chiara Gallo", predicate="works_at", object="Lumo")])
    assert memory.graph is not None
    assert memory.graph.counts(ns)["items"] == 1
    assert _mentions(memory, ns, "chiara gallo") == 1
    works = [t for t in await memory.neighbours("Chiara Gallo", namespace=ns) if t.predicate == "works_at"]
    assert len(works) == 1
