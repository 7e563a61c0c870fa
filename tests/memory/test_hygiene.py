"""Export/import of a namespace, compaction (digest offline, summary with an LLM), TTL sweep."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from genesis_agents.infrastructure.contracts import MemoryItem, Triple
from genesis_agents.infrastructure.errors import BadInputError, NotFoundError
from genesis_agents.infrastructure.llm import ScriptedChatModel
from genesis_agents.memory import InProcessMemory
from genesis_agents.memory.hygiene import compact, export_jsonl, import_jsonl, import_lines


async def test_export_import_roundtrip_between_backends(hybrid, tmp_path: Path) -> None:
    a = await hybrid.remember(MemoryItem(text="Alice Chen leads Team Falcon.", namespace="acme", tags=["org"],
                                         metadata={"source": "hr"}))
    await hybrid.remember(MemoryItem(text="Quarterly churn was 4.2%.", namespace="acme", kind="finding"),
                          triples=[Triple(subject="Q3", predicate="has_churn", object="4.2%")])
    await hybrid.relate("Team Falcon", "builds", "Orion", namespace="acme")
    await hybrid.remember(MemoryItem(text="Unrelated tenant data.", namespace="other"))
    path = tmp_path / "acme.jsonl"
    counts = await export_jsonl(hybrid, "acme", path)
    assert counts["items"] == 2 and counts["relations"] >= 3
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["namespace"] == "acme"
    assert not any("Unrelated" in json.dumps(line) for line in lines)

    copy = InProcessMemory()
    result = await import_jsonl(copy, path, namespace="acme-copy")
    assert result["items"] == 2
    restored = await copy.get(a.id, namespace="acme-copy")
    assert restored is not None and restored.tags == ["org"] and restored.metadata == {"source": "hr"}
    assert {(t.subject, t.object) for t in await copy.neighbours("Q3", namespace="acme-copy")} == {("Q3", "4.2%")}
    assert any(t.object == "Orion" for t in await copy.neighbours("Team Falcon", namespace="acme-copy"))

    # and back into a hybrid namespace: same ids, no duplicates on a second import
    await import_jsonl(hybrid, path, namespace="acme-2")
    await import_jsonl(hybrid, path, namespace="acme-2")
    assert len(await hybrid.list_items(namespace="acme-2", limit=None)) == 2


async def test_export_of_unknown_namespace_and_bad_lines(hybrid, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as err:
        await export_jsonl(hybrid, "nobody", tmp_path / "x.jsonl")
    assert err.value.field == "namespace"
    with pytest.raises(BadInputError) as bad:
        await import_lines(hybrid, ['{"type": "header", "namespace": "x"}', "{not json"])
    assert bad.value.field == "line 2"
    with pytest.raises(BadInputError) as bad:
        await import_lines(hybrid, ['{"type": "item", "item": {"text": ""}}'], namespace="x")
    assert bad.value.field == "line 1" and "text" in bad.value.message
    with pytest.raises(NotFoundError):
        await import_jsonl(hybrid, tmp_path / "missing.jsonl")


async def test_compaction_digest_keeps_facts_and_relations(hybrid) -> None:
    old = time.time() - 90 * 86400
    texts = ["Alice Chen leads Team Falcon.", "Team Falcon builds Orion.", "Orion runs on Postgres."]
    for text in texts:
        await hybrid.remember(MemoryItem(text=text, run_id="run_old", created_at=old))
    await hybrid.remember(MemoryItem(text="A fresh note about Orion.", run_id="run_new"))
    report = await compact(hybrid, older_than_s=30 * 86400, group_by="run_id")
    assert (report.groups, report.compacted) == (1, 3) and not report.summarised_with_llm
    items = await hybrid.list_items(limit=None)
    assert len(items) == 2
    digest = next(i for i in items if i.kind == "digest")
    assert all(t in digest.text for t in texts)
    assert len(digest.provenance["compacted_from"]) == 3
    rels = await hybrid.neighbours("Team Falcon")
    assert {t.properties.get("item_id") for t in rels} == {digest.id}
    hits = await hybrid.recall("Who leads Team Falcon?")
    assert hits[0].item.id == digest.id


async def test_compaction_with_an_llm_writes_a_summary(memory) -> None:
    old = time.time() - 90 * 86400
    for text in ["Revenue grew 12% in Q3.", "Churn fell to 4.2% in Q3.", "Q3 had 310 new customers."]:
        await memory.remember(MemoryItem(text=text, source_agent="deepanalyze", created_at=old))
    llm = ScriptedChatModel(replies=["In Q3 revenue grew 12%, churn fell to 4.2% and 310 customers joined."])
    report = await compact(memory, group_by="source_agent", llm=llm)
    assert report.summarised_with_llm and report.compacted == 3
    items = await memory.list_items(limit=None)
    assert [i.kind for i in items] == ["summary"]
    assert items[0].text.startswith("In Q3 revenue grew 12%")
    assert "Revenue grew 12% in Q3." in llm.calls[0] if isinstance(llm.calls[0], str) else True


async def test_sweep_removes_expired_items_from_every_store(hybrid) -> None:
    gone = await hybrid.remember(MemoryItem(text="Temporary: Team Kite door code 1234.", ttl_s=1.0))
    kept = await hybrid.remember(MemoryItem(text="Team Kite meets on Mondays."))
    await asyncio.sleep(max(0.0, gone.expires_at - time.time()) + 0.05)
    assert await hybrid.sweep_expired() == 1
    assert hybrid.vector is not None and hybrid.graph is not None
    assert not hybrid.vector.has("default", gone.id) and hybrid.vector.has("default", kept.id)
    assert not hybrid.graph.has_item("default", gone.id)


async def test_a_text_stored_over_and_over_keeps_a_bounded_provenance(tmp_path: Path, embedder) -> None:
    from genesis_agents.memory import HybridMemory, MemoryConfig
    from genesis_agents.memory.limits import MemoryLimits

    mem = HybridMemory(MemoryConfig(data_dir=tmp_path / "m", limits=MemoryLimits(max_merged_ids=2)),
                       embedder=embedder)
    try:
        first = await mem.remember(MemoryItem(id="r0", text="ok"))
        for n in range(1, 6):
            stored = await mem.remember(MemoryItem(id=f"r{n}", text="ok", tags=[f"t{n}"]))
        assert stored.id == first.id
        assert stored.provenance["merged"] == ["r4", "r5"]
        assert stored.provenance["merged_count"] == 5
        reread = await mem.get("r0")
        assert reread is not None and reread.provenance["merged_count"] == 5 and len(reread.tags) == 5
    finally:
        mem.close()
