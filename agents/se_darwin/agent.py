"""``se_darwin``: the SE-Darwin engine as a routable agent ("improve the deepanalyze agent on suite X").

It parses which agent and suite from ``task.params`` (``agent``, ``suite``, ``generations``,
``population``, ``max_evaluations``, ``promote``, ``workers``, ``stages``) or from the text, runs evolution
with the host's LLM (if any) enabling the LLM operators, reports progress per generation, and returns the
promotion decision with a fitness plot.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import ValidationError

from ...infrastructure.contracts import Agent, AgentCard, AgentContext, AgentResult, Artifact, Skill, Task
from ...infrastructure.errors import BadInputError, CancelledError

_AGENT = re.compile(r"\b(?:improve|evolve|optimi[sz]e|tune|self-improve)\s+(?:the\s+)?(?P<agent>[A-Za-z0-9_.-]+)",
                    re.IGNORECASE)
_SUITE = re.compile(r"\bsuite\s+(?P<suite>[^\s,;]+)", re.IGNORECASE)
_INT_PARAMS = ("generations", "population", "max_evaluations", "workers", "seed", "patience")


def parse_request(task: Task) -> dict[str, Any]:
    """``{"agent", "suite", ...options}`` from params first, then from the request text and inputs."""
    params = dict(task.params)
    agent_match, suite_match = _AGENT.search(task.text), _SUITE.search(task.text)
    agent = params.get("agent") or (agent_match.group("agent").lower() if agent_match else None)
    suite = params.get("suite") or (suite_match.group("suite").rstrip(".") if suite_match else None)
    if suite is None:
        suite_input = next((i for i in task.inputs if i.suffix in (".yaml", ".yml", ".jsonl")), None)
        suite = str(suite_input.path) if suite_input and suite_input.path else None
    if not agent:
        raise BadInputError("which agent to improve is missing", field="params.agent",
                            hint="say 'improve the NAME agent on suite FILE' or pass params.agent")
    if not suite:
        raise BadInputError("the evaluation suite is missing", field="params.suite",
                            hint="say '... on suite FILE' or pass params.suite (a file or a built-in suite name)")
    out: dict[str, Any] = {"agent": agent, "suite": suite}
    for key in _INT_PARAMS:
        if key in params:
            try:
                out[key] = int(params[key])
            except (TypeError, ValueError):
                raise BadInputError(f"expected an integer, got {params[key]!r}", field=f"params.{key}") from None
    for key in ("promote", "stages", "promotion_margin", "safety"):
        if key in params:
            out[key] = params[key]
    return out


class SEDarwinAgent(Agent):
    card: ClassVar[AgentCard] = AgentCard(
        name="se_darwin",
        description=("Improves another agent (its tunable parameters, prompt templates or code) against an "
                     "evaluation suite: evolves variants, measures each by running the suite in a sandbox, and "
                     "promotes a better version only if it wins on held-out scenarios."),
        skills=[Skill(
            id="evolve_agent",
            description="self-improve, evolve, optimise or tune an agent on an evaluation suite, with gated promotion",
            examples=["improve the deepanalyze agent on suite deepanalyze",
                      "evolve the triage agent against suite tests/triage.yaml for 5 generations",
                      "optimise the videogen agent on suite videogen and promote it if it is better"],
            tags=["evolution", "self-improvement", "optimization", "se-darwin"],
            task_types=["evolution", "self_improvement"],
        )],
        cost_tier="high",
        max_concurrency=1,
        tags=["evolution"],
    )

    def __init__(self, config: dict[str, Any] | None = None, *, settings: Any = None) -> None:
        super().__init__(config)
        self._settings = settings

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        from ...evolution.engine import EvolutionConfig, EvolutionEngine
        from ...evolution.report import plot_fitness, summary_text
        from ...infrastructure.config import load_settings

        request = parse_request(task)
        options = {k: v for k, v in request.items() if k not in ("agent", "suite")}
        try:
            config = EvolutionConfig(**options)
        except ValidationError as exc:  # -> one clear error naming the parameter
            err = exc.errors()[0]
            raise BadInputError(err["msg"], field="params." + ".".join(map(str, err["loc"]))) from None
        total = config.generations + 1

        def progress(event: dict[str, Any]) -> None:
            if ctx.cancelled:
                raise CancelledError("evolution was cancelled; resume it with its run id")
            if event["type"] == "generation_done":
                ctx.emit(f"generation {event['generation']}: best quality {event['best_quality']:.3f}",
                         progress=min(1.0, (event["generation"] + 1) / (total + 1)),
                         generation=event["generation"], best_quality=event["best_quality"])
            elif event["type"] == "holdout_started":
                ctx.emit("evaluating candidates on held-out scenarios", progress=total / (total + 1))

        # the host's settings (data dir!) when the context exposes them, else the environment's
        settings = self._settings or getattr(ctx, "settings", None) or load_settings()
        engine = EvolutionEngine(request["agent"], request["suite"], settings=settings,
                                 config=config, llm=ctx.llm, progress=progress)
        try:
            result = await engine.run(resume=task.params.get("resume"))
        finally:
            engine.archive.close()
        plot = plot_fitness(result.generations, ctx.artifact_dir / f"fitness-{result.run_id}.png",
                            title=f"SE-Darwin: {result.agent}")
        data = result.model_dump(mode="json", exclude={"front"})
        data["front"] = [{"id": v.id, "quality": v.fitness, "cost_usd": v.scores.cost_usd if v.scores else None,
                          "latency_ms": v.scores.latency_ms if v.scores else None} for v in result.front]
        return AgentResult(text=summary_text(result), data=data,
                           artifacts=[Artifact.from_path(plot, description="fitness by generation")],
                           metadata={"run_id": result.run_id})
