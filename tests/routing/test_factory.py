"""Building the routing stages from GenesisSettings."""

from __future__ import annotations

from pathlib import Path

import pytest
from genesis_agents.infrastructure.config import load_settings
from genesis_agents.infrastructure.errors import ConfigError
from genesis_agents.infrastructure.routing import (
    DEFAULT_RULES_PATH,
    RulesSource,
    build_planner,
    build_router,
    build_validator,
)


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, max_subtasks=5)
    router = build_router(s)
    assert isinstance(router.rules, RulesSource) and router.rules.path == DEFAULT_RULES_PATH
    assert router.fallback_agent is None
    assert build_planner(s).limits.max_subtasks == 5 and build_validator(s).limits.max_subtasks == 5


def test_rules_and_fallback_from_settings(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: a\n    agent: legal\n    when: {keywords: [contract]}\n")
    router = build_router(load_settings(data_dir=tmp_path, router_rules=rules, fallback_agent="support"))
    assert router.rules.path == rules and router.fallback_agent == "support"
    rules.write_text("rules:\n  - id: a\n    agent: legal\n    when: {regex: '('}\n")
    with pytest.raises(ConfigError, match="rules.yaml:4"):
        build_router(load_settings(data_dir=tmp_path, router_rules=rules))
