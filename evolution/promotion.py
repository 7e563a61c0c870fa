"""The promotion gate: a variant replaces the current version only if it wins on held-out scenarios.

Candidates (the Pareto front, best train quality first) and the current version are re-evaluated, each in
a fresh sandbox, on the suite's ``holdout`` split, which evolution never saw. The best candidate is
promoted when its held-out quality beats the current version's by ``promotion_margin``, it passes at least
as many held-out scenarios, and its safety pass rate did not drop. Every decision comes with a report;
a promotion writes a new versioned config (see ``versions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from .genome import Variant
from .versions import agent_dir, write_version

if TYPE_CHECKING:  # pragma: no cover
    from .engine import EvolutionEngine
    from .evaluator import Evaluator


class HoldoutScores(BaseModel):
    variant_id: str
    operator: str
    generation: int
    train_quality: float
    quality: float = 0.0
    pass_rate: float = 0.0
    n_passed: int = 0
    n_scenarios: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    safety_pass_rate: float | None = None
    reason: str | None = Field(default=None, description="why the held-out evaluation failed, if it did")


class PromotionReport(BaseModel):
    agent: str
    run_id: str
    decision: Literal["promoted", "rejected", "approved_not_written"]
    reason: str
    margin: float
    incumbent: HoldoutScores
    candidate: HoldoutScores | None = None
    candidates: list[HoldoutScores] = Field(default_factory=list)
    version: int | None = None
    config_path: str | None = None
    changes: dict[str, list[Any]] = Field(default_factory=dict, description="tunable -> [current, promoted]")


def _holdout(v: Variant, ev: Any) -> HoldoutScores:
    out = HoldoutScores(variant_id=v.id, operator=v.operator, generation=v.generation, train_quality=v.fitness,
                        reason=ev.reason)
    if ev.scores is not None and ev.reason is None:
        s = ev.scores
        out.quality, out.pass_rate, out.n_passed, out.n_scenarios = s.quality, s.pass_rate, s.n_passed, s.n_scenarios
        out.cost_usd, out.latency_ms, out.safety_pass_rate = s.cost_usd, s.latency_ms, s.safety_pass_rate
    return out


def _rank(h: HoldoutScores) -> tuple[float, ...]:
    return (h.reason is None, h.quality, h.pass_rate, -h.cost_usd, -h.latency_ms)


async def promote(engine: EvolutionEngine, run_id: str, front: list[Variant], evaluator: Evaluator) -> PromotionReport:
    cfg = engine.config
    seed = next(v for v in engine.archive.variants(run_id, generation=0) if v.operator == "seed")
    seed_key = seed.genome.key()
    candidates = [v for v in front if v.genome.key() != seed_key][: cfg.promotion_candidates]
    engine._emit(type="holdout_started", run_id=run_id, candidates=len(candidates))
    evaluations = await evaluator.evaluate([seed, *candidates], "holdout")
    for v, ev in zip([seed, *candidates], evaluations):
        engine.archive.set_holdout(v.id, ev.scores, ev.reason)
    incumbent = _holdout(seed, evaluations[0])
    scored = [_holdout(v, ev) for v, ev in zip(candidates, evaluations[1:])]
    report = PromotionReport(agent=engine.agent_name, run_id=run_id, decision="rejected", reason="",
                             margin=cfg.promotion_margin, incumbent=incumbent, candidates=scored)
    if not scored:
        report.reason = "no variant beat the current version on the train split"
        engine._emit(type="promotion", **report.model_dump(mode="json"))
        return report
    best = max(scored, key=_rank)
    report.candidate = best
    gain = best.quality - incumbent.quality
    problems = []
    if best.reason:
        problems.append(f"every candidate failed on held-out cases ({best.reason})")
    if gain + 1e-9 < cfg.promotion_margin:
        problems.append(f"held-out quality {best.quality:.3f} vs {incumbent.quality:.3f} of the current version "
                        f"(gain {gain:+.3f} < margin {cfg.promotion_margin:.3f})")
    if best.n_passed < incumbent.n_passed:
        problems.append(f"passes fewer held-out scenarios ({best.n_passed} < {incumbent.n_passed})")
    if incumbent.safety_pass_rate is not None and (best.safety_pass_rate or 0.0) + 1e-9 < incumbent.safety_pass_rate:
        problems.append(f"safety pass rate dropped ({best.safety_pass_rate} < {incumbent.safety_pass_rate})")
    winner = engine.archive.variant(best.variant_id)
    report.changes = {k: [seed.genome.params.get(k), val] for k, val in winner.genome.params.items()
                      if seed.genome.params.get(k) != val}
    if problems:
        report.reason = "; ".join(problems)
    elif not cfg.promote:
        report.decision = "approved_not_written"
        report.reason = (f"held-out quality {best.quality:.3f} beats {incumbent.quality:.3f} by {gain:+.3f}; "
                         "promotion disabled for this run")
    else:
        report.decision = "promoted"
        report.reason = f"held-out quality {best.quality:.3f} beats {incumbent.quality:.3f} by {gain:+.3f}"
        record = write_version(engine.agent_name, winner.genome.params, settings=engine.settings,
                               variant_id=winner.id, run_id=run_id,
                               report=report.model_dump(mode="json", exclude={"version", "config_path"}))
        report.version = record["version"]
        report.config_path = str(agent_dir(engine.agent_name, engine.settings) / f"v{record['version']:04d}.json")
    engine._emit(type="promotion", **report.model_dump(mode="json"))
    return report
