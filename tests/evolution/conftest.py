"""Shared fixtures: an isolated data dir and small, fast evolution configs for the triage example."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from genesis_agents.evolution import EvolutionConfig, SandboxLimits
from genesis_agents.evolution.engine import safety_field
from genesis_agents.evolution.examples import TRIAGE_SUITE
from genesis_agents.infrastructure.config import load_settings

TRIAGE_REF = "genesis_agents.evolution.examples.triage:TriageAgent"


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(data_dir=tmp_path / "data", memory_backend="inprocess",
                         **{safety_field(): "passthrough"})


@pytest.fixture
def fast_config():
    def make(**kw):
        base = {"generations": 2, "population": 4, "seed": 3, "stages": "minimal", "safety": "passthrough",
                "workers": 2, "limits": SandboxLimits(cpu_s=20, wall_s=60, memory_mb=3072)}
        base.update(kw)
        return EvolutionConfig(**base)

    return make


@pytest.fixture
def triage_suite() -> Path:
    return TRIAGE_SUITE


@pytest.fixture
def train_only_suite(tmp_path: Path) -> Path:
    data = yaml.safe_load(TRIAGE_SUITE.read_text())
    data["suite"] = "triage-train-only"
    data["scenarios"] = [s for s in data["scenarios"] if s.get("split", "train") == "train"]
    path = tmp_path / "train_only.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
