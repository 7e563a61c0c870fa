"""Selection: Pareto front over quality (max), cost and latency (min), NSGA-II style ranking, convergence.

Latency is compared in relative bands (``latency_band``: 0.25 = values within ~25% are equal) and cost
at a resolution (``cost_resolution_usd``), because two runs of the same variant never take exactly the
same time: without that every slightly faster variant would be "non-dominated" by noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from .genome import Variant


class Objectives(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_band: float = Field(default=0.25, gt=0, description="relative width of a latency band")
    latency_floor_ms: float = Field(default=10.0, gt=0, description="latencies below this are all equal")
    cost_resolution_usd: float = Field(default=1e-4, gt=0)
    quality_resolution: float = Field(default=1e-6, gt=0)

    def vector(self, v: Variant) -> tuple[float, float, float]:
        """Minimisation vector: (-quality, cost bucket, latency bucket)."""
        s = v.scores
        if v.status != "evaluated" or s is None:
            return (math.inf, math.inf, math.inf)
        latency = max(s.latency_ms, self.latency_floor_ms) / self.latency_floor_ms
        return (-round(s.quality / self.quality_resolution) * self.quality_resolution,
                math.floor(s.cost_usd / self.cost_resolution_usd),
                math.floor(math.log(latency) / math.log1p(self.latency_band)))


def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def nondominated_sort(variants: Sequence[Variant], objectives: Objectives | None = None) -> list[list[Variant]]:
    """Fronts, best first (front 0 is the Pareto front). Failed variants end up in the last front."""
    obj = objectives or Objectives()
    vecs = {v.id: obj.vector(v) for v in variants}
    remaining = list(variants)
    fronts: list[list[Variant]] = []
    while remaining:
        front = [v for v in remaining if not any(dominates(vecs[o.id], vecs[v.id]) for o in remaining if o is not v)]
        if not front:  # pragma: no cover - only with NaN scores
            front = remaining
        fronts.append(front)
        ids = {v.id for v in front}
        remaining = [v for v in remaining if v.id not in ids]
    return fronts


def pareto_front(variants: Sequence[Variant], objectives: Objectives | None = None) -> list[Variant]:
    """The non-dominated evaluated variants, best quality first."""
    evaluated = [v for v in variants if v.status == "evaluated" and v.scores is not None]
    if not evaluated:
        return []
    front = nondominated_sort(evaluated, objectives)[0]
    return sorted(front, key=lambda v: (-v.fitness, v.scores.cost_usd, v.scores.latency_ms))  # type: ignore[union-attr]


def crowding(front: Sequence[Variant], objectives: Objectives | None = None) -> dict[str, float]:
    """Crowding distance within one front: prefers variants in sparse regions (keeps diversity)."""
    obj = objectives or Objectives()
    dist = {v.id: 0.0 for v in front}
    if len(front) < 3:
        return {k: math.inf for k in dist}
    for m in range(3):
        ordered = sorted(front, key=lambda v: obj.vector(v)[m])
        lo, hi = obj.vector(ordered[0])[m], obj.vector(ordered[-1])[m]
        dist[ordered[0].id] = dist[ordered[-1].id] = math.inf
        if hi == lo or math.isinf(hi - lo):
            continue
        for i in range(1, len(ordered) - 1):
            dist[ordered[i].id] += (obj.vector(ordered[i + 1])[m] - obj.vector(ordered[i - 1])[m]) / (hi - lo)
    return dist


class Ranking:
    """Rank + crowding of a population, for binary-tournament parent selection."""

    def __init__(self, variants: Sequence[Variant], objectives: Objectives | None = None,
                 pool: int | None = None) -> None:
        self.variants = [v for v in variants if v.status == "evaluated"] or list(variants)
        self.rank: dict[str, int] = {}
        self.crowd: dict[str, float] = {}
        for i, front in enumerate(nondominated_sort(self.variants, objectives)):
            self.crowd.update(crowding(front, objectives))
            for v in front:
                self.rank[v.id] = i
        if pool is not None and len(self.variants) > pool:
            # (mu + lambda): parents come from the best ``pool`` of the archive, not from all of it
            self.variants = sorted(self.variants, key=self._key)[:pool]

    def _key(self, v: Variant) -> tuple[float, ...]:
        return (self.rank.get(v.id, 99), -v.fitness, -self.crowd.get(v.id, 0.0))

    def better(self, a: Variant, b: Variant) -> Variant:
        """Lower front first; within a front, higher quality (the primary objective), then sparser."""
        return a if self._key(a) <= self._key(b) else b

    def tournament(self, rng: random.Random) -> Variant:
        if len(self.variants) == 1:
            return self.variants[0]
        a, b = rng.sample(self.variants, 2)
        return self.better(a, b)


class ConvergenceRules(BaseModel):
    """When to stop: generations, stagnation (no improvement over ``patience`` generations), budgets."""

    model_config = ConfigDict(extra="forbid")

    max_generations: int = Field(default=10, ge=1)
    patience: int = Field(default=3, ge=1, description="stop after this many generations without improvement")
    min_delta: float = Field(default=0.005, ge=0, description="smallest quality gain that counts as improvement")
    max_evaluations: int | None = Field(default=None, ge=1, description="budget: candidate evaluations")
    max_wall_s: float | None = Field(default=None, gt=0, description="budget: wall-clock seconds")
    max_cost_usd: float | None = Field(default=None, ge=0, description="budget: summed evaluation cost")
    target_quality: float | None = Field(default=None, ge=0, le=1, description="stop once reached")

    def check(self, *, best_by_generation: Sequence[float], evaluations: int, wall_s: float,
              cost_usd: float) -> str | None:
        """The reason to stop now, or None to go on."""
        gens = len(best_by_generation)
        if gens >= self.max_generations:
            return f"reached {self.max_generations} generations"
        if self.target_quality is not None and best_by_generation and best_by_generation[-1] >= self.target_quality:
            return f"reached target quality {self.target_quality}"
        if self.max_evaluations is not None and evaluations >= self.max_evaluations:
            return f"evaluation budget spent ({evaluations}/{self.max_evaluations})"
        if self.max_wall_s is not None and wall_s >= self.max_wall_s:
            return f"time budget spent ({wall_s:.0f}s/{self.max_wall_s:.0f}s)"
        if self.max_cost_usd is not None and cost_usd >= self.max_cost_usd:
            return f"cost budget spent (${cost_usd:.4f}/${self.max_cost_usd:.4f})"
        if gens > self.patience:
            before = best_by_generation[-self.patience - 1]
            if best_by_generation[-1] - before < self.min_delta:
                return f"no improvement over {self.patience} generations"
        return None
