"""A LangGraph ``BaseStore`` over a Genesis memory, so plain LangGraph agents share the same memory.

LangGraph namespaces are tuples (``("users", "42", "prefs")``); they all live inside one Genesis tenant
namespace (``namespace=`` here), recorded in each item's metadata (``lg_ns``, one ``lg_<i>`` per level) so
that prefix searches are ordinary memory filters. A put is a replace (same key -> same item id) and skips
the near-duplicate merge: a key-value store must keep every key. Searching with a ``query`` uses the
memory's hybrid recall; without one it lists newest first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.infrastructure.errors import BadInputError
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from .limits import check_namespace
from .sync import run_sync

SEP = "\x1f"


def store_item_id(namespace: tuple[str, ...], key: str) -> str:
    digest = hashlib.sha1(json.dumps([list(namespace), key]).encode()).hexdigest()[:24]
    return f"lg_{digest}"


def _text_of(value: Mapping[str, Any], index: list[str] | None) -> str:
    if index:
        parts = [str(value[f]) for f in index if f in value and value[f] is not None]
        if parts:
            return "\n".join(parts)
    for field in ("text", "content", "memory", "data"):
        if isinstance(value.get(field), str) and value[field].strip():
            return value[field]
    return json.dumps(value, sort_keys=True, default=str)


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class MemoryStore(BaseStore):
    """``BaseStore`` backed by ``HybridMemory`` or ``InProcessMemory`` (anything with the Genesis memory API)."""

    supports_ttl = True

    def __init__(self, memory: Any, *, namespace: str = "default", search_mode: str = "hybrid") -> None:
        self.memory = memory
        self.namespace = check_namespace(namespace)
        self.search_mode = search_mode

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return run_sync(self.abatch(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(await self._get(op))
            elif isinstance(op, PutOp):
                await self._put(op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append(await self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(await self._list_namespaces(op))
            else:
                raise BadInputError(f"unsupported store operation {type(op).__name__}", field="op")
        return results

    # ------------------------------------------------------------------------------------------ ops

    def _to_item(self, item: MemoryItem) -> Item:
        meta = item.metadata
        return Item(value=meta.get("lg_value", {}), key=meta.get("lg_key", item.id),
                    namespace=tuple(meta.get("lg_ns", "").split(SEP)) if meta.get("lg_ns") else (),
                    created_at=_when(float(meta.get("lg_created_at", item.created_at))),
                    updated_at=_when(float(meta.get("lg_updated_at", item.created_at))))

    async def _get(self, op: GetOp) -> Item | None:
        item = await self.memory.get(store_item_id(op.namespace, op.key), namespace=self.namespace)
        return None if item is None else self._to_item(item)

    async def _put(self, op: PutOp) -> None:
        item_id = store_item_id(op.namespace, op.key)
        if op.value is None:
            await self.memory.forget([item_id], namespace=self.namespace)
            return
        if not op.namespace:
            raise BadInputError("LangGraph namespace is empty", field="namespace")
        value = json.loads(json.dumps(dict(op.value), default=str))
        previous = await self.memory.get(item_id, namespace=self.namespace)
        now = time.time()
        created = previous.metadata.get("lg_created_at", previous.created_at) if previous else now
        metadata: dict[str, Any] = {"lg_ns": SEP.join(op.namespace), "lg_key": op.key, "lg_value": value,
                                    "lg_depth": len(op.namespace), "lg_created_at": created, "lg_updated_at": now}
        for level, label in enumerate(op.namespace):
            metadata[f"lg_{level}"] = label
        index = None if op.index is None or op.index is False else list(op.index)
        item = MemoryItem(id=item_id, text=_text_of(value, index), namespace=self.namespace, kind="store",
                          metadata=metadata, ttl_s=op.ttl * 60 if op.ttl else None,
                          provenance={"store": "langgraph"})
        await self.memory.remember_many([item], dedup=False)

    def _prefix_filters(self, prefix: tuple[str, ...]) -> dict[str, Any]:
        filters: dict[str, Any] = {"kind": "store"}
        for level, label in enumerate(prefix):
            filters[f"lg_{level}"] = label
        return filters

    @staticmethod
    def _value_matches(value: Mapping[str, Any], wanted: dict[str, Any] | None) -> bool:
        if not wanted:
            return True
        for key, expected in wanted.items():
            actual = value.get(key)
            if isinstance(expected, dict) and any(k.startswith("$") for k in expected):
                for op_name, operand in expected.items():
                    ok = {"$eq": actual == operand, "$ne": actual != operand,
                          "$gt": actual is not None and actual > operand,
                          "$gte": actual is not None and actual >= operand,
                          "$lt": actual is not None and actual < operand,
                          "$lte": actual is not None and actual <= operand}.get(op_name)
                    if ok is None:
                        raise BadInputError(f"unsupported filter operator {op_name!r}", field=f"filter.{key}")
                    if not ok:
                        return False
            elif actual != expected:
                return False
        return True

    async def _search(self, op: SearchOp) -> list[SearchItem]:
        filters = self._prefix_filters(op.namespace_prefix)
        wanted = op.filter or None
        if op.query and op.query.strip():
            hits = await self.memory.recall(op.query, k=min(200, max(1, (op.offset + op.limit) * 3)),
                                            namespace=self.namespace, mode=self.search_mode, filters=filters)
            found = [(h.item, h.score) for h in hits if self._value_matches(h.item.metadata.get("lg_value", {}), wanted)]
        else:
            items = await self.memory.list_items(namespace=self.namespace, filters=filters, limit=None)
            found = [(i, 0.0) for i in items if self._value_matches(i.metadata.get("lg_value", {}), wanted)]
            found.sort(key=lambda p: -float(p[0].metadata.get("lg_updated_at", p[0].created_at)))
        page = found[op.offset: op.offset + op.limit]
        return [self._search_item(item, score if op.query else None) for item, score in page]

    def _search_item(self, item: MemoryItem, score: float | None) -> SearchItem:
        meta = item.metadata
        return SearchItem(namespace=tuple(meta.get("lg_ns", "").split(SEP)), key=meta.get("lg_key", item.id),
                          value=meta.get("lg_value", {}),
                          created_at=_when(float(meta.get("lg_created_at", item.created_at))),
                          updated_at=_when(float(meta.get("lg_updated_at", item.created_at))), score=score)

    async def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        items = await self.memory.list_items(namespace=self.namespace, filters={"kind": "store"}, limit=None)
        spaces = {tuple(i.metadata["lg_ns"].split(SEP)) for i in items if i.metadata.get("lg_ns")}
        out = []
        for ns in sorted(spaces):
            if op.match_conditions and not all(_condition(ns, c) for c in op.match_conditions):
                continue
            out.append(ns[: op.max_depth] if op.max_depth is not None else ns)
        out = sorted(set(out))
        return out[op.offset: op.offset + op.limit]


def _condition(ns: tuple[str, ...], cond: MatchCondition) -> bool:
    path = tuple(cond.path)
    if len(path) > len(ns):
        return False
    part = ns[: len(path)] if cond.match_type == "prefix" else ns[-len(path):]
    return all(p == "*" or p == n for p, n in zip(path, part))
