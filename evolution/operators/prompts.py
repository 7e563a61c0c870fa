"""Prompt-template recombination without an LLM: sentence-level crossover, insertion and deletion.

Templates are split into sentences; a child takes each sentence from one parent or the other, may gain a
sentence from the spec's ``alternatives`` or lose one, and must keep every required placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..genome import Genome, PromptSpec, Variant
from .base import Operator, OperatorContext, register_operator

_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT.split(text) if s.strip()]


def _keeps(template: str, spec: PromptSpec) -> bool:
    return all("{" + p + "}" in template for p in spec.placeholders or []) and len(template) <= spec.max_chars


def recombine(a: str, b: str, spec: PromptSpec, rng: object, tries: int = 12) -> str:
    """One child template of ``a`` and ``b`` that keeps the placeholders (``a`` itself if none does)."""
    import random

    assert isinstance(rng, random.Random)
    sa, sb = sentences(a), sentences(b)
    alts = [s for alt in spec.alternatives for s in sentences(alt)]
    for _ in range(tries):
        out: list[str] = []
        for i in range(max(len(sa), len(sb))):
            pick = [s for s in (sa[i] if i < len(sa) else None, sb[i] if i < len(sb) else None) if s]
            sentence = rng.choice(pick)
            if rng.random() < 0.15 and not re.search(r"\{\w+\}", sentence):
                continue  # drop a sentence that carries no placeholder
            out.append(sentence)
            if alts and rng.random() < 0.25:
                out.append(rng.choice(alts))
        child = " ".join(dict.fromkeys(out))  # no duplicated sentences, order kept
        if child and _keeps(child, spec) and child not in (a, b):
            return child
    return a


@register_operator
class PromptRecombination(Operator):
    """Recombine the prompt templates of two parents (other tunables from the first parent)."""

    name = "prompt_recombination"
    parent_kind = "selected_pair"

    def applicable(self, specs: dict, llm: object) -> bool:
        return any(isinstance(s, PromptSpec) for s in specs.values())

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        prompts = [n for n, s in ctx.specs.items() if isinstance(s, PromptSpec)]
        if not prompts:
            return []
        params = dict(parents[0].genome.params)
        other = parents[-1].genome.params
        for name in prompts:
            params[name] = recombine(params[name], other[name], ctx.specs[name], ctx.rng)
        return [Genome(params=params)]
