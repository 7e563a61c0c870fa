"""LLM-as-judge: a configured chat model grades an answer against a rubric and returns a 0..1 score.

Without a judge model a rubric check is *skipped with a reason*, never passed: a suite cannot go green
on checks that nobody evaluated.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .results import CheckResult

NO_JUDGE_REASON = "no judge model configured (pass judge= to EvalRunner or --judge on the CLI)"

SYSTEM_PROMPT = (
    "You are a strict evaluator. Grade the ANSWER to the TASK against the RUBRIC. "
    'Reply with one JSON object only: {"score": <number from 0 to 1>, "reason": "<one sentence>"}.'
)


def judge_skipped(min_score: float) -> CheckResult:
    return CheckResult(kind="judge", name="judge", status="skipped", expected=f">= {min_score}",
                       message=NO_JUDGE_REASON)


def parse_verdict(reply: str) -> tuple[float, str]:
    """Extract (score, reason) from a judge reply: a JSON object, or 'score: 0.8' as a fallback.

    Scores above 1 on a 0..10 or 0..100 scale are normalised. Raises ``ValueError`` if there is no score.
    """
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    if match:
        try:
            obj = json.loads(match.group(0))
            if isinstance(obj, dict) and "score" in obj:
                return _normalise(float(obj["score"])), str(obj.get("reason", ""))
        except (json.JSONDecodeError, TypeError, ValueError):
            pass
    m = re.search(r"score\s*[:=]\s*([0-9]*\.?[0-9]+)", reply, re.IGNORECASE)
    if m:
        return _normalise(float(m.group(1))), reply.strip()[:300]
    raise ValueError(f"judge reply has no score: {reply[:200]!r}")


def _normalise(score: float) -> float:
    if score > 1.0:
        score = score / 10.0 if score <= 10.0 else score / 100.0
    return max(0.0, min(1.0, score))


async def run_judge(llm: Any, *, rubric: str, task_text: str, answer: str, min_score: float) -> CheckResult:
    """Ask ``llm`` (a LangChain chat model) for a score; failed below ``min_score``, error if unparseable."""
    from langchain_core.messages import HumanMessage, SystemMessage

    prompt = f"TASK:\n{task_text}\n\nRUBRIC:\n{rubric}\n\nANSWER:\n{answer}"
    try:
        reply = await llm.ainvoke([SystemMessage(content=SYSTEM_PROMPT), HumanMessage(content=prompt)])
        text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        score, reason = parse_verdict(text)
    except Exception as exc:  # noqa: BLE001 - a broken judge is an error of the check, not a pass or a crash of the run
        return CheckResult(kind="judge", name="judge", status="error", expected=f">= {min_score}",
                           message=f"judge failed: {type(exc).__name__}: {exc}")
    status = "passed" if score >= min_score else "failed"
    return CheckResult(kind="judge", name="judge", status=status, expected=f">= {min_score}", actual=score,
                       message=reason if status == "passed" else f"score {score:.2f} < {min_score}: {reason}",
                       score=score)
