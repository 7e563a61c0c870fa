"""Cost awareness: estimate how hard a subtask is and pick the cheapest agent tier that is adequate.

Difficulty is a cheap, explainable estimate from the request itself (length, number of distinct asks,
words that signal depth, attached inputs). Easy work goes to the cheapest adequate agent; hard work to the
most capable tier among the adequate ones. Prices per subtask feed the plan validator's budget check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..contracts import COST_TIER_ORDER, AgentCard
from .text import content_terms

Difficulty = Literal["easy", "medium", "hard"]

TIER_PRICE_USD: dict[str, float] = {"free": 0.0, "low": 0.002, "medium": 0.02, "high": 0.1}
"""Estimated USD per subtask by card cost tier (override per router/validator)."""

_DEPTH_WORDS = re.compile(
    r"\b(comprehensive|in[- ]depth|detailed|thorough|complex|multi[- ]?step|end[- ]to[- ]end|across all|"
    r"rigorous|exhaustive|full (report|analysis|audit)|root cause|optimi[sz]e|evolve|forecast)\b", re.IGNORECASE)
_MULTI_ASK = re.compile(r"\b(and then|then|also|as well as|plus|after that)\b|[;,]", re.IGNORECASE)


@dataclass(frozen=True)
class DifficultyEstimate:
    score: float
    level: Difficulty
    reasons: tuple[str, ...]

    @property
    def min_tier(self) -> str:
        """The cheapest tier considered adequate for this level."""
        return {"easy": "free", "medium": "low", "hard": "medium"}[self.level]


def estimate_difficulty(text: str, *, n_inputs: int = 0) -> DifficultyEstimate:
    terms = len(content_terms(text))
    depth = len(_DEPTH_WORDS.findall(text))
    asks = len(_MULTI_ASK.findall(text))
    score = min(1.0, terms / 40) * 0.45 + min(1.0, depth / 2) * 0.35 + min(1.0, asks / 4) * 0.1 + min(
        1.0, n_inputs / 3) * 0.1
    reasons = [f"{terms} content words"]
    if depth:
        reasons.append(f"{depth} depth cue(s)")
    if n_inputs:
        reasons.append(f"{n_inputs} input(s)")
    level: Difficulty = "easy" if score < 0.25 else ("medium" if score < 0.5 else "hard")
    return DifficultyEstimate(round(score, 3), level, tuple(reasons))


def cheapest_adequate(cards: list[AgentCard], difficulty: DifficultyEstimate) -> AgentCard:
    """Among near-equally capable cards: the cheapest whose tier meets the difficulty's minimum, else the
    most capable tier available. ``cards`` must be ordered best score first (ties keep that order)."""
    need = COST_TIER_ORDER[difficulty.min_tier]
    meets = [c for c in cards if COST_TIER_ORDER[c.cost_tier] >= need]
    if meets:
        return min(meets, key=lambda c: COST_TIER_ORDER[c.cost_tier])
    return max(cards, key=lambda c: COST_TIER_ORDER[c.cost_tier])
