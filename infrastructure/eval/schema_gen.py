"""Generate the published JSON Schema of suite files from the pydantic models.

The schema is derived, never hand-written, so it cannot drift: a test regenerates it and compares it with
``schema/scenario.schema.json``. Regenerate after changing ``models.py`` with
``python -m genesis_agents.infrastructure.eval.schema_gen``.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from ..contracts import SafetyAction
from .models import SuiteFile

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "scenario.schema.json"
SCHEMA_ID = "https://genesis-agents.dev/schemas/eval/scenario.schema.json"


def _or(schema: dict[str, Any], name: str, alternative: dict[str, Any]) -> None:
    """Let a definition also accept its shorthand (the models' ``mode='before'`` validators accept it)."""
    body = schema["$defs"][name]
    keep = {k: body.pop(k) for k in ("title", "description") if k in body}
    schema["$defs"][name] = {**keep, "anyOf": [alternative, body]}


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a YAML suite file; ``#/$defs/Scenario`` is one JSONL line."""
    schema = SuiteFile.model_json_schema(by_alias=True)
    actions = list(typing.get_args(SafetyAction))
    _or(schema, "ScenarioTask", {"type": "string", "minLength": 1})
    _or(schema, "ScriptedLLM", {"type": "array", "items": {"type": "string"}})
    _or(schema, "CountRange", {"type": "integer", "minimum": 0})
    _or(schema, "SafetyExpect", {"anyOf": [{"enum": actions}, {"type": "array", "items": {"enum": actions}}]})
    props = schema["$defs"]["Expectations"]["properties"]
    for field, ref in (("output", "OutputCheck"), ("artifacts", "ArtifactExpect")):
        original = props[field]
        props[field] = {"anyOf": [{"$ref": f"#/$defs/{ref}"}, {k: v for k, v in original.items() if k != "title"}],
                        "title": original.get("title", field)}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Genesis evaluation suite", **{k: v for k, v in schema.items() if k != "title"}}


def render_schema() -> str:
    return json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: str | Path = SCHEMA_PATH) -> Path:
    p = Path(path)
    p.write_text(render_schema(), encoding="utf-8")
    return p


if __name__ == "__main__":  # pragma: no cover
    print(write_schema())
