"""LLM operators in the spirit of SE-Agent: revision, recombination and refinement of whole variants.

The LLM sees the agent's tunables, the parent genome(s), their scores and failure traces and pool insights,
and answers with new values: a fenced ``python`` block replaces the code tunable, a fenced ``json`` block
(or a bare JSON object) updates parameters and prompts. Whatever it writes is only ever *executed* in the
sandbox; values that break their spec are dropped by the engine's validation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..genome import CodeSpec, Genome, Variant
from .base import Operator, OperatorContext, register_operator

_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)\s*\n(.*?)```", re.DOTALL)

SYSTEM = (
    "You improve a software agent. Reply with the changed tunables only: a ```python block holding the full "
    "new module for a code tunable, and/or a ```json block mapping tunable names to new values. Keep every "
    "{placeholder} in prompt templates and every hook function name in code."
)


def describe_specs(ctx: OperatorContext) -> str:
    lines = []
    for name, spec in ctx.specs.items():
        lines.append(f"- {name}: {spec.model_dump_json(exclude={'default', 'alternatives'})}")
    return "\n".join(lines)


def describe_variant(v: Variant, label: str) -> str:
    s = v.scores
    score = (f"quality={s.quality:.3f} pass_rate={s.pass_rate:.3f} cost_usd={s.cost_usd:.4f} "
             f"latency_ms={s.latency_ms:.0f}") if s else "not scored"
    fails = ""
    if v.reason:
        fails += f"\nIt failed as a whole: {v.reason}"
    if s and s.failures:
        fails += "\nFailed scenarios:\n" + "\n".join(
            f"  - {f.get('scenario', '?')}: {str(f.get('reason', ''))[:300]}" for f in s.failures[:8]
        )
    return f"## {label} ({v.id}, {score}){fails}\n```json\n{json.dumps(v.genome.params, indent=1)[:6000]}\n```"


def parse_reply(text: str, parent: Genome, ctx: OperatorContext) -> Genome | None:
    """Merge the reply's code block and/or JSON values into a copy of ``parent``; None if it changed nothing."""
    params = dict(parent.params)
    code_names = [n for n, s in ctx.specs.items() if isinstance(s, CodeSpec)]
    blocks = _FENCE.findall(text)
    for lang, body in blocks:
        if lang.lower() in ("python", "py") and code_names:
            params[code_names[0]] = body.strip() + "\n"
        elif lang.lower() in ("json", ""):
            _merge_json(body, params, ctx)
    if not blocks:
        stripped = text.strip()
        if stripped.startswith("{"):
            _merge_json(stripped, params, ctx)
        elif code_names and "def " in stripped:
            params[code_names[0]] = stripped + "\n"
    return Genome(params=params) if params != parent.params else None


def _merge_json(body: str, params: dict[str, Any], ctx: OperatorContext) -> None:
    try:
        data = json.loads(body)
    except ValueError:
        return
    if isinstance(data, dict):
        data = data.get("params", data)
        params.update({k: v for k, v in data.items() if k in ctx.specs})


async def ask(ctx: OperatorContext, prompt: str) -> str:
    from langchain_core.messages import HumanMessage, SystemMessage

    assert ctx.llm is not None
    ctx.llm_calls += 1
    reply = await ctx.llm.ainvoke([SystemMessage(content=SYSTEM), HumanMessage(content=prompt)])
    content = reply.content
    return content if isinstance(content, str) else json.dumps(content)


def _header(ctx: OperatorContext) -> str:
    insights = "\n".join(f"- {i}" for i in ctx.insights[:10]) or "- (none yet)"
    return (f"Agent: {ctx.agent_name} — {ctx.agent_description}\nTunables:\n{describe_specs(ctx)}\n"
            f"Insights from earlier variants and production runs:\n{insights}\n")


@register_operator
class LLMRevision(Operator):
    """Rewrite a failing variant from its failure traces."""

    name = "llm_revision"
    parent_kind = "failed"
    needs_llm = True

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        prompt = (_header(ctx) + describe_variant(parents[0], "Failing variant")
                  + "\nRevise it so that the failed scenarios pass.")
        child = parse_reply(await ask(ctx, prompt), parents[0].genome, ctx)
        return [child] if child else []


@register_operator
class LLMRecombination(Operator):
    """Merge the strategies of two successful variants."""

    name = "llm_recombination"
    parent_kind = "successful_pair"
    needs_llm = True

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        prompt = (_header(ctx) + describe_variant(parents[0], "Variant A") + "\n"
                  + describe_variant(parents[-1], "Variant B")
                  + "\nCombine the strengths of both into one better variant.")
        child = parse_reply(await ask(ctx, prompt), parents[0].genome, ctx)
        return [child] if child else []


@register_operator
class LLMRefinement(Operator):
    """Polish the best variant using the insights of the pool."""

    name = "llm_refinement"
    parent_kind = "best"
    needs_llm = True

    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        prompt = (_header(ctx) + describe_variant(parents[0], "Best variant so far")
                  + "\nRefine it: fix its remaining failures without losing what works.")
        child = parse_reply(await ask(ctx, prompt), parents[0].genome, ctx)
        return [child] if child else []
