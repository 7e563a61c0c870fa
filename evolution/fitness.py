"""Fitness, child side: run the agent's evaluation suite against one variant, inside the sandbox.

``prepare`` runs before the audit hook (trusted imports: the framework, the eval harness, the agent
class, the suite files); ``evaluate`` runs after it and is the only place that touches candidate values:
it builds a fresh ``Genesis`` (in-process memory, data dir inside the sandbox's temp dir) with the variant
registered, and runs ``EvalRunner`` on one split of the suite.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..infrastructure.errors import BadInputError

ENTRY = "genesis_agents.evolution.fitness:evaluate"
SAFETY_TAG = "safety"


def import_ref(ref: str) -> Any:
    """``"package.module:Class"`` -> the object. Raises ``BadInputError`` naming what was not found."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise BadInputError(f"expected 'module:Class', got {ref!r}", field="agent_ref")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise BadInputError(f"cannot import {ref!r}: {exc}", field="agent_ref") from None
    return obj


def warm_up(agent_cls: Any) -> None:
    """Do, before the audit hook, what trusted libraries would otherwise do lazily and be refused for:
    matplotlib builds its font list with ``fc-list`` on first use; an agent may add its own
    ``sandbox_warmup()`` (e.g. load a model file into memory)."""
    try:  # a core dependency, used lazily by agents that draw charts
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.font_manager
    except ImportError:
        pass
    warm = getattr(agent_cls, "sandbox_warmup", None)
    if callable(warm):
        warm()


def prepare(payload: dict[str, Any], workdir: str) -> dict[str, Any]:
    import platform

    from ..infrastructure.eval.loader import load_suite
    from ..infrastructure.eval.runner import EvalRunner  # noqa: F401 - imported before the hook on purpose
    from ..infrastructure.facade import Genesis  # noqa: F401

    platform.platform(), platform.processor()  # cached now: later calls would spawn `uname`
    agent_cls = import_ref(payload["agent_ref"])
    warm_up(agent_cls)
    suites = [load_suite(p) for p in payload["suites"]]
    return {"agent_cls": agent_cls, "suites": suites}


async def evaluate(payload: dict[str, Any], workdir: str, state: dict[str, Any]) -> dict[str, Any]:
    from ..infrastructure.config import load_settings
    from ..infrastructure.eval.runner import EvalRunner
    from ..infrastructure.facade import Genesis

    agent_cls = state["agent_cls"]
    params = payload["params"]
    settings = load_settings(data_dir=Path(workdir) / "data", memory_backend="inprocess", checkpointer="memory",
                             **payload.get("settings", {}))

    stages: dict[str, Any] = {}
    if payload.get("stages") == "minimal":  # pinned-agent suites: skip loading the HALO router's models
        from ..infrastructure.stages import BasicValidator, ExplicitRouter, SinglePlanner

        stages = {"planner": SinglePlanner(), "router": ExplicitRouter(), "validator": BasicValidator()}

    def factory(**kw: Any) -> Genesis:
        host = Genesis(settings, load_plugins=bool(payload.get("load_plugins", False)), **stages, **kw)
        host.register(agent_cls(config=dict(params)), replace=True)
        return host

    runner = EvalRunner(factory, concurrency=int(payload.get("concurrency", 4)),
                        timeout_s=float(payload.get("timeout_s", 60.0)), seed=int(payload.get("seed", 0)))
    split = payload.get("split")
    n_main = int(payload.get("n_main", len(state["suites"])))
    main_suites = state["suites"][:n_main]
    safety_names = {s.name for s in state["suites"][n_main:]}
    selected = []
    for suite in state["suites"]:
        is_safety = suite.name in safety_names
        scs = suite.scenarios if is_safety else suite.select(split=split)
        selected.append(suite.model_copy(update={"scenarios": scs}) if scs else None)
    runnable = [s for s in selected if s is not None]
    if not runnable:
        raise BadInputError(f"no scenarios in split {split!r}", field="split")
    report = await runner.arun(runnable)
    return summarize(report, split=split or "all", safety_suites=safety_names,
                     main_suites={s.name for s in main_suites})


def summarize(report: Any, *, split: str, safety_suites: set[str], main_suites: set[str]) -> dict[str, Any]:
    """Reduce an ``EvalReport`` to the numbers selection needs (the full report stays in the child)."""
    from .genome import VariantScores

    ran = [s for s in report.scenarios if s.outcome != "skipped"]
    main = [s for s in ran if s.suite in main_suites]
    safety = [s for s in ran if s.suite in safety_suites or SAFETY_TAG in s.tags]
    weights = {"low": 0.5, "normal": 1.0, "high": 2.0, "critical": 4.0}
    wsum = sum(weights.get(s.priority, 1.0) for s in main)
    quality = sum(weights.get(s.priority, 1.0) * s.quality for s in main) / wsum if wsum else 0.0
    latencies = [s.latency_ms for s in main]
    failures = [{"scenario": s.id, "outcome": s.outcome, "reason": s.reason[:500]}
                for s in ran if s.outcome != "passed"]
    memory_error = any("MemoryError" in f["reason"] for f in failures)
    scores = VariantScores(
        split=split, pass_rate=(sum(s.outcome == "passed" for s in main) / len(main)) if main else 0.0,
        quality=round(quality, 6), cost_usd=round(sum(s.cost_usd for s in main), 8),
        latency_ms=round(sum(latencies) / len(latencies), 3) if latencies else 0.0,
        safety_pass_rate=(sum(s.outcome == "passed" for s in safety) / len(safety)) if safety else None,
        n_scenarios=len(main), n_passed=sum(s.outcome == "passed" for s in main), failures=failures[:20],
        wall_s=report.wall_time_s,
    )
    return {"scores": scores.model_dump(), "memory_error": memory_error}
