"""``genesis memory add|search|relate|show|forget|stats|export|import|compact`` - the shared memory from a shell.

The memory is built from the same settings as the host (``GENESIS_DATA_DIR``, ``GENESIS_CHROMA_URL``,
``GENESIS_GRAPH_BACKEND``, ``GENESIS_NEO4J_*``). Heavy libraries load inside the commands only.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .common import console, fail, print_json

T = TypeVar("T")

memory_app = typer.Typer(help="Remember, recall, relate and forget in the shared memory.", no_args_is_help=True)

NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", help="tenant namespace")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(memory_app, name="memory")
    groups["memory"] = memory_app


def _with_memory(work: Callable[[Any], Awaitable[T]]) -> T:
    """Open the configured memory, run ``work`` on it, close it; GenesisErrors become one red line."""
    import asyncio

    from genesis_agents.infrastructure.config import load_settings
    from genesis_agents.infrastructure.errors import GenesisError

    async def go() -> T:
        from genesis_agents.memory.hybrid import build_memory

        memory = build_memory(load_settings())
        try:
            return await work(memory)
        finally:
            await memory.aclose()

    try:
        return asyncio.run(go())
    except GenesisError as exc:
        raise fail(exc) from None


async def _known_namespace(memory: Any, namespace: str) -> None:
    from genesis_agents.infrastructure.errors import NotFoundError
    from genesis_agents.memory.limits import check_namespace

    check_namespace(namespace)
    known = await memory.namespaces()
    if namespace not in known:
        raise NotFoundError(f"unknown namespace {namespace!r}", field="namespace",
                            hint=f"known namespaces: {', '.join(known) or 'none (add something first)'}")


def _parse_filters(pairs: list[str] | None) -> dict[str, Any] | None:
    """``key=value`` pairs; values are JSON when they parse (numbers, true/false, lists), else strings."""
    from genesis_agents.infrastructure.errors import BadInputError

    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"expected key=value, got {pair!r}", field="--filter")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def _parse_triple(spec: str) -> Any:
    from genesis_agents.infrastructure.contracts import Triple
    from genesis_agents.infrastructure.errors import BadInputError

    parts = [p.strip() for p in spec.split("|")]
    if len(parts) != 3 or not all(parts):
        raise BadInputError(f"expected 'subject|predicate|object', got {spec!r}", field="--triple")
    return Triple(subject=parts[0], predicate=parts[1], object=parts[2])


def _edge(triple: Any) -> str:
    return f"({triple.subject}) -[{triple.predicate}]-> ({triple.object})"


@memory_app.command("add")
def add_cmd(
    text: Annotated[str, typer.Argument(help="the text to remember")],
    namespace: NamespaceOpt = "default",
    kind: Annotated[str, typer.Option(help="note | finding | document | ...")] = "note",
    tags: Annotated[list[str] | None, typer.Option("--tag", help="tag (repeatable)")] = None,
    ttl: Annotated[float | None, typer.Option("--ttl", help="expire after this many seconds")] = None,
    triples: Annotated[list[str] | None, typer.Option("--triple", help="'subject|predicate|object' (repeatable)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Remember one item (entities and relations are extracted from it)."""
    from genesis_agents.infrastructure.contracts import MemoryItem
    from genesis_agents.infrastructure.errors import BadInputError
    from pydantic import ValidationError

    try:
        parsed = [_parse_triple(t) for t in triples or []]
        item = MemoryItem(text=text, namespace=namespace, kind=kind, tags=list(tags or []), ttl_s=ttl,
                          provenance={"source": "cli"})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise fail(BadInputError(err["msg"], field=".".join(str(p) for p in err["loc"]))) from None
    except BadInputError as exc:
        raise fail(exc) from None
    stored = _with_memory(lambda m: m.remember(item, triples=parsed))
    if as_json:
        print_json(stored.model_dump(mode="json"))
    elif stored.id != item.id:
        console().print(f"merged into existing [bold]{stored.id}[/] (near-duplicate)")
    else:
        console().print(f"remembered [bold]{stored.id}[/] in {namespace}")


