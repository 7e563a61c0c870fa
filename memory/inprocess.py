"""A dictionary-backed memory implementing the ``Memory`` protocol with no external dependencies.

Why it exists: tests, benchmarks and small scripts need a memory that starts instantly and never touches
disk (``memory_backend="inprocess"``). It honours the same contract as ``HybridMemory`` - namespaces,
filters, TTL, dedup, triples, graph walks and signal-tagged hits - with cheap stand-ins for the signals:
BM25 for keyword, character-trigram cosine for vector, and a weighted walk over the triples for graph.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

from genesis_agents.infrastructure.contracts import MemoryHit, MemoryItem, RecallMode, Triple
from genesis_agents.infrastructure.errors import BadInputError

from .extraction import OfflineExtractor
from .filters import matches, validate_filters
from .fusion import rrf
from .limits import (
    MemoryLimits,
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
from .text import BM25Index, cosine, edge_weight, entity_key, mentions, tokenize, trigrams, word_text

GRAPH_DECAY = 0.5
"""Weight lost per hop when the graph walk scores items mentioning reached entities."""
RRF_K = 20
SIGNAL_WEIGHTS = {"vector": 1.0, "keyword": 1.0, "graph": 2.0}
"""The same fusion defaults as ``MemoryConfig`` (see benchmarks/memory/quality.py)."""


class _Namespace:
    """Everything one tenant has stored. Kept separate so that no signal can see another tenant's data."""

    def __init__(self) -> None:
        self.items: dict[str, MemoryItem] = {}
        self.words: dict[str, str] = {}  # item id -> word text (for entity mention checks)
        self.grams: dict[str, Counter[str]] = {}
        self.by_text: dict[str, str] = {}  # normalised text -> item id (exact-duplicate merge)
        self.bm25 = BM25Index()
        self.triples: list[Triple] = []
        self.edges: dict[str, list[int]] = {}  # entity key -> indices into triples
        self.names: dict[str, str] = {}  # entity key -> display name
        self.mentioned_by: dict[str, set[str]] = {}  # entity key -> item ids
        self.expiries: list[tuple[float, str]] = []  # heap of (expires_at, item id): purging never scans items


