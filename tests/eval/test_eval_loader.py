"""Suite loading: defaults, shorthands, input paths, and errors that name file, line and field."""

from __future__ import annotations

import json

import pytest
from genesis_agents.infrastructure.errors import BadInputError
from genesis_agents.infrastructure.eval import ScenarioError, check_agents, load_suite, load_suites

from genesis_agents import UnknownAgentError


def test_yaml_suite_with_defaults_shorthands_and_inputs(write_suite, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("a,b\n1,2\n")
    path = write_suite("""
        suite: demo
        defaults: {tags: [base], timeout_s: 9, repeat: 2}
        scenarios:
          - id: one
            task: "add 1 and 2"
            tags: [smoke]
            expect:
              output: {path: data.sum, approx: 3}
              safety: passed
              routing: {subtasks: 1}
          - id: two
            repeat: 1
            split: holdout
            task:
              text: analyse
              inputs: [{path: data/t.csv}]
            llm: ["hello"]
    """)
    suite = load_suite(path)
    assert suite.name == "demo"
    one, two = suite.scenarios
    assert one.tags == ["base", "smoke"] and one.timeout_s == 9 and one.repeat == 2
    assert one.task.text == "add 1 and 2" and one.task.namespace == "eval"
    assert one.expect.output[0].approx == 3 and one.expect.safety.actions == ["passed"]
    assert one.expect.routing.subtasks.min == one.expect.routing.subtasks.max == 1
    assert two.repeat == 1 and two.split == "holdout" and two.llm.replies == ["hello"]
    assert two.task.inputs[0].path == (tmp_path / "data" / "t.csv").resolve()
    assert str(one.source) == f"{path}:4" and str(two.source) == f"{path}:11"
    assert [s.id for s in suite.select(split="holdout")] == ["two"]
    assert [s.id for s in suite.select(tags=["smoke"])] == ["one"]


def _err(path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_suite(path)
    return info.value


def test_unknown_field_names_line_and_field(write_suite):
    path = write_suite("""
        scenarios:
          - id: ok
            task: hi
          - id: typo
            task: hi
            expect:
              output:
                - path: text
                  contians: hi
    """)
    err = _err(path)
    assert err.line == 9 and err.field == "scenarios[1].expect.output[0].contians"
    assert str(err).startswith(f"{path}:9: scenarios[1].expect.output[0].contians: unknown field")


def test_bad_regex_and_missing_operator(write_suite):
    err = _err(write_suite("""
        scenarios:
          - id: a
            task: hi
            expect:
              output: [{path: text, regex: "(unclosed"}]
    """))
    assert err.line == 5 and "regex does not compile" in err.message
    err = _err(write_suite("""
        scenarios:
          - id: a
            task: hi
            expect: {output: [{path: text}]}
    """, "b.yaml"))
    assert "needs one of" in err.message and err.field == "scenarios[0].expect.output[0]"


def test_duplicate_ids_and_missing_inputs(write_suite):
    err = _err(write_suite("""
        scenarios:
          - id: same
            task: hi
          - id: same
            task: ho
    """))
    assert err.line == 4 and "duplicate scenario id 'same' (first defined at line 2)" in err.message
    err = _err(write_suite("""
        scenarios:
          - id: a
            task:
              text: hi
              inputs:
                - {path: nope.csv}
    """, "c.yaml"))
    assert err.line == 6 and err.field == "scenarios[0].task.inputs[0].path" and "not found" in err.message


def test_yaml_syntax_error_and_empty_task(write_suite):
    err = _err(write_suite("scenarios:\n  - id: a\n    task: [unclosed\n"))
    assert err.line >= 3 and "invalid YAML" in err.message
    err = _err(write_suite("scenarios:\n  - id: a\n    task: '   '\n", "d.yaml"))
    assert err.line == 3 and "empty" in err.message


def test_jsonl_lines(write_suite):
    good = json.dumps({"id": "a", "task": "add 1 2", "expect": {"output": {"path": "data.sum", "equals": 3}}})
    path = write_suite(good + "\n\n" + json.dumps({"id": "b", "task": {"text": "x", "agentt": "calc"}}) + "\n",
                       "s.jsonl")
    err = _err(path)
    assert err.line == 3 and err.field == "scenarios[1].task.agentt"
    path = write_suite(good + "\n{not json\n", "t.jsonl")
    err = _err(path)
    assert err.line == 2 and "invalid JSON" in err.message
    suite = load_suite(write_suite(good + "\n", "u.jsonl"))
    assert suite.name == "u" and suite.scenarios[0].expect.output[0].equals == 3


def test_unknown_agent_points_at_the_scenario(write_suite):
    path = write_suite("""
        scenarios:
          - id: a
            task: {text: hi, agent: calc}
          - id: b
            task: {text: hi, agent: calcc}
    """)
    suite = load_suite(path)
    check_agents(suite.model_copy(update={"scenarios": suite.scenarios[:1]}), ["calc"])
    with pytest.raises(UnknownAgentError) as info:
        load_suite(path, known_agents=["calc", "clip"])
    assert info.value.field == f"{path}:5: scenario 'b' task.agent" and "did you mean calc" in str(info.value)


def test_suite_level_errors(write_suite, tmp_path):
    with pytest.raises(ScenarioError, match="non-empty list"):
        load_suite(write_suite("suite: x\nscenarios: []\n"))
    with pytest.raises(BadInputError, match="suite file not found"):
        load_suite(tmp_path / "missing.yaml")
    a = write_suite("suite: same\nscenarios: [{id: a, task: hi}]\n", "a.yaml")
    b = write_suite("suite: same\nscenarios: [{id: b, task: hi}]\n", "b.yaml")
    with pytest.raises(ScenarioError, match="also used by"):
        load_suites([a, b])
