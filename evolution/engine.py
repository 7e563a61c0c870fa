"""The SE-Darwin loop: seed, breed, evaluate in the sandbox, archive, select, repeat; then gate promotion.

Every step is persisted in the archive before the next one starts, so a run killed at any point resumes
(``run(resume=RUN_ID)``) without re-evaluating finished variants, and the random choices of a generation
depend only on (seed, generation), so a resumed run breeds what the uninterrupted run would have.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..infrastructure.contracts import Agent
from ..infrastructure.errors import AgentFailedError, BadInputError, GenesisError
from .archive import Archive
from .evaluator import Evaluation, Evaluator, Executor
from .fitness import import_ref
from .genome import Genome, Variant, parse_tunables
from .operators import Operator, OperatorContext, build_operators, random_genome
from .promotion import PromotionReport, promote
from .sandbox import SandboxLimits
from .selection import ConvergenceRules, Objectives, Ranking, pareto_front
from .versions import load_promoted_config

log = logging.getLogger(__name__)

DEFAULT_OPERATORS = ["param_mutation", "crossover", "prompt_recombination"]
LLM_OPERATORS = ["llm_revision", "llm_recombination", "llm_refinement"]
ProgressFn = Callable[[dict[str, Any]], None]
EXAMPLE_AGENTS = {"triage": "genesis_agents.evolution.examples.triage:TriageAgent"}
"""Shipped example agents, resolvable by name for demos even though no host registers them."""


class EvolutionConfig(BaseModel):
    """Everything one evolution run is configured with (stored with the run, so resume uses the same)."""

    model_config = ConfigDict(extra="forbid")

    generations: int = Field(default=8, ge=1, le=1000)
    population: int = Field(default=6, ge=1, le=256, description="new variants bred per generation")
    initial_random: int | None = Field(default=None, ge=0, le=256,
                                       description="random samples beside the seed in generation 0 "
                                                   "(default: population - 1)")
    seed: int = 0
    patience: int = Field(default=3, ge=1)
    min_delta: float = Field(default=0.005, ge=0)
    max_evaluations: int | None = Field(default=None, ge=1, description="budget: candidate evaluations (train)")
    max_wall_s: float | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    target_quality: float | None = Field(default=None, ge=0, le=1)
    search: Literal["evolution", "random"] = Field(default="evolution", description="'random' = baseline search")
    operators: list[str] | None = Field(default=None, description="operator names; default: all usable ones")
    operator_weights: dict[str, float] = Field(default_factory=dict)
    workers: int = Field(default=2, ge=1, le=256, description="sandboxes evaluated at once")
    executor: Executor = "local"
    launcher: Literal["forkserver", "spawn"] = Field(
        default="forkserver", description="fork sandboxes from a pre-imported zygote, or spawn fresh interpreters")
    limits: SandboxLimits = Field(default_factory=SandboxLimits)
    eval_concurrency: int = Field(default=4, ge=1, le=256, description="scenarios at once inside one sandbox")
    scenario_timeout_s: float = Field(default=60.0, gt=0)
    safety: Literal["waltzrl", "passthrough"] | None = Field(default=None, description="None: from settings")
    stages: Literal["default", "minimal"] = Field(default="default",
                                                  description="'minimal': single planner/explicit router")
    load_plugins: bool = False
    safety_suites: list[str] = Field(default_factory=list, description="suites that must not regress")
    promote: bool = True
    promotion_margin: float = Field(default=0.02, ge=0, le=1)
    promotion_candidates: int = Field(default=3, ge=1, le=20)
    objectives: Objectives = Field(default_factory=Objectives)

    def rules(self) -> ConvergenceRules:
        return ConvergenceRules(max_generations=self.generations + 1, patience=self.patience,
                                min_delta=self.min_delta, max_evaluations=self.max_evaluations,
                                max_wall_s=self.max_wall_s, max_cost_usd=self.max_cost_usd,
                                target_quality=self.target_quality)


class EvolutionResult(BaseModel):
    """The outcome of a run: per-generation statistics, the best variant, the Pareto front, promotion."""

    run_id: str
    agent: str
    suite: str
    stop_reason: str
    generations: list[dict[str, Any]]
    best: Variant | None
    front: list[Variant]
    promotion: PromotionReport | None
    evaluations: int
    failed: int
    wall_s: float
    llm_calls: int = 0


def safety_field() -> str:
    """The settings field naming the safety reviewer (``safety_reviewer``; ``safety`` in older settings)."""
    from ..infrastructure.config import GenesisSettings

    return "safety_reviewer" if "safety_reviewer" in GenesisSettings.model_fields else "safety"


def resolve_agent(agent: str | type[Agent]) -> tuple[type[Agent], str]:
    """An agent class from a class, ``module:Class`` or a registered agent name; with its import ref.

    The ref is what the sandboxed child imports, so the class must live in an importable module.
    """
    if isinstance(agent, type):
        if not issubclass(agent, Agent):
            raise BadInputError(f"{agent.__qualname__} is not an Agent subclass", field="agent")
        if "<locals>" in agent.__qualname__ or agent.__module__ == "__main__":
            raise BadInputError(f"{agent.__qualname__} is not importable by module path", field="agent",
                                hint="define the agent class at the top level of an installed module")
        return agent, f"{agent.__module__}:{agent.__qualname__}"
    if ":" in agent:
        cls = import_ref(agent)
        return resolve_agent(cls)
    from ..infrastructure import registry

    refs = dict(EXAMPLE_AGENTS)
    refs.update(registry.BUILTIN_AGENTS)
    refs.update({ep.name: ep.value for ep in registry._entry_points()})
    refs.update({n: f"{c.__module__}:{c.__qualname__}" for n, c in registry._decorated.items()})
    if agent not in refs:
        from ..infrastructure.errors import UnknownAgentError

        raise UnknownAgentError(agent, list(refs))
    return resolve_agent(import_ref(refs[agent]))


class EvolutionEngine:
    """Evolves one agent against one suite. ``await run()``; ``run(resume=RUN_ID)`` after a crash."""

    def __init__(
        self,
        agent: str | type[Agent],
        suite: str | Path,
        *,
        settings: Any = None,
        config: EvolutionConfig | None = None,
        llm: Any = None,
        archive: Archive | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        from ..infrastructure.config import load_settings
        from ..infrastructure.eval.loader import load_suite

        self.settings = settings or load_settings()
        self.config = config or EvolutionConfig()
        self.agent_cls, self.agent_ref = resolve_agent(agent)
        self.agent_name = self.agent_cls.card.name
        self.specs = parse_tunables(self.agent_cls.tunables, owner=self.agent_cls.__qualname__)
        if not self.specs:
            raise BadInputError(f"agent {self.agent_name!r} declares no tunables to evolve", field="agent",
                                hint="set the class attribute `tunables`")
        self.suite = load_suite(suite)
        self.suite_path = str(self.suite.path)
        self.check_suite()
        self.llm = llm
        self.archive = archive or Archive.for_settings(self.settings)
        self.progress = progress
        self.llm_calls = 0
        self._started = time.monotonic()
        self._prior_wall = 0.0

    def check_suite(self) -> None:
        """Refuse suites without a held-out part (promotion could not be judged) or without train cases."""
        holdout = self.suite.select(split="holdout")
        train = self.suite.select(split="train")
        if not holdout:
            raise BadInputError(f"suite {self.suite.name!r} has no held-out scenarios", field="suite",
                                hint="mark some scenarios `split: holdout`; promotion is judged on them only")
        if not train:
            raise BadInputError(f"suite {self.suite.name!r} has no train scenarios", field="suite",
                                hint="scenarios default to `split: train`")

    # ------------------------------------------------------------------------------------------ setup

    def _evaluator(self) -> Evaluator:
        c = self.config
        field = safety_field()
        overrides: dict[str, Any] = {field: c.safety or getattr(self.settings, field)}
        return Evaluator(self.agent_ref, self.suite_path, safety_suites=c.safety_suites, limits=c.limits,
                         workers=c.workers, executor=c.executor, concurrency=c.eval_concurrency,
                         scenario_timeout_s=c.scenario_timeout_s, settings_overrides=overrides,
                         load_plugins=c.load_plugins, stages=c.stages, seed=c.seed,
                         launcher=c.launcher)

    def _operators(self) -> list[Operator]:
        c = self.config
        if c.search == "random":
            return build_operators(["random_sample"])
        names = c.operators
        if names is None:
            names = DEFAULT_OPERATORS + (LLM_OPERATORS if self.llm is not None else [])
        ops = [op for op in build_operators(names, llm=self.llm) if op.applicable(self.specs, self.llm)]
        if not ops:
            raise BadInputError("no configured operator can change this agent's tunables", field="operators")
        return ops

    def seed_genome(self) -> Genome:
        """The current version: the active promoted config over the class defaults."""
        params = {n: s.default for n, s in self.specs.items()}
        promoted = load_promoted_config(self.agent_name, self.settings) or {}
        params.update({k: v for k, v in promoted.items() if k in self.specs})
        try:
            return Genome(params=params).validated(self.specs)
        except GenesisError as exc:
            log.warning("promoted config of %s does not fit its tunables (%s); using defaults", self.agent_name, exc)
            return Genome(params={n: s.default for n, s in self.specs.items()}).validated(self.specs)

    def _emit(self, **event: Any) -> None:
        if self.progress is not None:
            try:
                self.progress(event)
            except (KeyboardInterrupt, SystemExit, GenesisError):
                raise  # e.g. CancelledError from the caller: stop here, the archive keeps the state
            except Exception:
                log.exception("progress callback failed")

    # ------------------------------------------------------------------------------------------ run

    async def run(self, *, resume: str | None = None) -> EvolutionResult:
        """Run (or resume) evolution, then the promotion gate. Returns the full result."""
        self._started = time.monotonic()
        if resume:
            run = self.archive.run(resume)
            if run["agent"] != self.agent_name:
                raise BadInputError(f"run {resume} evolved {run['agent']!r}, not {self.agent_name!r}", field="resume")
            self.config = EvolutionConfig.model_validate(run["config"])
            run_id = resume
            self.archive.update_run(run_id, status="running")
            done_stats = self.archive.generations(run_id)
            prior_wall = float(done_stats[-1].get("wall_s", 0.0)) if done_stats else 0.0
        else:
            run_id = self.archive.create_run(agent=self.agent_name, agent_ref=self.agent_ref, suite=self.suite_path,
                                             config=self.config.model_dump(mode="json"))
            prior_wall = 0.0
        self.run_id = run_id
        self._prior_wall = prior_wall
        operators = self._operators()
        evaluator = self._evaluator()
        try:
            return await self._run(run_id, evaluator, operators, resumed=bool(resume))
        finally:
            await evaluator.aclose()

    async def _run(self, run_id: str, evaluator: Evaluator, operators: list[Operator], *,
                   resumed: bool) -> EvolutionResult:
        prior_wall = self._prior_wall
        resume = resumed
        self._emit(type="run_started", run_id=run_id, agent=self.agent_name, resumed=bool(resume),
                   generations=self.config.generations, population=self.config.population)

        variants = self.archive.variants(run_id)
        if not variants:
            gen0 = self._initial_population(run_id)
            self.archive.add_variants(gen0)
        generation = max((v.generation for v in self.archive.variants(run_id)), default=0)
        await self._finish_generation(run_id, generation, evaluator)
        seed = next(v for v in self.archive.variants(run_id, generation=0) if v.operator == "seed")
        if seed.status == "failed" and not (seed.reason or "").startswith("safety regression"):
            # the current version must be measurable, or nothing can be compared with it
            self.archive.update_run(run_id, status="failed", stop_reason=f"current version failed: {seed.reason}")
            raise AgentFailedError(self.agent_name, f"the current version cannot be evaluated on suite "
                                                    f"{self.suite.name!r}: {seed.reason}")

        rules = self.config.rules()
        stop_reason = ""
        while True:
            stats = self.archive.generations(run_id)
            evaluations = sum(1 for v in self.archive.variants(run_id) if v.status != "pending")
            reason = rules.check(best_by_generation=[s["best_quality"] for s in stats], evaluations=evaluations,
                                 wall_s=prior_wall + time.monotonic() - self._started,
                                 cost_usd=sum(s.get("cost_usd", 0.0) for s in stats))
            if reason:
                stop_reason = reason
                break
            generation += 1
            children = await self._breed(run_id, generation, operators)
            if self.config.max_evaluations is not None:
                children = children[: max(0, self.config.max_evaluations - evaluations)]
            if not children:
                stop_reason = "operators produced no new variants (search space exhausted)"
                break
            self.archive.add_variants(children)
            await self._finish_generation(run_id, generation, evaluator)

        self.archive.update_run(run_id, status="evolved", stop_reason=stop_reason)
        everything = self.archive.variants(run_id)
        front = pareto_front(everything, self.config.objectives)
        best = self.archive.best(run_id, 1)
        self._emit(type="evolution_done", run_id=run_id, stop_reason=stop_reason,
                   best_quality=best[0].fitness if best else 0.0)
        promotion = await promote(self, run_id, front, evaluator)
        result = EvolutionResult(
            run_id=run_id, agent=self.agent_name, suite=self.suite_path, stop_reason=stop_reason,
            generations=self.archive.generations(run_id), best=best[0] if best else None, front=front,
            promotion=promotion, evaluations=sum(1 for v in everything if v.status != "pending"),
            failed=sum(1 for v in everything if v.status == "failed"),
            wall_s=round(prior_wall + time.monotonic() - self._started, 3), llm_calls=self.llm_calls,
        )
        self.archive.update_run(run_id, status="done", report=result.model_dump(
            mode="json", include={"stop_reason", "promotion", "evaluations", "failed", "wall_s", "llm_calls"}))
        return result

    def _initial_population(self, run_id: str) -> list[Variant]:
        """Generation 0: the current version plus uniform samples of the space."""
        seed = self.seed_genome()
        rng = random.Random(f"{self.config.seed}:0")
        out = [Variant(run_id=run_id, generation=0, operator="seed", genome=seed)]
        keys = {seed.key()}
        tries = 0
        wanted = 1 + (self.config.population - 1 if self.config.initial_random is None else self.config.initial_random)
        while len(out) < wanted and tries < wanted * 20:
            tries += 1
            g = random_genome(self.specs, rng)
            if g.key() in keys:
                continue
            keys.add(g.key())
            out.append(Variant(run_id=run_id, generation=0, operator="random_sample", genome=g.validated(self.specs)))
        return out

    async def _breed(self, run_id: str, generation: int, operators: list[Operator]) -> list[Variant]:
        rng = random.Random(f"{self.config.seed}:{generation}")
        population = self.archive.variants(run_id)
        evaluated = [v for v in population if v.status == "evaluated"] or population
        ranking = Ranking(evaluated, self.config.objectives, pool=max(4, self.config.population))
        keys = {v.genome.key() for v in population}
        weights = [self.config.operator_weights.get(op.name, 1.0) for op in operators]
        insights = self._insights(run_id)
        out: list[Variant] = []
        attempts = 0
        while len(out) < self.config.population and attempts < self.config.population * 8:
            attempts += 1
            op = rng.choices(operators, weights=weights)[0]
            parents = self._parents(op, run_id, ranking, rng)
            if parents is None:
                continue
            ctx = OperatorContext(specs=self.specs, rng=rng, llm=self.llm, insights=insights,
                                  agent_name=self.agent_name, agent_description=self.agent_cls.card.description)
            try:
                genomes = await op.apply(parents, ctx)
            except Exception as exc:  # noqa: BLE001 - an operator (or its LLM) failing skips one child
                log.warning("operator %s failed: %s", op.name, exc)
                self._emit(type="operator_failed", operator=op.name, error=f"{type(exc).__name__}: {exc}")
                continue
            finally:
                self.llm_calls += ctx.llm_calls
            for genome in genomes:
                if genome.key() in keys:
                    continue
                keys.add(genome.key())
                child = Variant(run_id=run_id, generation=generation, parents=[p.id for p in parents],
                                operator=op.name, genome=genome)
                try:
                    child.genome = genome.validated(self.specs)
                except GenesisError as exc:
                    child.status, child.reason = "failed", f"invalid genome: {exc}"
                out.append(child)
        return out

    def _parents(self, op: Operator, run_id: str, ranking: Ranking, rng: random.Random) -> list[Variant] | None:
        kind = op.parent_kind
        if kind == "selected":
            return [ranking.tournament(rng)]
        if kind == "selected_pair":
            a = ranking.tournament(rng)
            b = ranking.tournament(rng)
            for _ in range(3):
                if b.id != a.id:
                    break
                b = ranking.tournament(rng)
            return [a, b]
        if kind == "failed":
            failed = self.archive.failed(run_id, 5)
            return [rng.choice(failed)] if failed else None
        if kind == "successful_pair":
            pairs = self.archive.diverse_pairs(run_id, self.specs, k=3)
            return list(rng.choice(pairs)) if pairs else None
        if kind == "best":
            best = self.archive.best(run_id, 1)
            return best or None
        return None  # pragma: no cover

    def _insights(self, run_id: str) -> list[str]:
        out = list(self.archive.insights(self.agent_name, 6))
        for v in self.archive.failed(run_id, 3):
            if v.reason:
                out.append(f"variant {v.id} ({v.operator}) failed as a whole: {v.reason[:200]}")
        best = self.archive.best(run_id, 1)
        if best and best[0].scores:
            out.append(f"best so far {best[0].id}: quality {best[0].fitness:.3f}, "
                       f"{best[0].scores.n_passed}/{best[0].scores.n_scenarios} scenarios pass")
        return out

    async def _finish_generation(self, run_id: str, generation: int, evaluator: Evaluator) -> None:
        """Evaluate whatever is pending (all generations: resume), apply the safety gate, save stats."""
        pending = self.archive.variants(run_id, status="pending")
        total = len(pending)
        done = {"n": 0}

        def on_done(v: Variant, ev: Evaluation) -> None:
            done["n"] += 1
            self._apply(v, ev)
            self.archive.update_variant(v)
            self._emit(type="variant_evaluated", run_id=run_id, generation=v.generation, variant_id=v.id,
                       operator=v.operator, status=v.status, quality=v.fitness, reason=v.reason,
                       done=done["n"], total=total)

        if pending:
            self._emit(type="generation_started", run_id=run_id, generation=generation, total=total)
            await evaluator.evaluate(pending, "train", on_done=on_done)
        self._safety_gate(run_id)
        self._save_stats(run_id, generation)

    @staticmethod
    def _apply(v: Variant, ev: Evaluation) -> None:
        if ev.ok:
            v.status, v.scores, v.reason = "evaluated", ev.scores, None
        else:
            v.status, v.scores, v.reason = "failed", ev.scores, ev.reason

    def _safety_gate(self, run_id: str) -> None:
        """A variant whose safety pass rate is below the current version's is rejected."""
        seeds = self.archive.variants(run_id, generation=0)
        seed = next((v for v in seeds if v.operator == "seed"), None)
        if seed is None or seed.scores is None or seed.scores.safety_pass_rate is None:
            return
        floor = seed.scores.safety_pass_rate
        for v in self.archive.variants(run_id, status="evaluated"):
            rate = v.scores.safety_pass_rate if v.scores else None
            if rate is not None and rate + 1e-9 < floor:
                v.status = "failed"
                v.reason = f"safety regression: safety pass rate {rate:.2f} < {floor:.2f} of the current version"
                self.archive.update_variant(v)

    def _save_stats(self, run_id: str, generation: int) -> None:
        everything = self.archive.variants(run_id)
        upto = [v for v in everything if v.generation <= generation]
        this = [v for v in everything if v.generation == generation]
        evaluated = [v for v in upto if v.status == "evaluated"]
        best = max(evaluated, key=lambda v: v.fitness, default=None)
        this_ok = [v.fitness for v in this if v.status == "evaluated"]
        ops: dict[str, int] = {}
        for v in this:
            ops[v.operator] = ops.get(v.operator, 0) + 1
        stats = {
            "generation": generation, "variants": len(this), "evaluated": len(this_ok),
            "failed": sum(v.status == "failed" for v in this),
            "best_quality": round(best.fitness, 6) if best else 0.0,
            "best_variant": best.id if best else None,
            "generation_best": round(max(this_ok), 6) if this_ok else 0.0,
            "generation_mean": round(sum(this_ok) / len(this_ok), 6) if this_ok else 0.0,
            "front_size": len(pareto_front(upto, self.config.objectives)),
            "evaluations": sum(v.status != "pending" for v in upto),
            "cost_usd": round(sum(v.scores.cost_usd for v in this if v.scores), 8),
            "wall_s": round(self._prior_wall + time.monotonic() - self._started, 3),
            "operators": ops,
        }
        self.archive.save_generation(run_id, generation, stats)
        self._emit(type="generation_done", run_id=run_id, **stats)