class InProcessMemory(SyncHelpers):
    """``Memory`` in plain dicts. Not persistent, not shared between processes; fast and deterministic."""

    def __init__(self, *, limits: MemoryLimits | None = None, extract: bool = True) -> None:
        self.limits = limits or MemoryLimits()
        self.extract = extract
        self.extractor = OfflineExtractor()
        self._spaces: dict[str, _Namespace] = {}
        self._lock = threading.Lock()  # critical sections never await
        self._closed = False

    # ------------------------------------------------------------------------------------------ helpers

    def _space(self, namespace: str, *, create: bool = False) -> _Namespace | None:
        check_namespace(namespace)
        space = self._spaces.get(namespace)
        if space is None and create:
            space = self._spaces[namespace] = _Namespace()
        return space

    def _check_open(self) -> None:
        if self._closed:
            raise BadInputError("memory is closed", field="memory", hint="create a new memory object")

    async def namespaces(self) -> list[str]:
        return sorted(self._spaces)

    def _drop(self, space: _Namespace, item_id: str) -> None:
        item = space.items.pop(item_id, None)
        if item is None:
            return
        space.bm25.remove(item_id)
        space.grams.pop(item_id, None)
        space.words.pop(item_id, None)
        key = word_text(item.text)
        if space.by_text.get(key) == item_id:
            del space.by_text[key]
        for ids in space.mentioned_by.values():
            ids.discard(item_id)

    def _purge_expired(self, space: _Namespace) -> None:
        now = time.time()
        while space.expiries and space.expiries[0][0] <= now:
            _, item_id = heapq.heappop(space.expiries)
            item = space.items.get(item_id)
            if item is not None and is_expired(item, now):  # (an entry may be stale: the id was rewritten)
                self._drop(space, item_id)

    def _add_edge(self, space: _Namespace, triple: Triple, item_id: str | None) -> Triple:
        subject = check_name(triple.subject, "subject", self.limits)
        predicate = check_name(triple.predicate, "predicate", self.limits)
        obj = check_name(triple.object, "object", self.limits)
        props = dict(triple.properties)
        if item_id is not None:
            props.setdefault("item_id", item_id)
        stored = Triple(subject=subject, predicate=predicate, object=obj, properties=props)
        ident = (entity_key(subject), predicate, entity_key(obj), props.get("item_id"))
        for existing in space.edges.get(ident[0], []):
            t = space.triples[existing]
            if (entity_key(t.subject), t.predicate, entity_key(t.object), t.properties.get("item_id")) == ident:
                return t
        index = len(space.triples)
        space.triples.append(stored)
        for name in (subject, obj):
            key = self._add_entity(space, name, item_id)
            space.edges.setdefault(key, []).append(index)
        return stored

    def _add_entity(self, space: _Namespace, name: str, item_id: str | None) -> str:
        key = entity_key(name)
        is_new = key not in space.mentioned_by
        space.names.setdefault(key, name)
        mentioned = space.mentioned_by.setdefault(key, set())
        if item_id is not None:
            mentioned.add(item_id)
        if is_new:  # a new entity: find the items that already mention it
            for other_id, words in space.words.items():
                if mentions(words, key):
                    mentioned.add(other_id)
        return key

    # ------------------------------------------------------------------------------------------ protocol

    async def remember(self, item: MemoryItem, *, triples: Sequence[Triple] = (), dedup: bool = True) -> MemoryItem:
        """Store ``item`` (an exact duplicate text in the same namespace is merged into the earlier item)."""
        self._check_open()
        check_item(item, self.limits)
        if len(triples) > self.limits.max_triples_per_item:
            raise BadInputError(f"{len(triples)} triples, more than {self.limits.max_triples_per_item}",
                                field="triples")
        with self._lock:
            space = self._space(item.namespace, create=True)
            assert space is not None
            self._purge_expired(space)
            words = word_text(item.text)
            existing_id = space.by_text.get(words) if dedup else None
            if existing_id is not None and existing_id != item.id and existing_id in space.items:
                existing = space.items[existing_id]
                merged = existing.model_copy(update={
                    "tags": list(dict.fromkeys([*existing.tags, *item.tags])),
                    "metadata": {**existing.metadata, **item.metadata},
                })
                space.items[existing_id] = merged
                for triple in triples:
                    self._add_edge(space, triple, existing_id)
                return merged
            if item.id in space.items:  # the same id again replaces the item and its extracted relations
                self._drop(space, item.id)
                self._rebuild_edges(space, [t for t in space.triples if t.properties.get("item_id") != item.id])
            space.items[item.id] = item
            if item.expires_at is not None:
                heapq.heappush(space.expiries, (item.expires_at, item.id))
            space.words[item.id] = words
            space.grams[item.id] = trigrams(item.text)
            space.by_text[words] = item.id
            space.bm25.add(item.id, item.text)
            for key, ids in space.mentioned_by.items():
                if mentions(words, key):
                    ids.add(item.id)
            if self.extract:
                found = self.extractor.extract(item.text, known=lambda keys: {k for k in keys if k in space.mentioned_by})
                for name in found.entities:
                    self._add_entity(space, name, item.id)
                for triple in found.triples:
                    self._add_edge(space, triple, item.id)
            for triple in triples:
                self._add_edge(space, triple, item.id)
            return item

    async def recall(self, query: str, *, k: int = 5, namespace: str = "default", mode: RecallMode = "hybrid",
                     filters: dict[str, Any] | None = None) -> list[MemoryHit]:
        self._check_open()
        query = check_query(query, self.limits)
        check_k(k, self.limits)
        check_mode(mode)
        wanted = validate_filters(filters)
        space = self._space(namespace)
        if space is None:
            return []
        with self._lock:
            self._purge_expired(space)
            allowed = {i for i, it in space.items.items() if matches(it, wanted)}
            depth = max(k * 4, 20)
            rankings: dict[str, list[str]] = {}
            if mode in ("hybrid", "vector"):
                rankings["vector"] = self._vector(space, query, allowed)[:depth]
            if mode in ("hybrid", "keyword"):
                rankings["keyword"] = [i for i, _ in space.bm25.score(query, allowed=allowed)][:depth]
            if mode in ("hybrid", "graph"):
                seeds = rankings.get("vector", [])[:3] if mode == "hybrid" else []
                rankings["graph"] = self._graph(space, query, allowed, seeds)[:depth]
            fused = rrf(rankings, k=RRF_K, weights=SIGNAL_WEIGHTS)[:k]
            return [MemoryHit(item=space.items[i], score=round(s, 6), signals=sig) for i, s, sig in fused]

    def _vector(self, space: _Namespace, query: str, allowed: set[str]) -> list[str]:
        q = trigrams(query)
        scored = [(cosine(q, space.grams[i]), i) for i in allowed]
        return [i for s, i in sorted(scored, key=lambda p: (-p[0], p[1])) if s >= 0.15]

    def _graph(self, space: _Namespace, query: str, allowed: set[str], seed_items: list[str]) -> list[str]:
        """Walk from the entities the query names (and the top vector hits mention), scoring items by hop."""
        words = word_text(query)
        query_words = set(tokenize(query))
        start: dict[str, float] = {key: 1.0 for key in space.mentioned_by if mentions(words, key)}
        if not start:  # the query names no known entity: start from what the best vector hits mention
            for item_id in seed_items:
                for key, ids in space.mentioned_by.items():
                    if item_id in ids:
                        start.setdefault(key, GRAPH_DECAY)
        weights: dict[str, float] = dict(start)
        frontier = deque((key, 0) for key in start)
        while frontier:
            key, hop = frontier.popleft()
            if hop >= 2:
                continue
            for index in space.edges.get(key, []):
                t = space.triples[index]
                for other in (entity_key(t.subject), entity_key(t.object)):
                    w = edge_weight(weights[key], GRAPH_DECAY, t.predicate, query_words)
                    if w > weights.get(other, 0.0):
                        weights[other] = w
                        frontier.append((other, hop + 1))
        scores: dict[str, float] = {}
        for key, weight in weights.items():
            mentioned = space.mentioned_by.get(key, set())
            damp = math.log2(1 + len(mentioned)) if mentioned else 1.0
            for item_id in mentioned:
                if item_id in allowed:
                    scores[item_id] = scores.get(item_id, 0.0) + weight / damp
        return [i for i, _ in sorted(scores.items(), key=lambda p: (-p[1], p[0]))]

    async def relate(self, subject: str, predicate: str, object: str, *, namespace: str = "default",
                     **properties: Any) -> Triple:
        self._check_open()
        triple = Triple(subject=check_name(subject, "subject", self.limits),
                        predicate=check_name(predicate, "predicate", self.limits),
                        object=check_name(object, "object", self.limits), properties=properties)
        with self._lock:
            space = self._space(namespace, create=True)
            assert space is not None
            return self._add_edge(space, triple, None)

    async def neighbours(self, entity: str, *, hops: int = 1, namespace: str = "default") -> list[Triple]:
        self._check_open()
        check_name(entity, "entity", self.limits)
        check_hops(hops, self.limits)
        space = self._space(namespace)
        if space is None:
            return []
        root = entity_key(entity)
        seen_edges: list[int] = []
        visited = {root}
        frontier = [root]
        for _ in range(hops):
            nxt: list[str] = []
            for key in frontier:
                for index in space.edges.get(key, []):
                    if index not in seen_edges:
                        seen_edges.append(index)
                    t = space.triples[index]
                    for other in (entity_key(t.subject), entity_key(t.object)):
                        if other not in visited:
                            visited.add(other)
                            nxt.append(other)
            frontier = nxt
        return [space.triples[i] for i in seen_edges]

    async def forget(self, ids: Sequence[str] | None = None, *, namespace: str = "default",
                     filters: dict[str, Any] | None = None) -> int:
        """Remove items by id and/or filter (both given: items matching both). Returns how many went."""
        self._check_open()
        if ids is None and filters is None:
            raise BadInputError("give ids or filters to forget", field="ids",
                                hint="drop_namespace() removes a whole namespace")
        if isinstance(ids, str):
            raise BadInputError("expected a list of ids, got a string", field="ids")
        wanted = validate_filters(filters)
        space = self._space(namespace)
        if space is None:
            return 0
        with self._lock:
            candidates = set(space.items) if ids is None else {i for i in ids if i in space.items}
            doomed = [i for i in candidates if matches(space.items[i], wanted)]
            for item_id in doomed:
                self._drop(space, item_id)
            # triples extracted from a forgotten item go with it
            gone = set(doomed)
            if gone:
                kept = [t for t in space.triples if t.properties.get("item_id") not in gone]
                if len(kept) != len(space.triples):
                    self._rebuild_edges(space, kept)
            return len(doomed)

    def _rebuild_edges(self, space: _Namespace, triples: list[Triple]) -> None:
        space.triples = []
        space.edges = {}
        for triple in triples:
            self._add_edge(space, triple, triple.properties.get("item_id"))

    async def remember_many(self, items: Sequence[MemoryItem], triples: Sequence[Sequence[Triple]] | None = None,
                            *, dedup: bool = True) -> list[MemoryItem]:
        if triples is not None and len(triples) != len(items):
            raise BadInputError(f"got {len(triples)} triple lists for {len(items)} items", field="triples")
        out = []
        for n, item in enumerate(items):
            out.append(await self.remember(item, triples=triples[n] if triples is not None else (), dedup=dedup))
        return out

    async def ingest(self, items: Sequence[MemoryItem], triples: Sequence[Sequence[Triple]] | None = None,
                     *, chunk: int = 256, dedup: bool = True) -> list[MemoryItem]:
        """Bulk load (same API as ``HybridMemory.ingest``; nothing to pipeline here)."""
        if chunk < 1:
            raise BadInputError(f"chunk must be at least 1, got {chunk}", field="chunk")
        return await self.remember_many(items, triples, dedup=dedup)

    async def list_items(self, *, namespace: str = "default", filters: dict[str, Any] | None = None,
                         limit: int | None = 100, offset: int = 0) -> list[MemoryItem]:
        """Live items of a namespace, newest first."""
        wanted = validate_filters(filters)
        space = self._space(namespace)
        if space is None:
            return []
        now = time.time()
        with self._lock:
            live = [i for i in space.items.values() if not is_expired(i, now) and matches(i, wanted)]
        live.sort(key=lambda i: (-i.created_at, i.id))
        return live[offset:] if limit is None else live[offset:offset + limit]

    async def relations(self, *, namespace: str = "default") -> list[dict[str, Any]]:
        space = self._space(namespace)
        if space is None:
            return []
        return [{"subject": t.subject, "predicate": t.predicate, "object": t.object,
                 "properties": {k: v for k, v in t.properties.items() if k != "item_id"},
                 "item_id": t.properties.get("item_id")} for t in space.triples]

    async def drop_namespace(self, namespace: str) -> int:
        """Remove every item and relation of ``namespace``; returns the number of items removed."""
        check_namespace(namespace)
        with self._lock:
            space = self._spaces.pop(namespace, None)
            return 0 if space is None else len(space.items)

    async def get(self, item_id: str, *, namespace: str = "default") -> MemoryItem | None:
        space = self._space(namespace)
        item = space.items.get(item_id) if space else None
        return None if item is None or is_expired(item) else item

    async def stats(self, namespace: str | None = None) -> dict[str, Any]:
        names = [namespace] if namespace else sorted(self._spaces)
        out: dict[str, Any] = {"backend": "inprocess", "namespaces": {}}
        for ns in names:
            space = self._space(ns)
            if space is None:
                continue
            out["namespaces"][ns] = {"items": len(space.items), "entities": len(space.edges),
                                     "relations": len(space.triples)}
        return out

    async def aclose(self) -> None:
        self._closed = True
