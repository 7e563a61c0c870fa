"""Fitness, parent side: evaluate many variants in parallel, each in its own sandboxed subprocess.

Locally the sandboxes are the pool: at most ``workers`` child processes run at once (one per core is the
sensible default). With ``executor="ray"`` each sandbox is launched from a Ray task instead, so
evaluations spread over a Ray cluster; Ray is used only when configured *and* installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..infrastructure.errors import BackendUnavailableError
from .fitness import ENTRY
from .genome import Variant, VariantScores
from .sandbox import ForkServer, SandboxLimits, SandboxOutcome, run_sandboxed

Executor = Literal["local", "ray"]
Launcher = Literal["forkserver", "spawn"]


@dataclass
class Evaluation:
    """One variant's evaluation: scores, or the reason it failed as a whole (crash, limit, violation)."""

    variant_id: str
    scores: VariantScores | None
    reason: str | None
    outcome: SandboxOutcome

    @property
    def ok(self) -> bool:
        return self.scores is not None and self.reason is None


class Evaluator:
    """Runs the suite for variants of one agent. Stateless apart from its configuration."""

    def __init__(
        self,
        agent_ref: str,
        suite: str | Path,
        *,
        safety_suites: Sequence[str | Path] = (),
        limits: SandboxLimits | None = None,
        workers: int = 2,
        executor: Executor = "local",
        concurrency: int = 4,
        scenario_timeout_s: float = 60.0,
        settings_overrides: dict[str, Any] | None = None,
        load_plugins: bool = False,
        stages: Literal["default", "minimal"] = "default",
        seed: int = 0,
        launcher: Launcher = "forkserver",
    ) -> None:
        self.agent_ref = agent_ref
        from ..infrastructure.eval.loader import resolve_suite_path

        # files or built-in suite names; absolute paths, because the child runs in another directory
        self.suites = [str(resolve_suite_path(s)) for s in (suite, *safety_suites)]
        self.limits = limits or SandboxLimits()
        self.workers = max(1, workers)
        self.executor = executor
        self.concurrency = concurrency
        self.scenario_timeout_s = scenario_timeout_s
        self.settings_overrides = dict(settings_overrides or {})
        self.load_plugins = load_plugins
        self.stages = stages
        self.seed = seed
        self.launcher = launcher
        self._server: ForkServer | None = None
        self._ray_fn: Any = None
        if executor == "ray":
            self._ray_fn = _ray_remote()

    def payload(self, params: dict[str, Any], split: str) -> dict[str, Any]:
        return {"agent_ref": self.agent_ref, "params": params, "suites": self.suites, "n_main": 1,
                "split": split, "settings": self.settings_overrides, "load_plugins": self.load_plugins,
                "stages": self.stages,
                "concurrency": self.concurrency, "timeout_s": self.scenario_timeout_s, "seed": self.seed}

    async def _one(self, params: dict[str, Any], split: str) -> SandboxOutcome:
        payload = self.payload(params, split)
        if self._ray_fn is not None:
            ref = self._ray_fn.remote(ENTRY, payload, self.limits.model_dump())
            data = await asyncio.wrap_future(ref.future())
            return SandboxOutcome.model_validate(data)
        if self.launcher == "forkserver":
            if self._server is None:
                self._server = ForkServer()
            return await run_sandboxed(ENTRY, payload, self.limits, server=self._server,
                                       preload=[self.agent_ref.partition(":")[0]])
        return await run_sandboxed(ENTRY, payload, self.limits)

    async def aclose(self) -> None:
        """Stop the fork server (if one was started)."""
        server, self._server = self._server, None
        if server is not None:
            await server.aclose()

    async def evaluate(self, variants: Sequence[Variant], split: str = "train",
                       on_done: Callable[[Variant, Evaluation], None] | None = None) -> list[Evaluation]:
        """Evaluate all ``variants`` (at most ``workers`` at a time); results in input order."""
        sem = asyncio.Semaphore(self.workers)

        async def run(v: Variant) -> Evaluation:
            async with sem:
                outcome = await self._one(v.genome.params, split)
            ev = interpret(v.id, outcome, split)
            if on_done is not None:
                on_done(v, ev)
            return ev

        return list(await asyncio.gather(*(run(v) for v in variants)))


def interpret(variant_id: str, outcome: SandboxOutcome, split: str) -> Evaluation:
    """Turn a sandbox outcome into scores or a failure reason."""
    if not outcome.ok or not outcome.result:
        reason = outcome.reason or "evaluation produced no result"
        return Evaluation(variant_id, None, reason, outcome)
    if outcome.result.get("memory_error"):
        return Evaluation(variant_id, None, "memory limit exceeded (MemoryError during the suite)", outcome)
    scores = VariantScores.model_validate(outcome.result["scores"])
    scores.split = split
    return Evaluation(variant_id, scores, None, outcome)


def _ray_remote() -> Any:
    try:
        import ray
    except ImportError:
        raise BackendUnavailableError("ray", "executor 'ray' is configured but the ray package is not installed",
                                      hint="pip install ray, or use executor='local'") from None
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True)

    @ray.remote(num_cpus=1)
    def sandboxed(entry: str, payload: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        from genesis_agents.evolution.sandbox import SandboxLimits, run_sandboxed

        outcome = asyncio.run(run_sandboxed(entry, payload, SandboxLimits(**limits)))
        return outcome.model_dump()

    return sandboxed
