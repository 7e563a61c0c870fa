"""The Dynamic Improvement Reward (WaltzRL): how much a revision improved the response.

DIR = quality(after) - quality(before), where quality is the feedback agent's rating of a response in [0, 1]
(1 - the larger of its unsafe-response and over-refusal probabilities). It is positive only when the
feedback led to a better response, which is exactly the acceptance test for a revision.
"""

from __future__ import annotations

from .labels import Verdict

_KIND_RANK = {"unsafe_response": 0, "over_refusal": 1, "unsafe_request": 2, "safe": 2}


def dynamic_improvement_reward(before: Verdict, after: Verdict) -> float:
    return round(after.score - before.score, 6)


def is_improvement(before: Verdict, after: Verdict, *, min_gain: float = 0.1) -> bool:
    """A revision is accepted when the feedback agent rates it better: a better label class, or the same
    class with a quality score higher by at least ``min_gain`` (a reworded refusal that is still a refusal
    is not an improvement). A revision never trades an over-refusal for an unsafe response."""
    rb, ra = _KIND_RANK[before.kind], _KIND_RANK[after.kind]
    if ra != rb:
        return ra > rb
    return dynamic_improvement_reward(before, after) >= min_gain
