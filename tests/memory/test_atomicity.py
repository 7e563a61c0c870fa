"""A write is never half-applied across the graph and the vector store.

1. The second store (Chroma, a real server) fails during a write: the graph part is undone at once.
2. The process dies between the two stores (Chroma server frozen with SIGSTOP, writer killed with SIGKILL
   after the journal says the graph part is done): the next start finds the journal entry and purges the
   half-written item from every store.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.infrastructure.errors import BackendUnavailableError
from genesis_agents.memory import HybridMemory, MemoryConfig
from genesis_agents.memory.graph import GraphStore
from genesis_agents.memory.graph.ladybug_backend import LadybugBackend

from .conftest import start_chroma


async def test_second_store_failing_undoes_the_first(tmp_path: Path, embedder) -> None:
    server = start_chroma(tmp_path / "srv")
    try:
        memory = HybridMemory(MemoryConfig(data_dir=tmp_path / "m", chroma_url=server.url, connect_timeout_s=2),
                              embedder=embedder)
        kept = await memory.remember(MemoryItem(text="Alice Chen leads Team Falcon."))
        server.stop()
        with pytest.raises(BackendUnavailableError) as err:
            await memory.remember(MemoryItem(id="mem_half", text="Bob Stone leads Team Heron."))
        assert err.value.backend == "chroma" and err.value.url == server.url
        assert memory.graph is not None
        assert not memory.graph.has_item("default", "mem_half")  # graph write was undone
        assert memory.graph.has_item("default", kept.id)
        assert memory.catalog.get_items("default", ["mem_half"], include_pending=True) == {}
        assert memory.catalog.journal_entries() == []
        assert await memory.neighbours("Bob Stone") == []
        memory.close()
    finally:
        server.stop()


WRITER = textwrap.dedent("""
    import sys
    from genesis_agents.memory import HybridMemory, MemoryConfig
    from genesis_agents.infrastructure.contracts import MemoryItem
    # no near-duplicate or entity-embedding lookups: the vector store's first call is the write itself
    memory = HybridMemory(MemoryConfig(data_dir=sys.argv[1], chroma_url=sys.argv[2], connect_timeout_s=60,
                                       dedup_threshold=None, entity_dedup="name"))
    memory.remember_sync(MemoryItem(text="warm-up: Carol Diaz leads Team Kite."))
    print("ready", flush=True)
    sys.stdin.readline()
    memory.remember_sync(MemoryItem(id="mem_crash", text="Bob Stone leads Team Heron."))
    print("finished", flush=True)
""")


def _journal_stage(catalog: Path) -> str | None:
    db = sqlite3.connect(str(catalog), timeout=5)
    try:
        row = db.execute("SELECT stage FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else row[0]
    finally:
        db.close()


def test_crash_between_stores_is_repaired_on_next_start(tmp_path: Path, embedder) -> None:
    server = start_chroma(tmp_path / "srv")
    data = tmp_path / "m"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data), server.url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdin is not None
        line = writer.stdout.readline()
        assert line.strip() == "ready", writer.stderr.read() if writer.stderr else line
        server.pause()  # the vector store stops answering mid-write
        writer.stdin.write("go\n")
        writer.stdin.flush()
        deadline = time.monotonic() + 60
        while _journal_stage(data / "catalog.sqlite3") != "graph":
            assert writer.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer never reached the vector store"
            time.sleep(0.05)
        writer.kill()  # the process dies with the graph written and the vector write in flight
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
        server.resume()
    try:
        # the half-applied state really exists on disk ...
        graph = GraphStore(LadybugBackend(data / "graph.lbug"))
        assert graph.has_item("default", "mem_crash")
        graph.close()
        # ... and the next start repairs it
        memory = HybridMemory(MemoryConfig(data_dir=data, chroma_url=server.url), embedder=embedder)
        assert memory.catalog.journal_entries() == []
        assert memory.graph is not None and memory.vector is not None
        assert not memory.graph.has_item("default", "mem_crash")
        assert not memory.vector.has("default", "mem_crash")
        assert memory.catalog.get_items("default", ["mem_crash"], include_pending=True) == {}
        assert [h.item.text for h in memory.recall_sync("Team Kite")][:1] == ["warm-up: Carol Diaz leads Team Kite."]
        memory.close()
    finally:
        server.stop()
