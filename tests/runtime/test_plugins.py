"""Plugin registry: entry points, the decorator, Genesis.register; broken plugins are skipped by name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from genesis_agents.infrastructure.registry import AgentRegistry, _decorated, validate_card

from genesis_agents import Agent, AgentCard, Genesis, InvalidCardError, Skill, register_agent


def _install_dist(site: Path) -> None:
    """A real installed distribution (dist-info + module) declaring two entry points, one broken."""
    (site / "plug_good.py").write_text(textwrap.dedent('''
        from genesis_agents import Agent, AgentCard, AgentResult, Skill

        class GoodAgent(Agent):
            card = AgentCard(name="good", description="a well-behaved plugin",
                             skills=[Skill(id="greet", description="say hello")])

            async def run(self, task, ctx):
                return AgentResult(text="hello from a plugin")
    '''))
    dist = site / "plug_good-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plug-good\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[genesis_agents.agents]\ngood = plug_good:GoodAgent\nbroken = plug_missing_module:Nope\n")


def test_entry_point_plugins_load_and_broken_ones_are_reported(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _install_dist(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    g = Genesis(data_dir=tmp_path / "d", memory_backend="inprocess", safety_reviewer="passthrough")
    assert "good" in g.registry
    problems = {p.name: p for p in g.registry.problems}
    assert "broken" in problems and "plug_missing_module" in problems["broken"].error
    result = g.run("greet me", agent="good")
    assert result.text == "hello from a plugin"
    g.close()


def test_decorator_registers_for_new_hosts_and_a_crashing_constructor_is_skipped(tmp_path: Path) -> None:
    @register_agent
    class Crashy(Agent):
        card = AgentCard(name="crashy", description="fails to start",
                         skills=[Skill(id="x", description="nothing")])

        def __init__(self) -> None:
            raise RuntimeError("no licence key")

        async def run(self, task, ctx):  # type: ignore[no-untyped-def]
            raise AssertionError

    try:
        reg = AgentRegistry()
        reg.load_plugins()
        assert "crashy" not in reg
        assert any(p.name == "crashy" and "no licence key" in p.error for p in reg.problems)
    finally:
        _decorated.pop("crashy", None)


def test_invalid_cards_are_rejected_with_the_field() -> None:
    with pytest.raises(InvalidCardError) as no_skills:
        validate_card({"name": "x", "description": "d", "skills": []}, source="X")
    assert no_skills.value.field == "card.skills"
    with pytest.raises(InvalidCardError) as bad_name:
        validate_card({"name": "Bad Name", "description": "d", "skills": [{"id": "a", "description": "b"}]},
                      source="X")
    assert bad_name.value.field == "card.name"
    with pytest.raises(InvalidCardError):
        validate_card(None, source="NoCard")


def test_builtin_agents_are_plugins(tmp_path: Path) -> None:
    reg = AgentRegistry()
    reg.load_plugins()
    assert {"deepanalyze", "videogen", "se_darwin"} <= set(reg.names()), reg.problems
