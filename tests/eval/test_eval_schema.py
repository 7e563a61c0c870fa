"""The published JSON Schema is generated from the models, is current, and accepts exactly what the loader does."""

from __future__ import annotations

import json

import pytest
from genesis_agents.infrastructure.eval import builtin_suites, load_suite
from genesis_agents.infrastructure.eval.schema_gen import SCHEMA_PATH, render_schema, scenario_json_schema
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML


def test_published_schema_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "scenario.schema.json is stale: run python -m genesis_agents.infrastructure.eval.schema_gen")


def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.mark.parametrize("name", sorted(builtin_suites()))
def test_builtin_suites_validate_against_the_schema(name):
    path = builtin_suites()[name]
    doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc)]
    assert errors == []
    assert load_suite(path).scenarios  # and the loader agrees


def test_schema_rejects_what_the_loader_rejects(write_suite):
    validator = _validator()
    bad_docs = [
        {"scenarios": [{"id": "a", "task": "x", "expect": {"output": [{"path": "text", "contians": "x"}]}}]},
        {"scenarios": [{"id": "a b", "task": "x"}]},
        {"scenarios": [{"id": "a", "task": "x", "split": "test"}]},
        {"scenarios": [{"id": "a", "task": "x", "expect": {"safety": "maybe"}}]},
        {"scenarios": []},
    ]
    for doc in bad_docs:
        assert list(validator.iter_errors(doc)), doc
    shorthand = {"scenarios": [{"id": "a", "task": "add 1", "llm": ["hi"],
                                "expect": {"safety": ["passed", "revised"], "output": {"path": "text", "contains": "1"},
                                           "routing": {"subtasks": 1}}}]}
    assert list(validator.iter_errors(shorthand)) == []
    jsonl_line = scenario_json_schema()["$defs"]["Scenario"]
    assert "id" in jsonl_line["required"] and "task" in jsonl_line["required"]
