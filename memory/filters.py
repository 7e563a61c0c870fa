"""Recall/forget filters: one definition of what a filter means, shared by every memory backend.

A filter is a dict. Recognised keys:

- ``kind``, ``source_agent``, ``run_id``: equal to the value, or one of the values if a list is given;
- ``tags``: the item carries all the given tags (a string means one tag);
- ``created_after`` / ``created_before``: unix timestamps (seconds), inclusive / exclusive;
- ``ids``: the item id is one of these;
- any other key ``K`` (or ``metadata.K``): ``item.metadata[K]`` equals the value (or is one of a list).

Filters are validated up front so that a typo'd value type fails loudly instead of matching nothing.
"""

from __future__ import annotations

from typing import Any

from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.infrastructure.errors import BadInputError

FIELD_KEYS = ("kind", "source_agent", "run_id")
_SCALAR = (str, int, float, bool)


def validate_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    """Return a normalised copy of ``filters`` or raise ``BadInputError`` naming the bad key."""
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise BadInputError(f"expected a dict, got {type(filters).__name__}", field="filters")
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not key:
            raise BadInputError("filter keys must be non-empty strings", field="filters")
        where = f"filters.{key}"
        if key in ("created_after", "created_before"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadInputError("expected a unix timestamp (number)", field=where)
            out[key] = float(value)
        elif key in ("tags", "ids"):
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, (list, tuple, set)) or not all(isinstance(v, str) for v in values):
                raise BadInputError("expected a string or a list of strings", field=where)
            out[key] = list(values)
        else:
            if isinstance(value, (list, tuple, set)):
                if not value or not all(isinstance(v, _SCALAR) for v in value):
                    raise BadInputError("expected a non-empty list of scalars", field=where)
                out[key] = list(value)
            elif isinstance(value, _SCALAR) or value is None:
                out[key] = value
            else:
                raise BadInputError(f"expected a scalar or list, got {type(value).__name__}", field=where)
    return out


def _equals(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return actual in wanted
    return actual == wanted


def matches(item: MemoryItem, filters: dict[str, Any]) -> bool:
    """True if ``item`` satisfies every (already validated) filter."""
    for key, wanted in filters.items():
        if key in FIELD_KEYS:
            if not _equals(getattr(item, key), wanted):
                return False
        elif key == "tags":
            if not set(wanted).issubset(item.tags):
                return False
        elif key == "ids":
            if item.id not in wanted:
                return False
        elif key == "created_after":
            if item.created_at < wanted:
                return False
        elif key == "created_before":
            if item.created_at >= wanted:
                return False
        else:
            meta_key = key.removeprefix("metadata.")
            if meta_key not in item.metadata or not _equals(item.metadata[meta_key], wanted):
                return False
    return True
