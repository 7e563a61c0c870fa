"""``HybridMemory``: Chroma vectors + a Cypher graph + SQLite (catalog, BM25, journal), fused with RRF.

Write path (``remember_many``): validate -> exact/near-duplicate merge -> extract entities and relations ->
journal the intent in SQLite (items inserted as *pending*) -> graph write -> Chroma write -> commit in
SQLite (items live, keyword-indexed, entities registered, journal entry closed). If a store fails, the
stores already written are cleaned up; if even that fails (or the process dies), the journal entry is
still there and the next start purges the half-written ids from every store. Deletes are journaled the
same way and rolled forward. So a write is never visible half-applied.

Read path (``recall``): vector kNN (Chroma), BM25 (FTS5) and a weighted multi-hop walk from the entities
the query names and the top vector hits mention (graph), each restricted to the namespace and filters,
fused with reciprocal rank fusion. Every hit records the signals that found it and its rank in each.

All store I/O runs on one dedicated thread: the embedded stores are not safe to share across threads,
and it keeps the async API from blocking the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from genesis_agents.infrastructure.contracts import MemoryHit, MemoryItem, RecallMode, Triple
from genesis_agents.infrastructure.errors import BackendUnavailableError, BadInputError, ConfigError

from .catalog import Catalog
from .config import MemoryConfig
from .extraction import Extractor, LLMExtractor, OfflineExtractor, ngrams
from .filters import FIELD_KEYS, matches, validate_filters
from .fusion import rrf
from .graph import GraphStore, open_graph_backend
from .inprocess import InProcessMemory
from .limits import (
    check_hops,
    check_item,
    check_k,
    check_mode,
    check_name,
    check_namespace,
    check_query,
    is_expired,
)
from .sync import SyncHelpers
from .text import edge_weight, entity_key, tokenize, word_text
from .vectors import ChromaVectorStore

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["HybridMemory", "MemoryConfig", "RecallResult", "build_memory"]


class RecallResult(list):  # type: ignore[type-arg]
    """The hits (a plain ``list[MemoryHit]``) plus ``missing``: signal -> why it could not answer."""

    def __init__(self, hits: Sequence[MemoryHit] = (), *, missing: dict[str, str] | None = None) -> None:
        super().__init__(hits)
        self.missing: dict[str, str] = dict(missing or {})

    @property
    def degraded(self) -> bool:
        return bool(self.missing)


def chroma_metadata(item: MemoryItem) -> dict[str, Any]:
    """What Chroma stores beside the vector: the fields filters can push down into its ``where``."""
    meta: dict[str, Any] = {"kind": item.kind, "created_at": float(item.created_at)}
    if item.source_agent is not None:
        meta["source_agent"] = item.source_agent
    if item.run_id is not None:
        meta["run_id"] = item.run_id
    if item.expires_at is not None:
        meta["expires_at"] = float(item.expires_at)
    for tag in item.tags:
        meta[f"tag:{tag}"] = True
    for key, value in item.metadata.items():
        if isinstance(value, (str, int, float, bool)):
            meta[f"m:{key}"] = value
    return meta


def chroma_where(filters: dict[str, Any]) -> dict[str, Any] | None:
    """Translate validated filters into a Chroma ``where``. What it cannot express (``None`` values, ids) is
    left to the catalog post-filter, which every candidate passes through anyway."""
    conditions: list[dict[str, Any]] = []
    for key, wanted in filters.items():
        if key == "ids" or wanted is None or (isinstance(wanted, list) and any(v is None for v in wanted)):
            continue
        if key == "tags":
            conditions.extend({f"tag:{t}": True} for t in wanted)
        elif key == "created_after":
            conditions.append({"created_at": {"$gte": wanted}})
        elif key == "created_before":
            conditions.append({"created_at": {"$lt": wanted}})
        else:
            field = key if key in FIELD_KEYS else "m:" + key.removeprefix("metadata.")
            conditions.append({field: {"$in": wanted}} if isinstance(wanted, list) else {field: wanted})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


class HybridMemory(SyncHelpers):
    """The shared Genesis memory. Build with ``HybridMemory(MemoryConfig(...))`` or ``from_settings``.

    ``embedder``: a Genesis ``Embedder`` or any LangChain ``Embeddings`` (default: the process-wide MiniLM).
    ``llm``: a LangChain chat model used for extraction and compaction summaries (default: none, offline).
    """

    def __init__(self, config: MemoryConfig, *, embedder: Any = None, llm: Any = None,
                 extractor: Extractor | None = None) -> None:
        self.config = config
        self.limits = config.limits
        self.llm = llm
        self.extractor: Extractor = extractor or (LLMExtractor(llm) if llm is not None else OfflineExtractor())
        self._embedder = self._wrap_embedder(embedder)
        self._io = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="genesis-memory")
        self._closed = False
        self._last_sweep = 0.0
        self._embedder_checked = False
        self._pending_entity_vectors: dict[str, np.ndarray] = {}
        self._prefetch: concurrent.futures.ThreadPoolExecutor | None = None
        self._queries: concurrent.futures.ThreadPoolExecutor | None = None
        self.unavailable: dict[str, str] = {}
        self.vector: ChromaVectorStore | None = None
        self.graph: GraphStore | None = None
        data_dir = Path(config.data_dir)
        self.catalog = Catalog(data_dir / "catalog.sqlite3")
        try:
            self._open_stores(data_dir)
            if self._embedder is not None:
                self._ensure_embedder_meta()
            self.recover()
        except BaseException:
            self._shutdown()
            raise

    # ------------------------------------------------------------------------------------------ opening

    @classmethod
    def from_settings(cls, settings: Any, *, embedder: Any = None, llm: Any = None, **overrides: Any) -> HybridMemory:
        """The default Genesis memory from ``GenesisSettings`` (data_dir/memory, chroma_url, graph_backend,
        neo4j_uri/user/password). ``overrides`` are ``MemoryConfig`` fields (e.g. ``degraded_ok=True``)."""
        return cls(MemoryConfig.from_settings(settings, **overrides), embedder=embedder, llm=llm)

    @staticmethod
    def _wrap_embedder(embedder: Any) -> Any:
        if embedder is None or hasattr(embedder, "embed"):
            return embedder
        if hasattr(embedder, "embed_documents"):
            from genesis_agents.infrastructure.embeddings import LangChainEmbedder

            return LangChainEmbedder(embedder)
        raise ConfigError("expected a Genesis Embedder or a LangChain Embeddings", field="embedder")

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from genesis_agents.infrastructure.embeddings import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def _open_stores(self, data_dir: Path) -> None:
        cfg = self.config
        try:
            self.vector = ChromaVectorStore(url=cfg.chroma_url, timeout_s=cfg.connect_timeout_s) if cfg.chroma_url \
                else ChromaVectorStore(path=data_dir / "chroma")
        except BackendUnavailableError as exc:
            if not cfg.degraded_ok:
                raise
            self.unavailable["vector"] = str(exc)
            log.warning("memory: vector store unavailable, continuing degraded: %s", exc)
        try:
            if cfg.graph_backend == "neo4j":
                if not cfg.neo4j_uri:
                    raise ConfigError("graph_backend is 'neo4j' but no URI is set", field="neo4j_uri",
                                      hint="set GENESIS_NEO4J_URI, e.g. bolt://localhost:7687")
                backend = open_graph_backend("neo4j", uri=cfg.neo4j_uri, user=cfg.neo4j_user,
                                             password=cfg.neo4j_password, database=cfg.neo4j_database,
                                             connection_timeout_s=cfg.connect_timeout_s,
                                             retry_time_s=cfg.connect_timeout_s,
                                             max_param_bytes=cfg.neo4j_max_param_bytes)
            else:
                backend = open_graph_backend("ladybug", path=data_dir / "graph.lbug",
                                             buffer_pool_mb=cfg.ladybug_buffer_mb)
            self.graph = GraphStore(backend)
        except BackendUnavailableError as exc:
            if not cfg.degraded_ok:
                raise
            self.unavailable["graph"] = str(exc)
            log.warning("memory: graph store unavailable, continuing degraded: %s", exc)

    def _ensure_embedder_meta(self) -> None:
        """Refuse to mix vectors of two embedders in one data dir (kNN across them would be meaningless)."""
        if self._embedder_checked:
            return
        current = f"{self.embedder.name}:{self.embedder.dim}"
        stored = self.catalog.get_meta("embedder")
        if stored is None:
            self.catalog.set_meta("embedder", current)
        elif stored != current:
            raise ConfigError(f"this memory was built with embedder {stored}, not {current}", field="embedder",
                              hint="use the same embedder or a new data dir")
        self._embedder_checked = True

    def _backend_of(self, store: str) -> tuple[str, str | None]:
        """(backend name, URL or path) of a store, for error messages."""
        cfg = self.config
        if store == "vector":
            return "chroma", cfg.chroma_url or str(Path(cfg.data_dir) / "chroma")
        if cfg.graph_backend == "neo4j":
            return "neo4j", cfg.neo4j_uri
        return "ladybug", str(Path(cfg.data_dir) / "graph.lbug")

    def _require(self, *stores: str) -> None:
        for store in stores:
            if getattr(self, store) is None:
                backend, url = self._backend_of(store)
                reason = self.unavailable.get(store, "not configured")
                raise BackendUnavailableError(backend, f"the {store} store is needed for writes ({reason})",
                                              url=url, hint="writes need every store (both or neither)")

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._closed:
            raise BadInputError("memory is closed", field="memory", hint="create a new memory object")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, lambda: fn(*args, **kwargs))

    # ------------------------------------------------------------------------------------------ recovery

    def recover(self) -> int:
        """Purge every id of unfinished journal entries from all stores. Returns the entries repaired."""
        repaired = 0
        for seq, op, ns, payload, stage in self.catalog.journal_entries():
            ids = list(payload.get("ids", []))
            if self.graph is None or self.vector is None:
                log.warning("memory: journal entry %s (%s) waits for every store to be up", seq, op)
                continue
            entities = self.graph.item_entities(ns, ids) if op == "delete" else []
            self.graph.delete_items(ns, ids)
            self.vector.delete(ns, ids)
            self.catalog.delete_items(ns, ids, seq=seq)
            if entities:
                self._drop_orphans(ns, [e for _, e in entities])
            log.info("memory: repaired journal entry %s (%s at stage %s, %d ids)", seq, op, stage, len(ids))
            repaired += 1
        return repaired

    # ------------------------------------------------------------------------------------------ writes

    async def remember(self, item: MemoryItem, *, triples: Sequence[Triple] = ()) -> MemoryItem:
        """Store one item (with optional explicit triples). Returns the stored item, or the earlier item
        it was merged into if it is a (near-)duplicate."""
        return (await self.remember_many([item], triples=[list(triples)]))[0]

    async def remember_many(self, items: Sequence[MemoryItem], triples: Sequence[Sequence[Triple]] | None = None,
                            *, dedup: bool = True) -> list[MemoryItem]:
        """Batch write (much faster than one by one: one embedding batch, one transaction per store).

        An item whose id is already stored replaces it. ``dedup=False`` skips the (near-)duplicate merge,
        for callers with key-value semantics such as the LangGraph store adapter."""
        if triples is not None and len(triples) != len(items):
            raise BadInputError(f"got {len(triples)} triple lists for {len(items)} items", field="triples")
        for item in items:
            check_item(item, self.limits)
        for group in triples or []:
            if len(group) > self.limits.max_triples_per_item:
                raise BadInputError(f"{len(group)} triples, more than {self.limits.max_triples_per_item}",
                                    field="triples")
        return await self._call(self._remember_batch, list(items),
                                [list(t) for t in (triples or [[]] * len(items))], dedup)

    async def ingest(self, items: Sequence[MemoryItem], triples: Sequence[Sequence[Triple]] | None = None,
                     *, chunk: int = 256, dedup: bool = True,
                     on_progress: Callable[[int, int], None] | None = None) -> list[MemoryItem]:
        """Bulk load: ``remember_many`` in chunks of ``chunk`` items, embedding the next two chunks on other
        threads while the current one is written (the embedder and the stores then use both cores).

        Each chunk is atomic across the stores (both or neither); if one fails, the chunks before it stay
        stored and the error is raised. Returns the stored items in input order. ``on_progress(done, total)``
        is called after each chunk: load everything in one call and report progress from there, because
        every call starts and ends with a stretch where only one of embedding and writing has work."""
        if chunk < 1:
            raise BadInputError(f"chunk must be at least 1, got {chunk}", field="chunk")
        if triples is not None and len(triples) != len(items):
            raise BadInputError(f"got {len(triples)} triple lists for {len(items)} items", field="triples")
        for item in items:
            check_item(item, self.limits)
        groups = [list(t) for t in (triples or [[]] * len(items))]
        for group in groups:
            if len(group) > self.limits.max_triples_per_item:
                raise BadInputError(f"{len(group)} triples, more than {self.limits.max_triples_per_item}",
                                    field="triples")
        items = list(items)
        spans = [(s, min(s + chunk, len(items))) for s in range(0, len(items), chunk)]
        embedder = self.embedder
        prefetch = self._embed_pool()
        texts = [[it.text for it in items[a:b]] for a, b in spans]
        # Two chunks embedded ahead: with one, the embedder idles whenever it finishes before the writer.
        ahead = [prefetch.submit(embedder.embed, texts[n]) for n in range(min(2, len(spans)))]
        out: list[MemoryItem] = []
        for n, (a, b) in enumerate(spans):
            try:
                vectors = await asyncio.wrap_future(ahead.pop(0))
                k = n + len(ahead) + 1
                if k < len(spans):
                    ahead.append(prefetch.submit(embedder.embed, texts[k]))
                known = {t: vectors[j] for j, t in enumerate(texts[n])}
                out.extend(await self._call(self._remember_batch, items[a:b], groups[a:b], dedup, known))
            except BaseException:
                for pending in ahead:
                    pending.cancel()
                raise
            if on_progress is not None:
                on_progress(b, len(items))
        return out

    def _embed_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """A second thread for ingest-time embedding, with the torch thread count of the memory's I/O thread
        (torch's intra-op setting is per thread)."""
        if self._prefetch is None:
            self._prefetch = self._helper_pool("genesis-memory-embed", 1)
        return self._prefetch

    def _helper_pool(self, name: str, workers: int) -> concurrent.futures.ThreadPoolExecutor:
        """Threads that embed with the torch thread count of the memory's I/O thread."""
        threads = self._io.submit(_torch_threads).result()
        return concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name,
                                                     initializer=_set_torch_threads, initargs=(threads,))

    def _remember_batch(self, items: list[MemoryItem], triples: list[list[Triple]],
                        dedup: bool = True, known_vectors: dict[str, np.ndarray] | None = None) -> list[MemoryItem]:
        self._require("vector", "graph")
        self._ensure_embedder_meta()
        self._maybe_sweep()
        out: list[MemoryItem | None] = [None] * len(items)
        by_ns: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            by_ns.setdefault(item.namespace, []).append(index)
        for ns, indexes in by_ns.items():
            results = self._remember_ns(ns, [items[i] for i in indexes], [triples[i] for i in indexes], dedup,
                                        known_vectors)
            for i, stored in zip(indexes, results):
                out[i] = stored
        return [o for o in out if o is not None]

    def _remember_ns(self, ns: str, items: list[MemoryItem], triples: list[list[Triple]],
                     dedup: bool = True, known_vectors: dict[str, np.ndarray] | None = None) -> list[MemoryItem]:
        assert self.vector is not None and self.graph is not None
        results: list[MemoryItem | None] = [None] * len(items)
        merge_into: dict[int, MemoryItem] = {}
        # an id written again replaces the stored item
        replaced = self.catalog.get_items(ns, list(dict.fromkeys(i.id for i in items)))
        if replaced:
            self._purge(ns, list(replaced))
        # exact duplicates (same text) against the store and within the batch
        first_by_text: dict[str, int] = {}
        for i, item in enumerate(items):
            if not dedup:
                continue
            if item.text in first_by_text:
                merge_into[i] = items[first_by_text[item.text]]
                continue
            first_by_text[item.text] = i
            existing = self.catalog.find_text(ns, item.text)
            if existing is not None and existing.id != item.id:
                merge_into[i] = existing
        fresh = [i for i in range(len(items)) if i not in merge_into]
        if not fresh:
            vectors = np.zeros((0, 1), np.float32)
        elif known_vectors is not None and all(items[i].text in known_vectors for i in fresh):
            vectors = np.stack([known_vectors[items[i].text] for i in fresh])  # embedded ahead by ingest()
        else:
            vectors = self.embedder.embed([items[i].text for i in fresh])
        vec_of = {i: vectors[n] for n, i in enumerate(fresh)}
        # near duplicates
        threshold = self.config.dedup_threshold if dedup else None
        if threshold is not None and fresh:
            nearest = self.vector.query(ns, vectors, 1)
            candidates = {hits[0][0] for hits in nearest if hits and hits[0][1] >= threshold}
            existing_items = self.catalog.get_items(ns, list(candidates)) if candidates else {}
            sims = vectors @ vectors.T
            row_of = {i: n for n, i in enumerate(fresh)}
            kept: list[int] = []
            for n, i in enumerate(fresh):
                hit = nearest[n][0] if nearest[n] else None
                if hit and hit[1] >= threshold and hit[0] in existing_items and hit[0] != items[i].id:
                    merge_into[i] = existing_items[hit[0]]
                    continue
                twin = next((j for j in kept if sims[n, row_of[j]] >= threshold), None)
                if twin is not None:
                    merge_into[i] = items[twin]
                    continue
                kept.append(i)
            fresh = kept
        new_items = [items[i] for i in fresh]
        # extraction + explicit triples -> entities, mentions, relations
        entity_names: dict[str, str] = {}
        mentions: list[tuple[str, str]] = []
        relations: list[tuple[str, str, str, str, dict[str, Any]]] = []
        known = self._known_lookup(ns)
        for i in range(len(items)):
            owner = items[i] if i not in merge_into else merge_into[i]
            if i in merge_into and not triples[i]:
                continue
            extracted = self.extractor.extract(items[i].text, known=known) if (
                self.config.extract and i not in merge_into) else None
            names = list(extracted.entities) if extracted else []
            rels = list(extracted.triples) if extracted else []
            for t in triples[i]:
                check_name(t.subject, "triples.subject", self.limits)
                check_name(t.predicate, "triples.predicate", self.limits)
                check_name(t.object, "triples.object", self.limits)
                rels.append(t)
                names.extend([t.subject, t.object])
            for name in names:
                entity_names.setdefault(entity_key(name), " ".join(name.split()))
                mentions.append((owner.id, entity_key(name)))
            for t in rels:
                relations.append((entity_key(t.subject), " ".join(t.predicate.split()), entity_key(t.object),
                                  owner.id, dict(t.properties)))
        canonical = self._resolve_entities(ns, entity_names)
        entity_rows = [(key, entity_names[key], canonical[key]) for key in entity_names]
        graph_entities = sorted({(c, self._name_of(ns, c, entity_names)) for c in set(canonical.values())})
        mentions = sorted({(i, canonical[k]) for i, k in mentions})
        relations = [(canonical[s], p, canonical[o], i, props) for s, p, o, i, props in relations if canonical[s] != canonical[o]]
        # merges: update the earlier item (tags/metadata), attach any new graph facts to it
        keep = self.limits.max_merged_ids
        for i, target in merge_into.items():
            before = list(target.provenance.get("merged", []))
            ids = list(dict.fromkeys([*before, items[i].id]))
            merged = target.model_copy(update={
                "tags": list(dict.fromkeys([*target.tags, *items[i].tags])),
                "metadata": {**target.metadata, **{k: v for k, v in items[i].metadata.items() if k not in target.metadata}},
                "provenance": {**target.provenance, "merged": ids[-keep:] if keep else [],
                               "merged_count": int(target.provenance.get("merged_count", len(before))) + 1},
            })
            merge_into[i] = merged
            results[i] = merged
        merged_targets = {m.id: m for i, m in merge_into.items() if m.id not in {it.id for it in new_items}}
        # the atomic part: journal -> graph -> vectors -> commit
        new_ids = [it.id for it in new_items]
        seq = self.catalog.journal_begin("upsert", ns, {"ids": new_ids}, new_items) if new_items else None
        try:
            self.graph.write(ns, entities=graph_entities, items=list(merged_targets), new_items=new_ids,
                             mentions=mentions, relations=relations)
            if seq is not None:
                self.catalog.journal_stage(seq, "graph")
                self.vector.upsert(ns, new_ids, np.stack([vec_of[i] for i in fresh]),
                                   [chroma_metadata(it) for it in new_items])
            if merged_targets:
                live = self.catalog.get_items(ns, list(merged_targets))
                updates = [m for mid, m in merged_targets.items() if mid in live]
                for m in updates:
                    self.catalog.update_item(m)
                if updates:
                    self.vector.update_metadata(ns, [m.id for m in updates], [chroma_metadata(m) for m in updates])
        except BaseException:
            if seq is not None:
                self._compensate(ns, new_ids, seq)
            raise
        if seq is not None:
            self.catalog.commit_items(seq, ns, new_ids, entity_rows)
        else:
            self.catalog.add_entities(ns, entity_rows)
        self._index_entity_vectors(ns, canonical, entity_names)
        for n, i in enumerate(fresh):
            results[i] = items[i]
        for i, merged in merge_into.items():
            results[i] = merged_targets.get(merged.id, merged)
        return [r for r in results if r is not None]

    def _name_of(self, ns: str, key: str, batch_names: dict[str, str]) -> str:
        if key in batch_names:
            return batch_names[key]
        return self.catalog.entity_names(ns, [key]).get(key, key)

    def _compensate(self, ns: str, ids: list[str], seq: int) -> None:
        """Undo a half-applied write; if a store refuses, the journal entry stays for ``recover()``."""
        try:
            assert self.vector is not None and self.graph is not None
            self.graph.delete_items(ns, ids)
            self.vector.delete(ns, ids)
            self.catalog.delete_items(ns, ids, seq=seq)
        except Exception as exc:  # the original error is what the caller needs to see
            log.warning("memory: could not undo write %s now (%s); it will be repaired on the next start", seq, exc)

    def _known_lookup(self, ns: str) -> Callable[[list[str]], set[str]]:
        def lookup(keys: list[str]) -> set[str]:
            return set(self.catalog.entity_lookup(ns, keys))

        return lookup

    def _resolve_entities(self, ns: str, names: dict[str, str]) -> dict[str, str]:
        """key -> canonical key: known keys/aliases from the catalog, else (optionally) the nearest known
        entity by name embedding, else itself."""
        if not names:
            return {}
        known = self.catalog.entity_lookup(ns, list(names))
        canonical = {key: known[key][0] for key in names if key in known}
        # Identifier-like names (with digits: "INV-2024-001", "Ticket 17") merge only by exact normalised name:
        # their embeddings cannot tell 001 from 002 (cosine 0.99), and embedding them is most of ingest's cost.
        for key in names:
            if key not in canonical and any(ch.isdigit() for ch in names[key]):
                canonical[key] = key
        unknown = [key for key in names if key not in canonical]
        if unknown and self.config.entity_dedup == "embedding" and self.vector is not None:
            vectors = self.embedder.embed([names[k] for k in unknown])
            nearest = self.vector.query(ns, vectors, 1, kind="entities")
            proposals = {hits[0][0] for hits in nearest if hits and hits[0][1] >= self.config.entity_merge_threshold}
            registered = self.catalog.entity_lookup(ns, list(proposals)) if proposals else {}
            batch_vecs: list[tuple[str, np.ndarray]] = []
            for n, key in enumerate(unknown):
                hit = nearest[n][0] if nearest[n] else None
                if hit and hit[1] >= self.config.entity_merge_threshold and hit[0] in registered:
                    canonical[key] = registered[hit[0]][0]
                    continue
                twin = next((k for k, v in batch_vecs if float(v @ vectors[n]) >= self.config.entity_merge_threshold),
                            None)
                canonical[key] = twin if twin is not None else key
                if twin is None:
                    batch_vecs.append((key, vectors[n]))
            self._pending_entity_vectors = {k: v for k, v in batch_vecs}
        else:
            self._pending_entity_vectors = {}
            for key in unknown:
                canonical[key] = key
        return canonical

    def _index_entity_vectors(self, ns: str, canonical: dict[str, str], names: dict[str, str]) -> None:
        """Name vectors of newly registered entities (a lookup aid for embedding dedup, not a source of truth)."""
        pending = getattr(self, "_pending_entity_vectors", {})
        self._pending_entity_vectors = {}
        if not pending or self.vector is None:
            return
        keys = [k for k in pending if canonical.get(k) == k]
        if keys:
            try:
                self.vector.upsert(ns, keys, np.stack([pending[k] for k in keys]), kind="entities")
            except BackendUnavailableError as exc:  # only dedup quality suffers
                log.warning("memory: entity vectors not indexed: %s", exc)

    async def relate(self, subject: str, predicate: str, object: str, *, namespace: str = "default",
                     **properties: Any) -> Triple:
        """State a relation directly (not extracted from an item). Idempotent."""
        check_namespace(namespace)
        s = check_name(subject, "subject", self.limits)
        p = check_name(predicate, "predicate", self.limits)
        o = check_name(object, "object", self.limits)
        return await self._call(self._relate, namespace, s, p, o, properties)

    def _relate(self, ns: str, s: str, p: str, o: str, properties: dict[str, Any]) -> Triple:
        self._require("graph")
        names = {entity_key(s): s, entity_key(o): o}
        canonical = self._resolve_entities(ns, names)
        cs, co = canonical[entity_key(s)], canonical[entity_key(o)]
        entities = [(cs, self._name_of(ns, cs, names)), (co, self._name_of(ns, co, names))]
        assert self.graph is not None
        self.graph.write(ns, entities=entities, relations=[(cs, p, co, "", properties)])
        self.catalog.add_entities(ns, [(key, names[key], canonical[key]) for key in names])
        self._index_entity_vectors(ns, canonical, names)
        return Triple(subject=s, predicate=p, object=o, properties=properties)

    async def forget(self, ids: Sequence[str] | None = None, *, namespace: str = "default",
                     filters: dict[str, Any] | None = None) -> int:
        """Remove items from every store (and the relations extracted from them). ``ids`` and ``filters``
        together remove the items matching both. Returns the number of items removed."""
        check_namespace(namespace)
        if ids is None and filters is None:
            raise BadInputError("give ids or filters to forget", field="ids",
                                hint="drop_namespace() removes a whole namespace")
        if isinstance(ids, str):
            raise BadInputError("expected a list of ids, got a string", field="ids")
        wanted = validate_filters(filters)
        return await self._call(self._forget, namespace, None if ids is None else list(ids), wanted)

    def _forget(self, ns: str, ids: list[str] | None, wanted: dict[str, Any]) -> int:
        if ids is not None:
            found = self.catalog.get_items(ns, ids)
            targets = [i for i, item in found.items() if matches(item, wanted)]
        else:
            targets = [it.id for it in self.catalog.select(ns, wanted, now=-math.inf)]
        if not targets:
            return 0
        return self._purge(ns, targets)

    def _purge(self, ns: str, ids: list[str]) -> int:
        self._require("vector", "graph")
        assert self.vector is not None and self.graph is not None
        seq = self.catalog.journal_begin("delete", ns, {"ids": ids})
        entities = self.graph.item_entities(ns, ids)
        self.graph.delete_items(ns, ids)
        self.catalog.journal_stage(seq, "graph")
        self.vector.delete(ns, ids)
        removed = self.catalog.delete_items(ns, ids, seq=seq)
        self._drop_orphans(ns, [e for _, e in entities])
        return removed

    def _drop_orphans(self, ns: str, keys: Sequence[str]) -> None:
        assert self.graph is not None and self.vector is not None
        keys = sorted(set(keys))
        if not keys:
            return
        self.graph.delete_orphan_entities(ns, keys)
        alive = {r for r in keys if self.graph.mention_counts(ns, [r]) or self.graph.adjacent(ns, [r])}
        dead = [k for k in keys if k not in alive]
        if dead:
            marks = ",".join("?" * len(dead))
            self.catalog.db.execute(f"DELETE FROM entities WHERE ns = ? AND canonical IN ({marks})", [ns, *dead])
            self.vector.delete(ns, dead, kind="entities")

    def _maybe_sweep(self) -> None:
        if time.time() - self._last_sweep >= self.config.sweep_every_s:
            self._sweep()

    def _sweep(self) -> int:
        self._last_sweep = time.time()
        removed = 0
        for ns, ids in self.catalog.expired().items():
            removed += self._purge(ns, ids)
        return removed

    async def sweep_expired(self) -> int:
        """Delete every item whose TTL has passed (recall already hides them). Returns how many went."""
        return await self._call(self._sweep)

    async def drop_namespace(self, namespace: str) -> int:
        """Remove everything a namespace holds from all stores. Returns the number of items removed."""
        check_namespace(namespace)
        return await self._call(self._drop_namespace, namespace)

    def _drop_namespace(self, ns: str) -> int:
        self._require("vector", "graph")
        assert self.vector is not None and self.graph is not None
        self.graph.drop_namespace(ns)
        self.vector.drop(ns)
        return self.catalog.drop_namespace(ns)

    # ------------------------------------------------------------------------------------------ reads

    async def recall(self, query: str, *, k: int = 5, namespace: str = "default", mode: RecallMode = "hybrid",
                     filters: dict[str, Any] | None = None) -> RecallResult:
        query = check_query(query, self.limits)
        check_k(k, self.limits)
        check_mode(mode)
        check_namespace(namespace)
        wanted = validate_filters(filters)
        # The query embedding and the keyword ranking (on a read-only SQLite connection) run on other threads
        # while the vector and graph signals run on the memory's own: at 100k items a hybrid recall costs
        # about its slowest signal instead of their sum.
        pool = self._query_pool()
        query_vector = pool.submit(self.embedder.embed, [query]) if mode in ("hybrid", "vector") else None
        keyword = pool.submit(self.catalog.keyword, namespace, query, self._depth(k), wanted, reader=True) \
            if mode in ("hybrid", "keyword") else None
        return await self._call(self._recall, query, k, namespace, mode, wanted, query_vector, keyword)

    def _depth(self, k: int) -> int:
        return max(k * 4, self.config.candidate_depth)

    def _query_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._queries is None:  # the query embedding and the keyword signal, side by side
            self._queries = self._helper_pool("genesis-memory-query", 2)
        return self._queries

    def _recall(self, query: str, k: int, ns: str, mode: str, wanted: dict[str, Any],
                query_vector: concurrent.futures.Future[np.ndarray] | None = None,
                keyword: concurrent.futures.Future[list[tuple[str, float]]] | None = None) -> RecallResult:
        depth = self._depth(k)
        missing: dict[str, str] = {}
        rankings: dict[str, list[str]] = {}
        vector_ids: list[str] = []
        items: dict[str, MemoryItem] = {}

        now = time.time()

        def usable(ids: list[str], limit: int) -> list[str]:
            """The first ``limit`` ids that are live, unexpired and match the filters, screened in SQL a
            chunk at a time (a graph walk can score hundreds of items; only the top ones matter)."""
            out: list[str] = []
            chunk = max(limit, 64)
            for start in range(0, len(ids), chunk):
                part = ids[start:start + chunk]
                live = self.catalog.live_ids(ns, part, wanted, now)
                out.extend(i for i in part if i in live)
                if len(out) >= limit:
                    break
            return out[:limit]

        def guarded(signal: str, fn: Callable[[], list[str]]) -> None:
            store = "graph" if signal == "graph" else "vector"
            if getattr(self, store) is None:
                missing[signal] = self.unavailable.get(store, f"{store} store not configured")
                if not self.config.degraded_ok:
                    backend, url = self._backend_of(store)
                    raise BackendUnavailableError(backend, missing[signal], url=url)
                return
            try:
                rankings[signal] = fn()
            except BackendUnavailableError as exc:
                if not self.config.degraded_ok:
                    raise
                missing[signal] = str(exc)
                log.warning("memory: %s signal missing: %s", signal, exc)

        if mode in ("hybrid", "vector"):
            def vector_signal() -> list[str]:
                assert self.vector is not None
                self._ensure_embedder_meta()
                qv = query_vector.result() if query_vector is not None else self.embedder.embed([query])
                ids_filter = wanted.get("ids")
                hits = self.vector.query(ns, qv, depth, where=chroma_where(wanted), ids=ids_filter)[0]
                return usable([i for i, _ in hits], depth)

            guarded("vector", vector_signal)
            vector_ids = rankings.get("vector", [])
        if mode in ("hybrid", "graph"):
            seeds = vector_ids[: self.config.vector_seeds] if mode == "hybrid" else []
            # without filters nearly every scored item is usable: ask the store for a few times ``depth``
            limit = depth * 4 if not wanted else self.config.max_graph_candidates
            guarded("graph", lambda: usable(self._graph_rank(ns, query, seeds, limit), depth))
        if mode in ("hybrid", "keyword"):
            found = keyword.result() if keyword is not None else self.catalog.keyword(ns, query, depth, wanted)
            rankings["keyword"] = [i for i, _ in found]
        weights = self.config.signal_weights or None
        fused = rrf(rankings, k=self.config.rrf_k, weights=weights)[:k]
        need = [i for i, _, _ in fused if i not in items]
        if need:
            items.update(self.catalog.get_items(ns, need))
        hits = [MemoryHit(item=items[i], score=round(score, 6), signals=signals)
                for i, score, signals in fused if i in items and not is_expired(items[i], now)]
        return RecallResult(hits, missing=missing)

    def query_entities(self, ns: str, query: str) -> dict[str, str]:
        """Canonical keys of the known entities a text names -> the n-gram that named them."""
        grams = ngrams(word_text(query).split())
        found = self.catalog.entity_lookup(ns, grams)
        return {canonical: key for key, (canonical, _name) in found.items()}

    def _graph_rank(self, ns: str, query: str, seed_items: list[str], limit: int) -> list[str]:
        """Weighted multi-hop walk: entities the query names (weight 1) - or, if it names none, those the
        top vector hits mention (weight ``decay``) - spread ``graph_hops`` hops with ``decay`` per hop (an edge whose predicate the
        query uses keeps its full weight); each item scores the weights of the entities it mentions, damped
        by how many items mention them (hubs say little)."""
        assert self.graph is not None
        decay = self.config.graph_decay
        weights: dict[str, float] = {key: 1.0 for key in self.query_entities(ns, query)}
        if not weights:  # the query names no known entity: start from what the best vector hits mention
            for _item, key in self.graph.item_entities(ns, seed_items):
                weights.setdefault(key, decay)
        if not weights:
            return []
        frontier = dict(weights)
        query_words = set(tokenize(query))
        counts: dict[str, int] = {}
        for _hop in range(self.config.graph_hops):
            # hubs (named by more than max_fanout items, e.g. a word like "Ticket" on every item) are scored
            # but never expanded: their edges say little and would make every walk touch most of the graph
            need = [e for e in frontier if e not in counts]
            if need:
                counts.update(self.graph.mention_counts(ns, need))
            frontier = {e: w for e, w in frontier.items() if counts.get(e, 0) <= self.config.max_fanout}
            if not frontier:
                break
            nxt: dict[str, float] = {}
            for a, predicate, b in self.graph.adjacent(ns, list(frontier)):
                w = edge_weight(frontier[a], decay, predicate, query_words)
                if w > weights.get(b, 0.0) and w > nxt.get(b, 0.0):
                    nxt[b] = w
            if not nxt:
                break
            weights.update(nxt)
            # walk on from the strongest entities only: bounded work however dense the graph gets
            frontier = dict(sorted(nxt.items(), key=lambda kv: -kv[1])[: self.config.max_frontier])
        ranked_entities = sorted(weights, key=lambda e: -weights[e])[: self.config.max_frontier * 2]
        need = [e for e in ranked_entities if e not in counts]
        if need:
            counts.update(self.graph.mention_counts(ns, need))
        useful = {e: weights[e] / math.log2(1 + counts[e]) for e in ranked_entities
                  if 0 < counts.get(e, 0) <= self.config.max_fanout}
        return [i for i, _ in self.graph.top_mentioning_items(ns, useful, limit)]

    async def neighbours(self, entity: str, *, hops: int = 1, namespace: str = "default") -> list[Triple]:
        """Relations within ``hops`` of ``entity`` (either direction), nearest first."""
        check_namespace(namespace)
        name = check_name(entity, "entity", self.limits)
        check_hops(hops, self.limits)
        return await self._call(self._neighbours, namespace, name, hops)

    def _neighbours(self, ns: str, name: str, hops: int) -> list[Triple]:
        self._require("graph")
        assert self.graph is not None
        key = entity_key(name)
        known = self.catalog.entity_lookup(ns, [key])
        root = known[key][0] if key in known else key
        visited = {root}
        frontier = [root]
        out: list[Triple] = []
        seen: set[tuple[str, str, str, str | None]] = set()
        for _ in range(hops):
            nxt: list[str] = []
            for rel in self.graph.relations_of(ns, frontier):
                ident = (rel["subject_key"], rel["predicate"], rel["object_key"], rel["item_id"])
                if ident in seen:
                    continue
                seen.add(ident)
                props = dict(rel["properties"])
                if rel["item_id"]:
                    props.setdefault("item_id", rel["item_id"])
                out.append(Triple(subject=rel["subject"], predicate=rel["predicate"], object=rel["object"],
                                  properties=props))
                for other in (rel["subject_key"], rel["object_key"]):
                    if other not in visited:
                        visited.add(other)
                        nxt.append(other)
            frontier = nxt
            if not frontier:
                break
        return out

    async def get(self, item_id: str, *, namespace: str = "default") -> MemoryItem | None:
        check_namespace(namespace)
        found = await self._call(self.catalog.get_items, namespace, [item_id])
        item = found.get(item_id)
        return None if item is None or is_expired(item) else item

    async def list_items(self, *, namespace: str = "default", filters: dict[str, Any] | None = None,
                         limit: int | None = 100, offset: int = 0) -> list[MemoryItem]:
        """Live items of a namespace, newest first (no ranking; for browsing, export and adapters)."""
        check_namespace(namespace)
        wanted = validate_filters(filters)
        return await self._call(self.catalog.select, namespace, wanted, limit=limit, offset=offset)

    async def relations(self, *, namespace: str = "default") -> list[dict[str, Any]]:
        """Every relation of a namespace (subject, predicate, object, properties, item_id)."""
        check_namespace(namespace)

        def run() -> list[dict[str, Any]]:
            self._require("graph")
            assert self.graph is not None
            return self.graph.all_relations(namespace)

        return await self._call(run)

    async def namespaces(self) -> list[str]:
        return await self._call(self.catalog.namespaces)

    async def stats(self, namespace: str | None = None) -> dict[str, Any]:
        """Counts per namespace and per store, and where each store lives."""
        return await self._call(self._stats, namespace)

    def _stats(self, namespace: str | None) -> dict[str, Any]:
        names = [namespace] if namespace else self.catalog.namespaces()
        out: dict[str, Any] = {
            "backend": "hybrid",
            "vector": {"store": "chroma", "url": self.vector.url if self.vector else None},
            "graph": {"store": self.graph.name if self.graph else self.config.graph_backend,
                      "url": self.graph.url if self.graph else None},
            "catalog": str(self.catalog.path),
            "unavailable": dict(self.unavailable),
            "pending_journal": len(self.catalog.journal_entries()),
            "namespaces": {},
        }
        for ns in names:
            row: dict[str, Any] = {"items": self.catalog.count(ns), "entities": self.catalog.entity_count(ns)}
            if self.vector is not None:
                row["vectors"] = self.vector.count(ns)
            if self.graph is not None:
                row["relations"] = self.graph.counts(ns)["relations"]
            out["namespaces"][ns] = row
        return out

    # ------------------------------------------------------------------------------------------ closing

    async def aclose(self) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._io, self._close_stores)
        self._closed = True
        self._io.shutdown(wait=True)
        if self._prefetch is not None:
            self._prefetch.shutdown(wait=True)
        if self._queries is not None:
            self._queries.shutdown(wait=True)

    def _close_stores(self) -> None:
        if self.graph is not None:
            self.graph.close()
        if self.vector is not None:
            self.vector.close()
        self.catalog.close()

    def _shutdown(self) -> None:
        try:
            self._close_stores()
        finally:
            self._closed = True
            self._io.shutdown(wait=False)
            if self._prefetch is not None:
                self._prefetch.shutdown(wait=False)
            if self._queries is not None:
                self._queries.shutdown(wait=False)


def _torch_threads() -> int | None:
    """torch's intra-op thread count on the calling thread, or None if torch is not in use."""
    import sys

    torch = sys.modules.get("torch")
    return None if torch is None else int(torch.get_num_threads())


def _set_torch_threads(threads: int | None) -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and threads:
        torch.set_num_threads(threads)


def build_memory(settings: Any, *, embedder: Any = None, llm: Any = None, **overrides: Any) -> Any:
    """The memory ``GenesisSettings.memory_backend`` asks for: ``HybridMemory`` or ``InProcessMemory``."""
    if getattr(settings, "memory_backend", "hybrid") == "inprocess":
        return InProcessMemory()
    return HybridMemory.from_settings(settings, embedder=embedder, llm=llm, **overrides)
