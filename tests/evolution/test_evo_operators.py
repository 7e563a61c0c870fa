"""Operators: typed mutation stays in range, crossover mixes parents, prompt recombination keeps
placeholders, LLM operators parse code/JSON replies from a real (scripted) chat model."""

from __future__ import annotations

import random

import pytest
from genesis_agents.evolution.examples.triage import TriageAgent
from genesis_agents.evolution.genome import Genome, Variant, VariantScores, defaults, parse_tunables
from genesis_agents.evolution.operators import (
    LLMRecombination,
    LLMRefinement,
    LLMRevision,
    OperatorContext,
    ParamMutation,
    PromptRecombination,
    UniformCrossover,
    build_operators,
    random_genome,
)
from genesis_agents.infrastructure.errors import ConfigError
from genesis_agents.infrastructure.llm import ScriptedChatModel

SPECS = parse_tunables(TriageAgent.tunables)


def variant(**params) -> Variant:
    return Variant(genome=Genome(params={**defaults(SPECS), **params}))


def ctx(seed: int = 0, llm=None) -> OperatorContext:
    return OperatorContext(specs=SPECS, rng=random.Random(seed), llm=llm, agent_name="triage")


async def test_param_mutation_changes_something_and_stays_valid():
    changed = set()
    for seed in range(40):
        (child,) = await ParamMutation().apply([variant()], ctx(seed))
        child.validated(SPECS)  # raises if out of range
        changed |= {k for k, v in child.params.items() if v != defaults(SPECS)[k]}
        assert child.params["reply"] == defaults(SPECS)["reply"]  # prompts are not its business
    assert {"normalize", "stem", "min_score", "strategy"} <= changed


async def test_crossover_takes_values_from_both_parents():
    a = variant(normalize="lower", stem=5, min_score=0.1, strategy="best_score")
    b = variant()
    seen_a = seen_b = False
    for seed in range(20):
        (child,) = await UniformCrossover().apply([a, b], ctx(seed))
        for k in ("normalize", "stem", "strategy"):
            seen_a |= child.params[k] == a.genome.params[k]
            seen_b |= child.params[k] == b.genome.params[k]
    assert seen_a and seen_b


async def test_prompt_recombination_keeps_placeholders_and_uses_alternatives():
    a = variant(reply="Category: {category}. Thank you for contacting us.")
    b = variant(reply="Routed to the {team} team. Category: {category}.")
    outs = set()
    for seed in range(30):
        (child,) = await PromptRecombination().apply([a, b], ctx(seed))
        assert "{category}" in child.params["reply"]
        outs.add(child.params["reply"])
    assert any("{team}" in o for o in outs)
    assert len(outs) > 3


def test_random_genomes_are_valid_and_varied():
    rng = random.Random(1)
    genomes = [random_genome(SPECS, rng).validated(SPECS) for _ in range(30)]
    assert len({g.key() for g in genomes}) > 20


async def test_llm_revision_takes_code_from_a_python_block():
    code = "def score(words, keywords):\n    return float(sum(k in words for k in keywords))\n"
    llm = ScriptedChatModel(replies=[f"Here is a fix.\n```python\n{code}```\n"])
    parent = variant()
    parent.scores = VariantScores(quality=0.4, n_scenarios=3, n_passed=1,
                                  failures=[{"scenario": "refund-plural", "reason": "data.category: got other"}])
    c = ctx(llm=llm)
    (child,) = await LLMRevision().apply([parent], c)
    assert child.params["scorer"] == code
    assert c.llm_calls == 1
    assert "refund-plural" in llm.calls[0] and "data.category: got other" in llm.calls[0]


async def test_llm_recombination_and_refinement_merge_json_values():
    llm = ScriptedChatModel(replies=['```json\n{"min_score": 0.05, "strategy": "best_score", "bogus": 1}\n```',
                                     '{"params": {"normalize": "lower"}}', "I have no idea."])
    a, b = variant(stem=5), variant(normalize="lower")
    (child,) = await LLMRecombination().apply([a, b], ctx(llm=llm))
    assert child.params["min_score"] == 0.05 and child.params["strategy"] == "best_score"
    assert "bogus" not in child.params and child.params["stem"] == 5
    (child2,) = await LLMRefinement().apply([a], ctx(llm=llm))
    assert child2.params["normalize"] == "lower"
    assert await LLMRefinement().apply([a], ctx(llm=llm)) == []  # a reply that changes nothing is no child


def test_build_operators_refuses_unknown_and_llm_without_llm():
    with pytest.raises(ConfigError) as info:
        build_operators(["param_mutation", "teleport"])
    assert info.value.field == "operators" and "teleport" in str(info.value)
    with pytest.raises(ConfigError, match="needs an LLM"):
        build_operators(["llm_revision"])
    names = {op.name for op in build_operators(None)}
    assert "llm_revision" not in names and "param_mutation" in names
    assert "llm_revision" in {op.name for op in build_operators(None, llm=ScriptedChatModel(replies=["x"]))}
