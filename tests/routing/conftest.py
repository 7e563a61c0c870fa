"""Fixtures for the routing tests: the benchmark's agent cards (real cards, real embeddings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from genesis_agents.infrastructure.contracts import AgentCard, Skill
from genesis_agents.infrastructure.routing import load_cards

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cards() -> list[AgentCard]:
    return load_cards(ROOT / "benchmarks" / "routing" / "cards.yaml")


@pytest.fixture(scope="session")
def alt_cards() -> list[AgentCard]:
    return load_cards(ROOT / "benchmarks" / "routing" / "cards_alt.yaml")


@pytest.fixture(scope="session")
def by_name(cards: list[AgentCard]) -> dict[str, AgentCard]:
    return {c.name: c for c in cards}


def twin_cards() -> list[AgentCard]:
    """Two cards with the same skills and different cost tiers (for cost-aware choice and ties)."""
    skill = Skill(id="translate", description="Translate business documents between English and German.",
                  examples=["Translate this contract into German", "Translate the German email to English"])
    return [
        AgentCard(name="translator-premium", description="Translation of business documents.", skills=[skill],
                  cost_tier="high"),
        AgentCard(name="translator-basic", description="Translation of business documents.", skills=[skill],
                  cost_tier="low"),
    ]
