"""HybridMemory against real servers: FalkorDB speaking Bolt (through the neo4j driver) and a Chroma server.

The servers are started by fixtures (see conftest.py) on free loopback ports and killed at teardown.
"""

from __future__ import annotations

import uuid

import pytest
from genesis_agents.infrastructure.contracts import MemoryItem, Triple
from genesis_agents.infrastructure.errors import BackendUnavailableError
from genesis_agents.memory import HybridMemory, MemoryConfig
from genesis_agents.memory.graph import GraphStore
from genesis_agents.memory.graph.neo4j_backend import Neo4jBackend

from .conftest import free_port, start_falkordb


def _ns() -> str:
    return "t-" + uuid.uuid4().hex[:10]


@pytest.fixture
def bolt_memory(tmp_path, falkordb, embedder):
    memory = HybridMemory(MemoryConfig(data_dir=tmp_path / "m", graph_backend="neo4j", neo4j_uri=falkordb.url,
                                       neo4j_password=""), embedder=embedder)
    yield memory
    memory.close()


async def test_bolt_graph_backend_end_to_end(bolt_memory) -> None:
    ns, other = _ns(), _ns()
    await bolt_memory.remember(MemoryItem(text="Alice Chen leads Team Falcon.", namespace=ns))
    await bolt_memory.remember(MemoryItem(text="Team Falcon builds Orion.", namespace=ns),
                               triples=[Triple(subject="Orion", predicate="runs_on", object="Postgres")])
    await bolt_memory.remember(MemoryItem(text="Zed Quinn leads Team Falcon.", namespace=other))
    hits = await bolt_memory.recall("Who leads the team that builds Orion?", namespace=ns, mode="graph", k=5)
    assert {h.item.text for h in hits[:2]} == {"Alice Chen leads Team Falcon.", "Team Falcon builds Orion."}
    assert all(h.item.namespace == ns for h in hits)
    rels = await bolt_memory.neighbours("Orion", hops=2, namespace=ns)
    assert {(t.subject, t.predicate, t.object) for t in rels} >= {
        ("Team Falcon", "builds", "Orion"), ("Orion", "runs_on", "Postgres"), ("Alice Chen", "leads", "Team Falcon")}
    assert not any("Zed" in t.subject for t in rels)
    assert bolt_memory.graph is not None and bolt_memory.graph.name == "neo4j"
    assert await bolt_memory.forget(filters={"kind": "note"}, namespace=ns) == 2
    assert await bolt_memory.neighbours("Orion", namespace=ns) == []
    assert bolt_memory.graph.counts(ns)["items"] == 0
    assert bolt_memory.graph.counts(other)["items"] == 1


def test_unreachable_bolt_server_names_backend_and_url(tmp_path, embedder) -> None:
    url = f"bolt://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailableError) as err:
        HybridMemory(MemoryConfig(data_dir=tmp_path / "m", graph_backend="neo4j", neo4j_uri=url,
                                  connect_timeout_s=1.0), embedder=embedder)
    assert err.value.backend == "neo4j" and err.value.url == url and url in str(err.value)


async def test_graph_server_dying_mid_session_degrades_or_fails(tmp_path, embedder) -> None:
    server = start_falkordb(tmp_path)
    try:
        cfg = dict(data_dir=tmp_path / "m", graph_backend="neo4j", neo4j_uri=server.url, connect_timeout_s=1.5)
        strict = HybridMemory(MemoryConfig(**cfg), embedder=embedder)
        await strict.remember(MemoryItem(text="Team Falcon builds Orion."))
        strict.close()
        lenient = HybridMemory(MemoryConfig(**cfg, degraded_ok=True), embedder=embedder)
        assert lenient.graph is not None and not lenient.unavailable
        server.stop()
        hits = await lenient.recall("Team Falcon Orion")
        assert hits and hits[0].item.text == "Team Falcon builds Orion."
        assert set(hits[0].signals) == {"vector", "keyword"}
        assert "graph" in hits.missing and server.url in hits.missing["graph"]
        with pytest.raises(BackendUnavailableError) as err:  # writes need both stores
            await lenient.remember(MemoryItem(text="Team Heron builds Lyra."))
        assert err.value.backend == "neo4j" and err.value.url == server.url
        # nothing half-written is visible; the unfinished write waits in the journal
        assert [i.text for i in await lenient.list_items(limit=None)] == ["Team Falcon builds Orion."]
        assert not any("Lyra" in h.item.text for h in await lenient.recall("Team Heron Lyra", k=5))
        assert len(lenient.catalog.journal_entries()) == 1
        lenient.close()
        with pytest.raises(BackendUnavailableError):  # opening strictly against a dead server fails loudly
            HybridMemory(MemoryConfig(**cfg), embedder=embedder)
        server = start_falkordb(tmp_path / "again")  # the graph comes back (empty: it kept no data)
        repaired = HybridMemory(MemoryConfig(**{**cfg, "neo4j_uri": server.url}), embedder=embedder)
        assert repaired.catalog.journal_entries() == [] and repaired.catalog.pending() == {}
        repaired.close()
    finally:
        server.stop()