@memory_app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="what to look for")],
    namespace: NamespaceOpt = "default",
    k: Annotated[int, typer.Option("--k", "-k", help="how many hits")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid | vector | keyword | graph")] = "hybrid",
    filters: Annotated[list[str] | None, typer.Option("--filter", help="key=value (repeatable)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recall items; every hit shows which signals found it and at which rank."""
    async def work(memory: Any) -> Any:
        await _known_namespace(memory, namespace)
        return await memory.recall(query, k=k, namespace=namespace, mode=mode, filters=_parse_filters(filters))

    hits = _with_memory(work)
    missing = getattr(hits, "missing", {})
    if as_json:
        print_json({"hits": [h.model_dump(mode="json") for h in hits], "missing": missing})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{len(hits)} hit(s) for {query!r} in {namespace} ({mode})"))
    for col in ("#", "id", "score", "signals", "kind", "text"):
        table.add_column(col)
    for n, hit in enumerate(hits, start=1):
        signals = ", ".join(f"{s}#{r}" for s, r in sorted(hit.signals.items()))
        table.add_row(str(n), hit.item.id, f"{hit.score:.4f}", signals, escape(hit.item.kind),
                      escape(hit.item.text[:90]))
    out = console()
    out.print(table)
    for signal, why in missing.items():
        out.print(f"[yellow]missing signal {signal}:[/] {why}")


@memory_app.command("relate")
def relate_cmd(
    subject: Annotated[str, typer.Argument()],
    predicate: Annotated[str, typer.Argument()],
    obj: Annotated[str, typer.Argument(metavar="OBJECT")],
    namespace: NamespaceOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """State a relation between two entities."""
    triple = _with_memory(lambda m: m.relate(subject, predicate, obj, namespace=namespace))
    if as_json:
        print_json(triple.model_dump(mode="json"))
    else:
        console().print(_edge(triple), markup=False)


@memory_app.command("show")
def show_cmd(
    target: Annotated[str, typer.Argument(help="an item id, or an entity name with --entity")],
    namespace: NamespaceOpt = "default",
    entity: Annotated[bool, typer.Option("--entity", "-e", help="show an entity's relations")] = False,
    hops: Annotated[int, typer.Option(help="relation hops for --entity")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Show one item, or the relations around an entity."""
    from genesis_agents.infrastructure.errors import NotFoundError

    async def work(memory: Any) -> Any:
        await _known_namespace(memory, namespace)
        if entity:
            return await memory.neighbours(target, hops=hops, namespace=namespace)
        item = await memory.get(target, namespace=namespace)
        if item is None:
            raise NotFoundError(f"no item {target!r} in namespace {namespace!r}", field="target",
                                hint="use --entity to show an entity's relations")
        return item

    result = _with_memory(work)
    out = console()
    if entity:
        if as_json:
            print_json([t.model_dump(mode="json") for t in result])
            return
        if not result:
            out.print(f"no relations around {target!r}")
        for t in result:
            source = t.properties.get("item_id")
            out.print(_edge(t) + (f"  (from {source})" if source else ""), markup=False)
        return
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    for key, value in result.model_dump(mode="json").items():
        out.print(f"{key}: {value}", markup=False)


@memory_app.command("forget")
def forget_cmd(
    ids: Annotated[list[str] | None, typer.Argument(help="item ids")] = None,
    namespace: NamespaceOpt = "default",
    filters: Annotated[list[str] | None, typer.Option("--filter", help="key=value (repeatable)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove items (by id and/or filter) from every store."""
    from genesis_agents.infrastructure.errors import BadInputError

    if not ids and not filters:
        raise fail(BadInputError("give item ids or --filter", field="ids"))

    async def work(memory: Any) -> int:
        await _known_namespace(memory, namespace)
        return await memory.forget(list(ids) if ids else None, namespace=namespace, filters=_parse_filters(filters))

    removed = _with_memory(work)
    if as_json:
        print_json({"removed": removed, "namespace": namespace})
    else:
        console().print(f"forgot {removed} item(s) in {namespace}")


@memory_app.command("stats")
def stats_cmd(
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="one namespace (default: all)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Counts per namespace and where each store lives."""
    async def work(memory: Any) -> Any:
        if namespace is not None:
            await _known_namespace(memory, namespace)
        return await memory.stats(namespace)

    stats = _with_memory(work)
    if as_json:
        print_json(stats)
        return
    from rich.table import Table

    out = console()
    for store in ("vector", "graph"):
        if isinstance(stats.get(store), dict):
            out.print(f"[bold]{store}[/]: {stats[store].get('store')} at {stats[store].get('url')}")
    if stats.get("unavailable"):
        out.print(f"[yellow]unavailable:[/] {stats['unavailable']}")
    table = Table(title="namespaces")
    columns = sorted({c for row in stats["namespaces"].values() for c in row})
    table.add_column("namespace")
    for col in columns:
        table.add_column(col, justify="right")
    for ns, row in stats["namespaces"].items():
        table.add_row(ns, *(str(row.get(c, "-")) for c in columns))
    out.print(table)


@memory_app.command("export")
def export_cmd(
    namespace: Annotated[str, typer.Argument(help="namespace to export")],
    path: Annotated[Path, typer.Argument(help="JSONL file to write")],
    as_json: JsonOpt = False,
) -> None:
    """Export a namespace (items and relations) to JSONL."""
    from genesis_agents.memory.hygiene import export_jsonl

    counts = _with_memory(lambda m: export_jsonl(m, namespace, path))
    if as_json:
        print_json({**counts, "path": str(path)})
    else:
        console().print(f"exported {counts['items']} item(s) and {counts['relations']} relation(s) to {path}")


@memory_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="JSONL file written by 'genesis memory export'")],
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="target (default: from file)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a JSONL export (items keep ids, timestamps and TTLs)."""
    from genesis_agents.memory.hygiene import import_jsonl
    from rich.status import Status

    if as_json:
        counts = _with_memory(lambda m: import_jsonl(m, path, namespace=namespace))
        print_json(counts)
        return
    with Status(f"importing {path}...", console=console(stderr=True)):
        counts = _with_memory(lambda m: import_jsonl(m, path, namespace=namespace))
    console().print(f"imported {counts['items']} item(s) and {counts['relations']} relation(s)"
                    + (f", skipped {counts['expired_skipped']} expired" if counts["expired_skipped"] else ""))


@memory_app.command("compact")
def compact_cmd(
    namespace: NamespaceOpt = "default",
    older_than_days: Annotated[float, typer.Option(help="compact items older than this")] = 30.0,
    group_by: Annotated[str, typer.Option(help="run_id | source_agent | kind")] = "run_id",
    min_group: Annotated[int, typer.Option(help="smallest group worth compacting")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Merge groups of old items into digests (summaries when an LLM is configured)."""
    from genesis_agents.infrastructure.errors import BadInputError
    from genesis_agents.memory.hygiene import compact

    if group_by not in ("run_id", "source_agent", "kind"):
        raise fail(BadInputError(f"unknown grouping {group_by!r}", field="--group-by",
                                 hint="one of run_id, source_agent, kind"))

    async def work(memory: Any) -> Any:
        await _known_namespace(memory, namespace)
        return await compact(memory, namespace=namespace, older_than_s=older_than_days * 86400,
                             group_by=group_by, min_group=min_group, llm=getattr(memory, "llm", None))

    report = _with_memory(work)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        console().print(f"compacted {report.compacted} item(s) into {report.groups} item(s)")
