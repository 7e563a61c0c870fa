"""``triage``: routes support tickets to a team by keyword scoring — a small agent whose quality depends
entirely on its tunables, so an evaluation suite measures every change.

Its defaults are deliberately poor (case-sensitive exact matching, a threshold no ticket reaches, the
first matching category wins, a reply that never names the team): SE-Darwin should find better ones.
The scoring function itself is a ``code`` tunable (hook ``score``), so code variants can be evolved too.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ...infrastructure.contracts import Agent, AgentCard, AgentContext, AgentResult, Skill, Task
from ..hooks import load_hooks

CATEGORIES: dict[str, tuple[str, list[str]]] = {
    "billing": ("Finance", ["refund", "invoice", "charge", "payment", "bill", "price", "subscription"]),
    "technical": ("Engineering", ["error", "crash", "bug", "broken", "login", "password", "install"]),
    "shipping": ("Logistics", ["delivery", "shipped", "package", "tracking", "arrive", "courier", "parcel"]),
    "account": ("Support", ["account", "email", "username", "profile", "delete", "close", "settings"]),
}

DEFAULT_SCORE_CODE = '''\
def score(words, keywords):
    """Share of the category's keywords that occur in the ticket."""
    hits = sum(1 for k in keywords if k in words)
    return hits / len(keywords)
'''


class TriageAgent(Agent):
    card: ClassVar[AgentCard] = AgentCard(
        name="triage",
        description="Routes customer support tickets to the right team (billing, technical, shipping, account).",
        skills=[Skill(id="triage_ticket", description="classify a support ticket and name the team",
                      examples=["My invoice shows a double charge", "The app crashes on login"],
                      task_types=["triage"])],
        cost_tier="free",
    )
    tunables: ClassVar[dict[str, dict[str, Any]]] = {
        "normalize": {"type": "choice", "choices": ["none", "lower", "lower_strip"], "default": "none",
                      "description": "case/punctuation normalisation of the ticket text"},
        "stem": {"type": "int", "min": 0, "max": 8, "default": 0,
                 "description": "compare word prefixes of this length (0 = exact words)"},
        "min_score": {"type": "float", "min": 0.0, "max": 1.0, "default": 0.9,
                      "description": "below this best score the ticket goes to 'other'"},
        "strategy": {"type": "choice", "choices": ["first_match", "best_score"], "default": "first_match"},
        "reply": {"type": "prompt", "default": "Category: {category}.",
                  "alternatives": ["Routed to the {team} team.", "Thank you for contacting us.",
                                   "We usually answer within a day.", "You wrote: {ticket}"],
                  "description": "the reply template; {category}, {team} and {ticket} are filled in"},
        "scorer": {"type": "code", "hooks": ["score"], "default": DEFAULT_SCORE_CODE,
                   "description": "score(words: set[str], keywords: list[str]) -> float"},
    }

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self._hooks = load_hooks(self.config["scorer"], ["score"], field="scorer")

    def _words(self, text: str) -> set[str]:
        mode = self.config["normalize"]
        if mode in ("lower", "lower_strip"):
            text = text.lower()
        words = re.findall(r"[\w']+", text) if mode == "lower_strip" else text.split()
        stem = int(self.config["stem"])
        return {w[:stem] if stem else w for w in words}

    def classify(self, text: str) -> tuple[str, float]:
        words = self._words(text)
        stem = int(self.config["stem"])
        best, best_score = "other", 0.0
        for category, (_, keywords) in CATEGORIES.items():
            keys = [k[:stem] if stem else k for k in keywords]
            score = float(self._hooks.score(words, keys))
            if score >= float(self.config["min_score"]) and score > 0:
                if self.config["strategy"] == "first_match":
                    return category, score
                if score > best_score:
                    best, best_score = category, score
        return best, best_score

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        category, score = self.classify(task.text)
        team = CATEGORIES[category][0] if category in CATEGORIES else "Triage"
        text = self.config["reply"].format(category=category, team=team, ticket=task.text)
        return AgentResult(text=text, data={"category": category, "team": team, "score": round(score, 4)})