def test_neo4j_backend_speaks_the_shared_cypher_subset(falkordb) -> None:
    store = GraphStore(Neo4jBackend(falkordb.url, password=""))
    ns = _ns()
    try:
        store.write(ns, entities=[("a", "A"), ("b", "B"), ("c", "C")], items=["i1"], mentions=[("i1", "a")],
                    relations=[("a", "knows", "b", "i1", {"since": 2020}), ("b", "knows", "c", "", {})])
        store.write(ns, relations=[("a", "knows", "b", "i1", {"since": 2020})])  # MERGE: idempotent
        assert store.counts(ns) == {"entities": 3, "relations": 2, "items": 1}
        assert sorted(store.adjacent(ns, ["b"])) == [("b", "knows", "a"), ("b", "knows", "c")]
        assert store.mention_counts(ns, ["a", "b"]) == {"a": 1}
        rel = [r for r in store.relations_of(ns, ["a"])][0]
        assert rel["properties"] == {"since": 2020} and rel["item_id"] == "i1"
        store.delete_items(ns, ["i1"])
        assert store.counts(ns) == {"entities": 3, "relations": 1, "items": 0}
        assert store.delete_orphan_entities(ns, ["a", "b", "c"]) == 1
    finally:
        store.drop_namespace(ns)
        store.close()


@pytest.fixture
def chroma_memory(tmp_path, chroma_server, embedder):
    memory = HybridMemory(MemoryConfig(data_dir=tmp_path / "m", chroma_url=chroma_server.url), embedder=embedder)
    yield memory
    memory.close()


async def test_chroma_server_backend_end_to_end(chroma_memory, chroma_server) -> None:
    ns = _ns()
    a = await chroma_memory.remember(MemoryItem(text="The invoice service retries failed payments.", namespace=ns,
                                                tags=["billing"]))
    await chroma_memory.remember(MemoryItem(text="Lunch is served at noon.", namespace=ns))
    hits = await chroma_memory.recall("how are failed payments retried", namespace=ns, mode="vector")
    assert hits[0].item.id == a.id
    hits = await chroma_memory.recall("payments", namespace=ns, filters={"tags": ["billing"]})
    assert [h.item.id for h in hits] == [a.id]
    assert chroma_memory.vector is not None and chroma_memory.vector.url == chroma_server.url
    assert chroma_memory.vector.count(ns) == 2
    assert await chroma_memory.forget([a.id], namespace=ns) == 1
    assert chroma_memory.vector.count(ns) == 1


def test_unreachable_chroma_server_names_backend_and_url(tmp_path, embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailableError) as err:
        HybridMemory(MemoryConfig(data_dir=tmp_path / "m", chroma_url=url), embedder=embedder)
    assert err.value.backend == "chroma" and err.value.url == url


async def test_degraded_ok_answers_without_the_vector_store(tmp_path, embedder) -> None:
    first = HybridMemory(MemoryConfig(data_dir=tmp_path / "m"), embedder=embedder)
    await first.remember(MemoryItem(text="Alice Chen leads Team Falcon."))
    first.close()
    url = f"http://127.0.0.1:{free_port()}"
    memory = HybridMemory(MemoryConfig(data_dir=tmp_path / "m", chroma_url=url, degraded_ok=True), embedder=embedder)
    try:
        hits = await memory.recall("Who leads Team Falcon?")
        assert hits and hits[0].item.text == "Alice Chen leads Team Falcon."
        assert set(hits[0].signals) == {"keyword", "graph"}
        assert set(hits.missing) == {"vector"} and url in hits.missing["vector"]
        with pytest.raises(BackendUnavailableError):
            await memory.remember(MemoryItem(text="anything"))
        stats = await memory.stats()
        assert "vector" in stats["unavailable"]
    finally:
        memory.close()
