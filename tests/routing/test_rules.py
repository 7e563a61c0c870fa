"""Rules files: parsing, line-numbered errors, unknown agents, matching, hot reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from genesis_agents.infrastructure.contracts import Subtask, Task, TaskInput
from genesis_agents.infrastructure.errors import ConfigError, UnknownAgentError
from genesis_agents.infrastructure.routing import DEFAULT_RULES_PATH, RuleSet, RulesSource

GOOD = """\
version: 1
rules:
  - id: low
    agent: support
    priority: 1
    when:
      keywords: [refund]
  - id: high
    agent: legal
    priority: 10
    explanation: legal namespace is always legal
    when:
      namespace: [legal-team]
"""


def sub(text: str, **kw) -> Subtask:
    return Subtask(id="s1", text=text, **kw)


def test_rules_sorted_by_priority_then_file_order() -> None:
    rs = RuleSet.from_yaml(GOOD)
    assert [r.id for r in rs.rules] == ["high", "low"]
    assert rs.rules[0].line == 8


def test_yaml_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError) as exc:
        RuleSet.from_yaml("rules:\n  - id: a\n    agent: [x\n", source="r.yaml")
    assert exc.value.field.startswith("r.yaml:")
    assert "invalid YAML" in exc.value.message


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("rules:\n  - id: a\n    agent: x\n    when:\n      regex: '('\n", 5, "regular expression"),
        ("rules:\n  - id: a\n    agent: x\n    colour: red\n    when: {keywords: [a]}\n", 4, "colour"),
        ("rules:\n  - id: a\n    agent: Bad Name\n    when: {keywords: [a]}\n", 3, "agent"),
        ("rules:\n  - id: a\n    agent: x\n    when: {}\n", 2, "at least one predicate"),
        (("rules:\n  - id: a\n    agent: x\n    when: {keywords: [a]}\n  - id: a\n    agent: y\n"
          "    when: {keywords: [b]}\n"), 5, "duplicate rule id"),
    ],
)
def test_invalid_rules_have_line_numbers(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        RuleSet.from_yaml(text, source="rules.yaml")
    assert exc.value.field.startswith(f"rules.yaml:{line}")
    assert fragment in str(exc.value)


def test_top_level_must_be_mapping_and_rules_a_list() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        RuleSet.from_yaml("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a list"):
        RuleSet.from_yaml("rules: 3\n")
    with pytest.raises(ConfigError) as exc:
        RuleSet.from_yaml("version: 2\nrules: []\n")
    assert exc.value.field.endswith("version")


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        RuleSet.from_file(tmp_path / "nope.yaml")


def test_unknown_agent_names_rule_and_line() -> None:
    rs = RuleSet.from_yaml(GOOD, source="r.yaml")
    with pytest.raises(UnknownAgentError) as exc:
        rs.applicable(["support", "legl"])
    assert "r.yaml:8" in exc.value.field and "legal" in str(exc.value)
    skipping = RuleSet.from_yaml("on_unknown_agent: skip\n" + GOOD)
    assert [r.id for r in skipping.applicable(["support"])] == ["low"]


def test_predicates() -> None:
    rs = RuleSet.from_yaml("""
rules:
  - id: all
    agent: deepanalyze
    when:
      task_type: [analytics]
      keywords: [forecast, churn rate]
      all_keywords: [region]
      regex: '\\bq[1-4]\\b'
      metadata: {channel: [web, api]}
      namespace: [acme]
      input_types: [.csv]
""")
    rule = rs.rules[0]
    task = Task(text="x", namespace="acme", metadata={"channel": "web"})
    good = sub("Forecasting revenue per region for Q3", task_type="analytics",
               inputs=[TaskInput(path=Path("sales.csv"))])
    why = rule.match(good, task)
    assert why is not None and "forecast" in why and "regex matched 'Q3'" in why and "sales.csv" in why
    # each predicate can veto
    assert rule.match(good.model_copy(update={"task_type": "video"}), task) is None
    assert rule.match(good, task.model_copy(update={"namespace": "other"})) is None
    assert rule.match(good, task.model_copy(update={"metadata": {"channel": "email"}})) is None
    assert rule.match(good.model_copy(update={"inputs": [TaskInput(path=Path("a.pdf"))]}), task) is None
    assert rule.match(good.model_copy(update={"text": "Forecasting revenue for Q3"}), task) is None
    assert rule.match(good.model_copy(update={"text": "What is the churn rate per region in Q2"}), task)
    assert rule.match(good.model_copy(update={"text": "Forecast revenue per region"}), task) is None


def test_default_rules_file_is_valid_and_skips_missing_agents() -> None:
    rs = RuleSet.from_file(DEFAULT_RULES_PATH)
    assert rs.on_unknown_agent == "skip"
    assert {r.agent for r in rs.rules} == {"videogen", "deepanalyze", "se_darwin"}
    assert rs.applicable(["support"]) == []
    hit = rs.first_match(sub("Make a short explainer video about pricing"), Task(text="x"), ["videogen"])
    assert hit is not None and hit[0].id == "video-deliverable"
    assert rs.first_match(sub("Organise a video call with the managers"), Task(text="x"), ["videogen"]) is None


def test_hot_reload_and_broken_edit_keeps_previous(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    source = RulesSource(path, check_interval_s=0)
    assert len(source.current().rules) == 2
    path.write_text(GOOD + "  - id: third\n    agent: hr\n    when: {keywords: [vacation]}\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert [r.id for r in source.current().rules] == ["high", "low", "third"]
    assert source.reloads == 1
    path.write_text("rules:\n  - id: [broken\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000))
    assert [r.id for r in source.current().rules] == ["high", "low", "third"]
    assert source.last_error is not None and "rules.yaml:" in source.last_error.field


def test_first_load_of_broken_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: a\n    agent: x\n    when: {regex: '['}\n")
    with pytest.raises(ConfigError, match="r.yaml:4"):
        RulesSource(path)
