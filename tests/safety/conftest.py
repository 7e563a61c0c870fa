"""Shared fixtures: one real feedback agent (real MiniLM embedder, shipped model bundle) per test session."""

from __future__ import annotations

import pytest
from genesis_agents.safety import FeedbackAgent


@pytest.fixture(scope="session")
def feedback_agent() -> FeedbackAgent:
    agent = FeedbackAgent(judge="uncertain")
    agent.warm_up()
    return agent
