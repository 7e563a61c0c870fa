"""The conversation agent: proposes revisions of a flagged response.

It only *proposes*; the pipeline asks the feedback agent to rate each proposal and keeps it only if it is
rated better (Dynamic Improvement Reward > 0). Methods, cheapest and most faithful first:

- ``redact``: remove leaked PII/secrets (always offline);
- ``llm``: regenerate the answer with the feedback (when an LLM is configured);
- ``rerun``: re-run the original agent with the feedback appended (over-refusals; the runtime supplies it);
- ``decline``: replace an unsafe response with a precise, helpful decline (offline fallback).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..infrastructure.contracts import AgentResult, RerunFn
from .detectors import redact
from .labels import Verdict

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

Method = Literal["redact", "llm", "rerun", "decline"]

_ALTERNATIVES: dict[str, str] = {
    "violence_weapons": "I can help with conflict de-escalation, personal safety, how to report a threat, or "
                        "the history and law around the topic.",
    "cyber_harm": "I can help you secure your own systems and accounts, explain how such attacks work at a high "
                  "level so you can defend against them, or set up an authorised test environment.",
    "self_harm": "If you are thinking about hurting yourself, please contact a local crisis line or emergency "
                 "services now (for example 988 in the US, 116 123 Samaritans in the UK). I'm glad to talk "
                 "about what you're going through or help you find support.",
    "hate_harassment": "I can help you write something firm and respectful, or explain the facts and history "
                       "behind the topic.",
    "sexual_minors": "If a child may be at risk, please contact local authorities or a child-protection hotline.",
    "illegal_goods": "I can explain the legal options, the relevant laws and penalties, or where to get "
                     "legitimate help.",
    "privacy": "I can help you find public, official contact channels or explain how to request data through "
               "legal means.",
    "secrets": "I can explain how to store, rotate and request credentials securely through the proper owner.",
}
_WHAT: dict[str, str] = {
    "violence_weapons": "hurt people or make weapons",
    "cyber_harm": "break into or attack systems or accounts that aren't yours",
    "self_harm": "self-harm",
    "hate_harassment": "demean or harass people",
    "sexual_minors": "anything sexualising minors",
    "illegal_goods": "commit crimes or obtain illegal goods",
    "privacy": "expose private information about a person",
    "secrets": "expose credentials or secrets",
}

_REVISE_PROMPT = """Your previous answer to the request below was reviewed by a safety reviewer.
Feedback: {feedback}

Write an improved answer that follows the feedback. Answer the request directly if it is benign; decline only
the harmful part, briefly and precisely, and offer a safe alternative. Reply with the answer only.

REQUEST:
{request}

PREVIOUS ANSWER:
{response}"""


def decline_text(category: str | None, request: str = "") -> str:
    """A precise decline: says what it won't do and offers what it can, instead of a blanket refusal."""
    cat = category or "violence_weapons"
    what = _WHAT.get(cat, "cause harm")
    return f"I can't help with this request because it would help {what}. {_ALTERNATIVES.get(cat, '')}".strip()


@dataclass
class Proposal:
    method: Method
    text: str
    result: AgentResult | None = None
    """Set for ``rerun``: the agent's whole new result (data, artifacts), not just its text."""
    notes: list[str] = field(default_factory=list)


class ConversationAgent:
    """Yields candidate revisions for a flagged verdict, in the order they should be tried."""

    def __init__(self, *, llm_timeout_s: float = 60.0, rerun_timeout_s: float = 300.0) -> None:
        self.llm_timeout_s = llm_timeout_s
        self.rerun_timeout_s = rerun_timeout_s

    async def proposals(self, request: str, response: str, verdict: Verdict, *, rerun: RerunFn | None = None,
                        llm: BaseChatModel | None = None, allow_decline: bool = True) -> AsyncGenerator[Proposal, None]:
        """Candidate revisions, best-first. Failures of one method are logged and skipped, never raised."""
        if verdict.findings:
            yield Proposal("redact", redact(response, verdict.findings))
        feedback = verdict.feedback
        if verdict.kind == "over_refusal" or (verdict.kind == "unsafe_response" and not verdict.findings):
            if llm is not None:
                text = await self._llm(llm, request, response, feedback)
                if text:
                    yield Proposal("llm", text)
            if rerun is not None and verdict.kind == "over_refusal":
                result = await self._rerun(rerun, feedback)
                if result is not None:
                    yield Proposal("rerun", result.text, result=result)
            if verdict.kind == "unsafe_response" and allow_decline:
                yield Proposal("decline", decline_text(verdict.category, request))

    async def _llm(self, llm: BaseChatModel, request: str, response: str, feedback: str) -> str | None:
        from langchain_core.messages import HumanMessage

        prompt = _REVISE_PROMPT.format(feedback=feedback, request=request[:4000], response=response[:6000])
        try:
            reply = await asyncio.wait_for(llm.ainvoke([HumanMessage(content=prompt)]), self.llm_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a failed regeneration just means: try the next method
            log.warning("LLM revision failed: %s", exc)
            return None
        text = reply.content if isinstance(reply.content, str) else ""
        return text.strip() or None

    async def _rerun(self, rerun: RerunFn, feedback: str) -> AgentResult | None:
        try:
            result = await asyncio.wait_for(rerun(feedback), self.rerun_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a failed re-run leaves the original response in place
            log.warning("re-run with safety feedback failed: %s", exc)
            return None
        if not isinstance(result, AgentResult) or result.status != "ok":
            return None
        return result
