"""Operators on typed parameters that need no LLM: Gaussian/choice mutation and uniform crossover."""

from __future__ import annotations

from collections.abc import Sequence

from ..genome import BoolSpec, ChoiceSpec, FloatSpec, Genome, IntSpec, Variant
from .base import Operator, OperatorContext, register_operator

_NUMERIC = (FloatSpec, IntSpec, ChoiceSpec, BoolSpec)


def _mutate_value(spec: object, value: object, ctx: OperatorContext) -> object:
    rng = ctx.rng
    if isinstance(spec, FloatSpec):
        step = rng.gauss(0.0, spec.sigma * (spec.max - spec.min))
        return min(spec.max, max(spec.min, float(value) + step))  # type: ignore[arg-type]
    if isinstance(spec, IntSpec):
        step = rng.gauss(0.0, max(1.0, spec.sigma * (spec.max - spec.min)))
        moved = round(int(value) + step)  # type: ignore[call-overload]
        if moved == value:
            moved = int(value) + rng.choice((-1, 1))  # type: ignore[call-overload]
        return min(spec.max, max(spec.min, moved))
    if isinstance(spec, ChoiceSpec):
        others = [c for c in spec.choices if c != value]
        return rng.choice(others) if others else value
    if isinstance(spec, BoolSpec):
        return not value
    return value


@register_operator
class ParamMutation(Operator):
    """Change each typed parameter with probability 1/n (at least one): Gaussian steps, other choices."""

    name = "param_mutation"
    parent_kind = "selected"

    def applicable(self, specs: dict, llm: object) -> bool:
        return any(isinstance(s, _NUMERIC) for s in specs.values())

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        names = [n for n, s in ctx.specs.items() if isinstance(s, _NUMERIC)]
        if not names:
            return []
        params = dict(parents[0].genome.params)
        rate = 1.0 / len(names)
        chosen = [n for n in names if ctx.rng.random() < rate] or [ctx.rng.choice(names)]
        for name in chosen:
            params[name] = _mutate_value(ctx.specs[name], params[name], ctx)
        return [Genome(params=params)]


@register_operator
class UniformCrossover(Operator):
    """Each tunable from either parent with equal chance; then a light mutation if the child is a clone."""

    name = "crossover"
    parent_kind = "selected_pair"

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        a, b = parents[0].genome.params, parents[-1].genome.params
        child = {name: (a[name] if ctx.rng.random() < 0.5 else b[name]) for name in ctx.specs}
        if child in (a, b):
            names = [n for n, s in ctx.specs.items() if isinstance(s, _NUMERIC)]
            if names:
                name = ctx.rng.choice(names)
                child[name] = _mutate_value(ctx.specs[name], child[name], ctx)
        return [Genome(params=child)]


def random_genome(specs: dict, rng: object) -> Genome:
    """A uniform sample of the search space (prompts: a random recombination with the alternatives)."""
    import random

    from ..genome import CodeSpec, PromptSpec
    from .prompts import recombine

    assert isinstance(rng, random.Random)
    params: dict = {}
    for name, spec in specs.items():
        if isinstance(spec, FloatSpec):
            params[name] = rng.uniform(spec.min, spec.max)
        elif isinstance(spec, IntSpec):
            params[name] = rng.randint(spec.min, spec.max)
        elif isinstance(spec, ChoiceSpec):
            params[name] = rng.choice(spec.choices)
        elif isinstance(spec, BoolSpec):
            params[name] = rng.random() < 0.5
        elif isinstance(spec, PromptSpec):
            other = rng.choice(spec.alternatives) if spec.alternatives else spec.default
            params[name] = recombine(spec.default, other, spec, rng) if rng.random() < 0.5 else spec.default
        elif isinstance(spec, CodeSpec):
            params[name] = spec.default
    return Genome(params=params)


@register_operator
class RandomSample(Operator):
    """Ignore the parents and sample the space uniformly: the random-search baseline and a diversity source."""

    name = "random_sample"
    parent_kind = "selected"

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        return [random_genome(ctx.specs, ctx.rng)]
