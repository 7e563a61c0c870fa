"""Explicit, configurable limits and input checks shared by every memory backend."""

from __future__ import annotations

import re
import time

from genesis_agents.infrastructure.contracts import NAMESPACE_PATTERN, MemoryItem
from genesis_agents.infrastructure.errors import BadInputError, LimitExceededError
from pydantic import BaseModel, ConfigDict, Field

_NAMESPACE = re.compile(NAMESPACE_PATTERN)
RECALL_MODES = ("hybrid", "vector", "keyword", "graph")


class MemoryLimits(BaseModel):
    """Bounds on what one call may do. Oversized input fails with ``LimitExceededError``, never truncates."""

    model_config = ConfigDict(extra="forbid")

    max_item_chars: int = Field(default=32_000, ge=1, description="longest item text accepted")
    max_query_chars: int = Field(default=4_000, ge=1, description="longest recall query accepted")
    max_k: int = Field(default=200, ge=1, description="most hits one recall may ask for")
    max_hops: int = Field(default=3, ge=1, description="deepest graph neighbourhood walk")
    max_entity_chars: int = Field(default=200, ge=1, description="longest entity or predicate name")
    max_triples_per_item: int = Field(default=200, ge=0)
    max_merged_ids: int = Field(default=100, ge=0, description=(
        "ids of merged duplicates an item's provenance lists (the most recent; provenance.merged_count counts "
        "them all): a text stored over and over, such as an agent's constant answer, must not grow one row"))


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise BadInputError(
            f"invalid namespace {namespace!r}", field="namespace",
            hint="1-64 characters: letters, digits, '_', '.', '-', starting with a letter or digit",
        )
    return namespace


def check_query(query: str, limits: MemoryLimits) -> str:
    if not isinstance(query, str) or not query.strip():
        raise BadInputError("query is empty", field="query", hint="pass the text to search for")
    if len(query) > limits.max_query_chars:
        raise LimitExceededError(
            f"query has {len(query)} characters, more than {limits.max_query_chars}",
            limit="max_query_chars", value=len(query), maximum=limits.max_query_chars, field="query",
            hint="shorten the query or raise MemoryLimits.max_query_chars",
        )
    return query.strip()


def check_k(k: int, limits: MemoryLimits) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise BadInputError(f"expected a positive integer, got {k!r}", field="k")
    if k > limits.max_k:
        raise LimitExceededError(f"k={k} is more than {limits.max_k}", limit="max_k", value=k,
                                 maximum=limits.max_k, field="k",
                                 hint="ask for fewer hits or raise MemoryLimits.max_k")
    return k


def check_mode(mode: str) -> str:
    if mode not in RECALL_MODES:
        raise BadInputError(f"unknown recall mode {mode!r}", field="mode", hint=f"one of {', '.join(RECALL_MODES)}")
    return mode


def check_hops(hops: int, limits: MemoryLimits) -> int:
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 1:
        raise BadInputError(f"expected a positive integer, got {hops!r}", field="hops")
    if hops > limits.max_hops:
        raise LimitExceededError(f"hops={hops} is more than {limits.max_hops}", limit="max_hops", value=hops,
                                 maximum=limits.max_hops, field="hops",
                                 hint="walk fewer hops or raise MemoryLimits.max_hops")
    return hops


def check_item(item: MemoryItem, limits: MemoryLimits) -> MemoryItem:
    if not isinstance(item, MemoryItem):
        raise BadInputError(f"expected a MemoryItem, got {type(item).__name__}", field="item")
    if not item.text.strip():
        raise BadInputError("item text is empty", field="item.text")
    if len(item.text) > limits.max_item_chars:
        raise LimitExceededError(
            f"item text has {len(item.text)} characters, more than {limits.max_item_chars}",
            limit="max_item_chars", value=len(item.text), maximum=limits.max_item_chars, field="item.text",
            hint="split the text into smaller items or raise MemoryLimits.max_item_chars",
        )
    check_namespace(item.namespace)
    return item


def check_name(value: str, field: str, limits: MemoryLimits) -> str:
    """An entity or predicate name: non-blank and bounded."""
    if not isinstance(value, str) or not value.strip():
        raise BadInputError(f"{field} is empty", field=field)
    value = " ".join(value.split())
    if len(value) > limits.max_entity_chars:
        raise LimitExceededError(f"{field} has {len(value)} characters, more than {limits.max_entity_chars}",
                                 limit="max_entity_chars", value=len(value), maximum=limits.max_entity_chars,
                                 field=field, hint="use a shorter name or raise MemoryLimits.max_entity_chars")
    return value


def is_expired(item: MemoryItem, now: float | None = None) -> bool:
    expires = item.expires_at
    return expires is not None and expires <= (time.time() if now is None else now)
