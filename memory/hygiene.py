"""Memory hygiene that works on any Genesis memory: JSONL export/import of a namespace and compaction.

Both backends (``HybridMemory`` and ``InProcessMemory``) provide ``list_items``, ``relations``,
``remember_many``, ``relate`` and ``forget``; these functions use only that, so a namespace can be moved
between backends (e.g. exported from a test memory and imported into the persistent one).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from genesis_agents.infrastructure.contracts import MemoryItem, Triple
from genesis_agents.infrastructure.errors import BadInputError, NotFoundError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .limits import check_namespace

EXPORT_VERSION = 1
IMPORT_BATCH = 256


class ExportedRelation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["relation"] = "relation"
    subject: str = Field(min_length=1)
    predicate: str = Field(min_length=1)
    object: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)
    item_id: str | None = None


class ExportedItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["item"] = "item"
    item: MemoryItem


class ExportHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["header"] = "header"
    version: int = EXPORT_VERSION
    namespace: str
    exported_at: float = Field(default_factory=time.time)
    items: int = 0
    relations: int = 0


async def export_lines(memory: Any, namespace: str) -> list[str]:
    """The namespace as JSONL lines: a header, every live item, every relation (with its source item)."""
    check_namespace(namespace)
    items = await memory.list_items(namespace=namespace, limit=None)
    relations = await memory.relations(namespace=namespace)
    if not items and not relations:
        known = await memory.namespaces()
        raise NotFoundError(f"namespace {namespace!r} holds nothing", field="namespace",
                            hint=f"known namespaces: {', '.join(known) or 'none'}")
    lines = [ExportHeader(namespace=namespace, items=len(items), relations=len(relations)).model_dump_json()]
    lines.extend(ExportedItem(item=item).model_dump_json() for item in reversed(items))
    lines.extend(ExportedRelation(subject=r["subject"], predicate=r["predicate"], object=r["object"],
                                  properties=r.get("properties") or {}, item_id=r.get("item_id")).model_dump_json()
                 for r in relations)
    return lines


async def export_jsonl(memory: Any, namespace: str, path: str | Path) -> dict[str, int]:
    """Write ``export_lines`` to ``path`` (atomically: a temp file renamed into place)."""
    lines = await export_lines(memory, namespace)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(target)
    header = ExportHeader.model_validate_json(lines[0])
    return {"items": header.items, "relations": header.relations}


def _parse(lines: Iterable[str]) -> Iterator[tuple[int, ExportHeader | ExportedItem | ExportedRelation]]:
    models = {"header": ExportHeader, "item": ExportedItem, "relation": ExportedRelation}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            kind = data.get("type") if isinstance(data, dict) else None
            if kind not in models:
                raise BadInputError(f"unknown record type {kind!r}", field=f"line {number}",
                                    hint="expected header, item or relation")
            yield number, models[kind].model_validate(data)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"not JSON: {exc.msg}", field=f"line {number}") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise BadInputError(f"{where}: {err['msg']}", field=f"line {number}") from None


async def import_lines(memory: Any, lines: Iterable[str], *, namespace: str | None = None) -> dict[str, int]:
    """Load exported JSONL into ``namespace`` (default: the one in the header). Items keep their ids,
    timestamps and TTLs; relations extracted from an item are re-attached to it."""
    records = list(_parse(lines))
    header = next((r for _, r in records if isinstance(r, ExportHeader)), None)
    target = namespace or (header.namespace if header else None)
    if target is None:
        raise BadInputError("no namespace given and the file has no header", field="namespace")
    check_namespace(target)
    items = [r.item.model_copy(update={"namespace": target}) for _, r in records if isinstance(r, ExportedItem)]
    relations = [r for _, r in records if isinstance(r, ExportedRelation)]
    by_item: dict[str, list[Triple]] = {}
    free: list[ExportedRelation] = []
    item_ids = {i.id for i in items}
    for rel in relations:
        triple = Triple(subject=rel.subject, predicate=rel.predicate, object=rel.object,
                        properties={k: v for k, v in rel.properties.items() if k != "item_id"})
        if rel.item_id and rel.item_id in item_ids:
            by_item.setdefault(rel.item_id, []).append(triple)
        else:
            free.append(rel)
    now = time.time()
    live = [i for i in items if i.expires_at is None or i.expires_at > now]
    for start in range(0, len(live), IMPORT_BATCH):
        batch = live[start:start + IMPORT_BATCH]
        await memory.remember_many(batch, triples=[by_item.get(i.id, []) for i in batch])
    for rel in free:
        await memory.relate(rel.subject, rel.predicate, rel.object, namespace=target, **rel.properties)
    return {"items": len(live), "relations": len(relations), "expired_skipped": len(items) - len(live)}


async def import_jsonl(memory: Any, path: str | Path, *, namespace: str | None = None) -> dict[str, int]:
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(f"no such file {str(source)!r}", field="path")
    with source.open(encoding="utf-8") as fh:
        return await import_lines(memory, fh, namespace=namespace)


class CompactionReport(BaseModel):
    groups: int = 0
    compacted: int = 0
    created: list[str] = Field(default_factory=list)
    summarised_with_llm: bool = False


async def compact(
    memory: Any,
    *,
    namespace: str = "default",
    older_than_s: float = 30 * 24 * 3600,
    group_by: Literal["run_id", "source_agent", "kind"] = "run_id",
    min_group: int = 3,
    llm: Any = None,
    max_chars: int = 8_000,
) -> CompactionReport:
    """Replace groups of old items by one item each: an LLM summary if ``llm`` is given, else a digest that
    keeps every (distinct) sentence. Relations extracted from the originals move to the new item, the
    originals are forgotten. The new item is written before the originals go, so nothing is ever lost."""
    check_namespace(namespace)
    if older_than_s < 0 or min_group < 2:
        raise BadInputError("older_than_s must be >= 0 and min_group >= 2", field="older_than_s")
    cutoff = time.time() - older_than_s
    old = await memory.list_items(namespace=namespace, filters={"created_before": cutoff}, limit=None)
    old = [i for i in old if i.kind not in ("summary", "digest")]
    groups: dict[str, list[MemoryItem]] = {}
    for item in old:
        key = getattr(item, group_by) or "(none)"
        groups.setdefault(str(key), []).append(item)
    report = CompactionReport(summarised_with_llm=llm is not None)
    relations = await memory.relations(namespace=namespace)
    for key, members in sorted(groups.items()):
        if len(members) < min_group:
            continue
        members.sort(key=lambda i: i.created_at)
        for chunk in _chunks(members, max_chars):
            ids = [m.id for m in chunk]
            text = _summarise(chunk, llm, max_chars) if llm is not None else _digest(chunk)
            triples = [Triple(subject=r["subject"], predicate=r["predicate"], object=r["object"],
                              properties=r.get("properties") or {})
                       for r in relations if r.get("item_id") in set(ids)]
            summary = MemoryItem(
                text=text, namespace=namespace, kind="summary" if llm is not None else "digest",
                source_agent=chunk[0].source_agent if group_by == "source_agent" else None,
                run_id=chunk[0].run_id if group_by == "run_id" else None,
                created_at=chunk[-1].created_at,
                tags=sorted({t for m in chunk for t in m.tags}),
                provenance={"compacted_from": ids, "group_by": group_by, "group": key},
            )
            stored = (await memory.remember_many([summary], triples=[triples]))[0]
            await memory.forget(ids, namespace=namespace)
            report.groups += 1
            report.compacted += len(ids)
            report.created.append(stored.id)
    return report


def _chunks(members: list[MemoryItem], max_chars: int) -> list[list[MemoryItem]]:
    """Consecutive runs of members whose digest fits ``max_chars`` (an oversized item stands alone)."""
    chunks: list[list[MemoryItem]] = [[]]
    size = 0
    for member in members:
        if chunks[-1] and size + len(member.text) + 1 > max_chars:
            chunks.append([])
            size = 0
        chunks[-1].append(member)
        size += len(member.text) + 1
    return [c for c in chunks if c]


def _digest(members: list[MemoryItem]) -> str:
    seen: set[str] = set()
    parts: list[str] = []
    for member in members:
        for sentence in member.text.replace("\n", " ").split(". "):
            s = sentence.strip().rstrip(".")
            if s and s.lower() not in seen:
                seen.add(s.lower())
                parts.append(s + ".")
    return " ".join(parts)


def _summarise(members: list[MemoryItem], llm: Any, max_chars: int) -> str:
    joined = "\n".join(f"- {m.text}" for m in members)
    prompt = ("Summarise these notes into one short paragraph that keeps every name, number and relation:\n"
              f"{joined[: max_chars * 4]}")
    try:
        reply = llm.invoke(prompt)
        text = str(getattr(reply, "content", reply)).strip()
    except Exception:  # the digest keeps the facts if the model fails
        text = ""
    return text[:max_chars] if text else _digest(members)
