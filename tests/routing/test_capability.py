"""Capability matching: softmax calibration (ranking + "none" option), example-level ranking, tuning code."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from genesis_agents.infrastructure.contracts import AgentCard, Skill, Subtask, Task
from genesis_agents.infrastructure.errors import ConfigError
from genesis_agents.infrastructure.routing import HaloRouter
from genesis_agents.infrastructure.routing.capability import FEATURES, Calibration, CapabilityIndex

ROOT = Path(__file__).resolve().parents[2]


def feats(**values: float) -> dict[str, float]:
    return {f: values.get(f, 0.0) for f in FEATURES}


def cal(model: str, threshold: float = 0.5) -> Calibration:
    return Calibration(weights={"cos_max": 10.0}, bias=-5.0, threshold=threshold, model=model)


def test_softmax_probabilities_compete_with_each_other_and_with_none() -> None:
    c = cal("softmax")
    strong, weak = feats(cos_max=0.9), feats(cos_max=0.6)
    p = c.probabilities([strong, weak])
    z = [10 * 0.9 - 5, 10 * 0.6 - 5]
    denom = 1 + sum(math.exp(v) for v in z)
    assert p == pytest.approx([math.exp(z[0]) / denom, math.exp(z[1]) / denom])
    assert sum(p) < 1.0, "the rest is the probability of 'none of them'"
    # one card alone: the softmax with 'none' is the logistic of its score
    assert c.probabilities([strong])[0] == pytest.approx(c.probability(strong))
    # a close competitor takes probability away (the logistic model would not notice it)
    assert c.probabilities([strong, feats(cos_max=0.89)])[0] < c.probabilities([strong])[0] - 0.2
    assert cal("logistic").probabilities([strong, feats(cos_max=0.89)])[0] == pytest.approx(
        cal("logistic").probability(strong))
    # extreme scores stay finite
    assert all(np.isfinite(c.probabilities([feats(cos_max=1e6), feats(cos_max=-1e6)])))


def test_acceptance_groups_near_ties_only() -> None:
    c = Calibration(weights={"cos_max": 10.0}, bias=-5.0, threshold=0.5, model="softmax", group_logit=0.1)
    assert c.acceptance([0.2, 0.2, 0.2, 0.2]) == pytest.approx(0.8)      # replicas: one job, split four ways
    assert c.acceptance([0.3, 0.28, 0.1]) == pytest.approx(0.58)          # 0.28 is within e^-0.1 of 0.3
    assert c.acceptance([0.3, 0.2, 0.1]) == pytest.approx(0.3)            # a real runner-up is not added
    assert c.acceptance([0.15, 0.14]) == pytest.approx(0.29)              # scaled alike (health): same ratio
    assert c.acceptance([]) == 0.0
    logistic = c.model_copy(update={"model": "logistic"})
    assert logistic.acceptance([0.4, 0.4]) == pytest.approx(0.4)


async def test_replicas_of_one_agent_do_not_split_it_out_of_scope() -> None:
    """Four copies of one card (different cost tiers) get a quarter each; the request is still accepted,
    the cheapest copy is chosen, and an off-topic request is still rejected."""
    skill = Skill(id="translate", description="Translate business documents between English and German.",
                  examples=["Translate this contract into German", "Translate the German email to English"])
    replicas = [AgentCard(name=f"translator-{tier}", description="Translation of business documents.",
                          skills=[skill], cost_tier=tier) for tier in ("high", "medium", "low", "free")]
    router = HaloRouter()
    text = "Please put the attached German invoice into English"
    d = await router.route(Subtask(id="s1", text=text), Task(text=text), replicas)
    assert d.agent == "translator-free" and d.decided_by == "capability"
    assert all(c.score < router.calibration.threshold for c in d.alternatives)  # each alone is below it
    assert "near-ties" in d.explanation and "cheapest adequate" in d.explanation
    text = "What is the tallest mountain in Africa?"
    d = await router.route(Subtask(id="s1", text=text), Task(text=text), replicas)
    assert d.agent is None and d.decided_by == "unassigned"


def test_calibration_files(tmp_path: Path) -> None:
    shipped = Calibration.load()
    assert shipped.model == "softmax" and "tune split" in shipped.fitted_on and shipped.group_logit > 0
    assert set(shipped.weights) == set(FEATURES)
    old = tmp_path / "old.json"  # a calibration written before the softmax model: still the logistic model
    old.write_text(json.dumps({"weights": {"cos_max": 1.0}, "bias": 0.0, "threshold": 0.4}))
    assert Calibration.load(old).model == "logistic"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"weights": {}, "bias": 0.0, "threshold": 0.4, "model": "forest"}))
    with pytest.raises(ConfigError) as exc:
        Calibration.load(bad)
    assert exc.value.field == "calibration" and "model" in str(exc.value)


def _card(name: str, examples: list[str]) -> AgentCard:
    return AgentCard(name=name, description="Office assistant for everyday company requests.",
                     skills=[Skill(id="main", description="Handles routine office requests.", examples=examples)])


def test_ranking_prefers_the_card_whose_example_matches() -> None:
    """Same description and skill, different examples: the card with the matching example ranks first."""
    cards = [
        _card("courier", ["Send the signed documents to our Munich office by express courier"]),
        _card("catering", ["Order sandwiches and coffee for the Friday workshop"]),
        _card("facilities", ["The heating in meeting room B is broken"]),
    ]
    index = CapabilityIndex(cards)
    for text, agent in [("Ship these contracts to the Munich branch by courier today", "courier"),
                        ("Get lunch delivered for twelve people at the workshop", "catering"),
                        ("It is freezing in room B, the radiator does not work", "facilities")]:
        scores = index.score(text)
        assert scores[0].agent == agent, (text, [(s.agent, round(s.probability, 3)) for s in scores])
        assert scores[0].probability > scores[1].probability
        assert scores[0].best_passage in cards[[c.name for c in cards].index(agent)].skills[0].examples


async def test_stop_word_only_requests_are_rejected_before_scoring(cards) -> None:
    router = HaloRouter()
    for text in ["please could you do it for me", "I need it now, thanks!!", "Would you do that for us?"]:
        d = await router.route(Subtask(id="s1", text=text), Task(text=text), cards)
        assert d.agent is None and d.decided_by == "unassigned" and d.signal == "no_content", text
    # boilerplate around one generic word reaches scoring, and no card wins it
    for text in ["Can you help?", "Help me with this", "Please do the usual"]:
        d = await router.route(Subtask(id="s1", text=text), Task(text=text), cards)
        assert d.agent is None and d.decided_by == "unassigned" and d.signal == "capability", text


async def test_an_added_close_competitor_lowers_confidence(cards) -> None:
    """The probability is relative to the card set: a near-copy of the travel card splits its share."""
    text = "Book a hotel near the trade fair in Hannover"
    router = HaloRouter()
    alone = await router.route(Subtask(id="s1", text=text), Task(text=text), cards)
    twin = next(c for c in cards if c.name == "travel").model_copy(update={"name": "travel-2"})
    both = await router.route(Subtask(id="s1", text=text), Task(text=text), [*cards, twin])
    assert alone.agent == "travel" and both.agent in {"travel", "travel-2"}
    assert both.score < alone.score - 0.2
    assert {c.agent for c in both.alternatives[:2]} == {"travel", "travel-2"}


def _tune_module():
    sys.path.insert(0, str(ROOT / "benchmarks" / "routing"))
    try:
        import tune
    finally:
        sys.path.pop(0)
    return tune


def _synthetic_design(name: str, seed: int, n: int = 80, cards: int = 4):
    """cos_max of the right card is higher; out-of-scope requests have low cos_max everywhere."""
    rng = np.random.RandomState(seed)
    X = np.zeros((n, cards, len(FEATURES)))
    gold: list[int | None] = []
    col = FEATURES.index("cos_max")
    for q in range(n):
        X[q, :, col] = rng.uniform(0.1, 0.4, cards)
        if q % 4 == 0:
            gold.append(None)
        else:
            g = int(rng.randint(cards))
            X[q, g, col] = rng.uniform(0.55, 0.9)
            gold.append(g)
    return name, X, gold


def test_tune_softmax_fit_and_cross_validation_on_synthetic_data() -> None:
    tune = _tune_module()
    designs = [_synthetic_design("a", 0), _synthetic_design("b", 1)]
    w, b = tune.fit_softmax(designs, l2=0.001)
    assert w[FEATURES.index("cos_max")] > 5 and b < 0
    c = tune.fit(designs, "softmax", 0.001, 0.9)
    assert c.model == "softmax" and 0.05 <= c.threshold <= 0.95
    acc, rej = tune.evaluate(tune.probabilities(c, designs[0][1]), designs[0][2], c.threshold, c)
    assert acc > 0.95 and rej >= 0.9
    cv = tune.cross_validate(designs, _synthetic_design("check", 2), 4, "softmax", 0.001, 0.9)
    assert len(cv["thresholds"]) == 4
    assert cv["out_of_fold"]["check"]["ranking_top1"] > 0.95
    # with a feature that carries no signal the out-of-fold result is no better than chance
    noise = [(n, np.random.RandomState(7).permutation(X.reshape(-1, X.shape[2])).reshape(X.shape), g)
             for n, X, g in designs]
    cv = tune.cross_validate(noise, noise[0], 4, "softmax", 0.001, 0.9)
    assert cv["out_of_fold"]["a"]["ranking_top1"] < 0.6
