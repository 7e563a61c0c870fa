"""HALO router: explicit pins → declarative rules → task type → calibrated capability match → cost/health.

Every decision says which rule or signal decided, lists the scored alternatives and explains itself in
one sentence. When no card is a good match the subtask is left *unassigned* (or sent to the configured
fallback agent) — never silently to the nearest agent.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contracts import AgentCard, Candidate, Plan, RoutingDecision, Subtask, Task
from ..embeddings import Embedder
from ..errors import BadInputError, UnknownAgentError
from .capability import Calibration, CardScore, index_for
from .cost import TIER_PRICE_USD, cheapest_adequate, estimate_difficulty
from .health import HealthTracker
from .lexicon import Lexicon
from .llm_json import extract_json, reply_text, schema_errors
from .rules import RuleSet, RulesSource, load_rules
from .text import has_content, truncate

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.yaml")

_LLM_CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["agent"],
    "properties": {"agent": {"type": ["string", "null"]}, "reason": {"type": "string"}},
}


class HaloRouter:
    """Routes subtasks against any set of ``AgentCard``s (built-in, plugin, remote).

    Args:
        rules: a rules file path, ``RuleSet`` or ``RulesSource`` (hot-reloaded); None for no rules.
        fallback_agent: where out-of-scope subtasks go instead of being left unassigned.
        calibration: the capability model (defaults to the one fitted by ``benchmarks/routing/tune.py``).
        threshold: override the calibrated acceptance probability (higher = rejects more).
        max_text_chars: requests longer than this are truncated for scoring (the decision says so).
        tie_margin: candidates within this probability of the best are "equally adequate" and the
            cost-aware choice picks among them.
        ambiguity_margin: when an LLM is given and the best two are this close (or the best is this close
            to the threshold), the LLM arbitrates between the top candidates.
    """

    name = "halo"

    def __init__(self, rules: str | Path | RuleSet | RulesSource | None = None, *,
                 fallback_agent: str | None = None, calibration: Calibration | None = None,
                 embedder: Embedder | None = None, threshold: float | None = None,
                 max_text_chars: int = 1000, tie_margin: float = 0.05, ambiguity_margin: float = 0.12,
                 health: HealthTracker | None = None, llm_top_k: int = 3,
                 glossary: Lexicon | str | Path | Sequence[str | Path] | None = None) -> None:
        if max_text_chars < 16:
            raise BadInputError("max_text_chars must be at least 16", field="max_text_chars")
        self.rules = load_rules(rules)
        self.fallback_agent = fallback_agent
        self.calibration = calibration or Calibration.load()
        if threshold is not None:
            if not 0.0 <= threshold <= 1.0:
                raise BadInputError(f"threshold must be in [0, 1], got {threshold}", field="threshold")
            self.calibration = self.calibration.model_copy(update={"threshold": threshold})
        self._embedder = embedder
        self.max_text_chars = max_text_chars
        self.tie_margin = tie_margin
        self.ambiguity_margin = ambiguity_margin
        self.health = health or HealthTracker()
        self.llm_top_k = llm_top_k
        # business jargon defined in plain words (``lexicon.py``): the shipped glossary, or it extended by
        # glossary files (an organisation's own terms), or a given ``Lexicon``
        if isinstance(glossary, (str, Path)):
            glossary = [glossary]
        self.lexicon = glossary if isinstance(glossary, Lexicon) else Lexicon.with_extra(list(glossary or []))

    # ------------------------------------------------------------------ outcomes / load

    def record_outcome(self, agent: str, *, success: bool, latency_ms: float) -> None:
        """Learn from a finished subtask: success rate, latency, circuit breaker, load."""
        self.health.record(agent, success=success, latency_ms=latency_ms)

    def mark_started(self, agent: str) -> None:
        """Count a dispatched subtask against ``agent``'s concurrency (pair with ``record_outcome``)."""
        self.health.mark_started(agent)

    # ------------------------------------------------------------------ routing

    def _rule_set(self) -> RuleSet | None:
        if isinstance(self.rules, RulesSource):
            return self.rules.current()
        return self.rules

    def _embedder_or_default(self) -> Embedder:
        if self._embedder is None:
            from ..embeddings import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    async def route(self, subtask: Subtask, task: Task, cards: Sequence[AgentCard], *,
                    llm: BaseChatModel | None = None) -> RoutingDecision:
        """Choose an agent for ``subtask``. Raises ``BadInputError`` for an empty card set and
        ``UnknownAgentError`` for pins, rules or a fallback naming unregistered agents."""
        start = time.perf_counter()
        if subtask.agent or task.agent:  # pinned: nothing to score, decided here without a thread hop
            decision = self._route_local(subtask, task, cards)
        else:  # embedding is CPU work (and the first call loads the model): keep it off the event loop
            decision = await asyncio.to_thread(self._route_local, subtask, task, cards)
        if isinstance(decision, _Ambiguous):
            decision = await self._arbitrate(decision, llm) if llm is not None else decision.local
        decision.latency_ms = round((time.perf_counter() - start) * 1000, 3)
        return decision

    def route_sync(self, subtask: Subtask, task: Task, cards: Sequence[AgentCard], *,
                   llm: BaseChatModel | None = None) -> RoutingDecision:
        """Blocking helper for scripts and the CLI."""
        return asyncio.run(self.route(subtask, task, cards, llm=llm))

    async def route_plan(self, plan: Plan, task: Task, cards: Sequence[AgentCard], *,
                         llm: BaseChatModel | None = None) -> list[RoutingDecision]:
        """Route every subtask of a plan, in plan order."""
        return [await self.route(s, task, cards, llm=llm) for s in plan.subtasks]

    def _route_local(self, subtask: Subtask, task: Task, cards: Sequence[AgentCard]
                     ) -> RoutingDecision | _Ambiguous:
        if not cards:
            raise BadInputError("no agent cards to route against", field="cards",
                                hint="register at least one agent")
        by_name = {c.name: c for c in cards}
        names = sorted(by_name)
        if self.fallback_agent and self.fallback_agent not in by_name:
            raise UnknownAgentError(self.fallback_agent, names, field="fallback_agent")
        sid = subtask.id

        pinned, where = (subtask.agent, "subtask") if subtask.agent else (task.agent, "task")
        if pinned:
            if pinned not in by_name:
                raise UnknownAgentError(pinned, names, field=f"{where}.agent")
            return RoutingDecision(subtask_id=sid, agent=pinned, score=1.0, decided_by="explicit",
                                   signal=f"{where}.agent",
                                   explanation=f"pinned to {pinned!r} by the {where}; routing skipped")

        excluded = set(subtask.metadata.get("exclude_agents") or [])
        pool = [c for c in cards if c.name not in excluded]
        unavailable = [c.name for c in pool if not self.health.available(c.name)]
        pool = [c for c in pool if c.name not in unavailable]
        notes = []
        if excluded:
            notes.append(f"excluded {', '.join(sorted(excluded))}")
        if unavailable:
            notes.append(f"circuit open for {', '.join(sorted(unavailable))}")

        text, truncated = truncate(subtask.text, self.max_text_chars)
        trunc_note = f" (request truncated to {len(text)} characters for scoring)" if truncated else ""
        if not has_content(text):
            return self._out_of_scope(sid, "the request has no content words to match (only stop-words, "
                                      "numbers or symbols)" + trunc_note, [], truncated, by_name, "no_content")
        if not pool:
            return self._out_of_scope(sid, "no agent is available (" + "; ".join(notes) + ")" + trunc_note, [],
                                      truncated, by_name, "no_available_agent")

        rules = self._rule_set()
        pool_names = [c.name for c in pool]
        if rules is not None:
            rules.applicable(list(by_name))  # unknown agents in rules are errors even if currently excluded
            hit = rules.first_match(subtask, task, pool_names)
            if hit is not None:
                rule, why = hit
                scores = self._scores(text, pool)
                return RoutingDecision(
                    subtask_id=sid, agent=rule.agent, score=1.0, decided_by="rule", signal=rule.id,
                    explanation=f"rule {rule.id!r} ({rules.source}:{rule.line}) matched: {why}"
                    + (f" — {rule.explanation}" if rule.explanation else "") + trunc_note,
                    alternatives=self._candidates(scores, by_name), truncated=truncated)

        task_type = subtask.task_type or task.task_type
        if task_type:
            serving = [c for c in pool if task_type in c.task_types]
            if len(serving) == 1:
                scores = self._scores(text, pool)
                return RoutingDecision(
                    subtask_id=sid, agent=serving[0].name, score=1.0, decided_by="task_type",
                    signal=f"task_type={task_type}",
                    explanation=f"task type {task_type!r} is served only by {serving[0].name!r}" + trunc_note,
                    alternatives=self._candidates(scores, by_name), truncated=truncated)
            if serving:
                pool = serving
                notes.append(f"task type {task_type!r} narrowed the choice to {', '.join(c.name for c in pool)}")

        scores = self._scores(text, pool)
        inputs = subtask.inputs
        adjusted: list[tuple[float, CardScore, str]] = []
        for s in scores:
            card = by_name[s.agent]
            p = s.probability
            note = []
            files = [i for i in inputs if i.suffix]
            if files and not any(card.accepts(i.suffix) or (i.media_type and card.accepts(i.media_type))
                                 for i in files):
                p *= 0.6
                note.append("does not accept the input types")
            h, hnote = self.health.factor(card.name, card.max_concurrency)
            p *= h
            if hnote:
                note.append(hnote)
            adjusted.append((p, s, "; ".join(note)))
        adjusted.sort(key=lambda t: t[0], reverse=True)
        candidates = [Candidate(agent=s.agent, score=round(p, 4), signals=_signals(s), note=n)
                      for p, s, n in adjusted]
        threshold = self.calibration.threshold
        best_p, best, _ = adjusted[0]
        second_p = adjusted[1][0] if len(adjusted) > 1 else 0.0
        # accepted on the best card's probability plus that of its near-ties (replicas of one job)
        accept_p = self.calibration.acceptance([p for p, _, _ in adjusted])
        group_note = f" (with near-ties {accept_p:.2f})" if accept_p > best_p + 5e-3 else ""
        extra = ("; " + "; ".join(notes)) if notes else ""

        if accept_p < threshold:
            reason = (f"no agent matches well enough: best was {best.agent!r} at {best_p:.2f}{group_note} "
                      f"(threshold {threshold:.2f}, {_why(best)}){extra}{trunc_note}")
            local = self._out_of_scope(sid, reason, candidates, truncated, by_name, "capability")
            ambiguous = accept_p >= threshold - self.ambiguity_margin
            return _Ambiguous(local, subtask, task, candidates, by_name) if ambiguous else local

        difficulty = estimate_difficulty(text, n_inputs=len(inputs))
        # equally adequate: within tie_margin of the best, and either above the threshold on its own or a
        # near-tie that the acceptance counted (a replica)
        floor = max(best_p - self.tie_margin, min(threshold, best_p * math.exp(-self.calibration.group_logit)))
        tied = [by_name[s.agent] for p, s, _ in adjusted if p >= floor * (1 - 1e-9)]
        chosen = cheapest_adequate(tied, difficulty) if len(tied) > 1 else by_name[best.agent]
        chosen_p, chosen_s = next((p, s) for p, s, _ in adjusted if s.agent == chosen.name)
        cost_note = ""
        if chosen.name != best.agent:
            cost_note = (f"; chose {chosen.name!r} ({chosen.cost_tier} tier, "
                         f"~${TIER_PRICE_USD[chosen.cost_tier]:.3f}) over {best.agent!r} "
                         f"({by_name[best.agent].cost_tier}) as the cheapest adequate agent for a "
                         f"{difficulty.level} task")
        runner_up = next((c for c in candidates if c.agent != chosen.name), None)
        explanation = (f"capability match {chosen.name!r} at {chosen_p:.2f}{group_note} ({_why(chosen_s)})"
                       + (f"; next {runner_up.agent!r} at {runner_up.score:.2f}" if runner_up else "")
                       + cost_note + extra + trunc_note)
        local = RoutingDecision(subtask_id=sid, agent=chosen.name, score=round(chosen_p, 4),
                                decided_by="capability", signal="capability+cost" if cost_note else "capability",
                                explanation=explanation, alternatives=candidates[:8], truncated=truncated)
        if best_p - second_p < self.ambiguity_margin or accept_p < threshold + self.ambiguity_margin:
            return _Ambiguous(local, subtask, task, candidates, by_name)
        return local

    def _scores(self, text: str, pool: Sequence[AgentCard]) -> list[CardScore]:
        return index_for(pool, embedder=self._embedder_or_default(), calibration=self.calibration,
                         lexicon=self.lexicon).score(text)

    def _candidates(self, scores: list[CardScore], by_name: dict[str, AgentCard]) -> list[Candidate]:
        return [Candidate(agent=s.agent, score=round(s.probability, 4), signals=_signals(s)) for s in scores][:8]

    def _out_of_scope(self, sid: str, reason: str, candidates: list[Candidate], truncated: bool,
                      by_name: dict[str, AgentCard], signal: str) -> RoutingDecision:
        if self.fallback_agent:
            return RoutingDecision(subtask_id=sid, agent=self.fallback_agent, score=0.0, decided_by="fallback",
                                   signal=signal, explanation=f"{reason}; sent to fallback agent "
                                   f"{self.fallback_agent!r}", alternatives=candidates[:8], truncated=truncated)
        return RoutingDecision(subtask_id=sid, agent=None, score=0.0, decided_by="unassigned", signal=signal,
                               explanation=f"out of scope: {reason}", alternatives=candidates[:8],
                               truncated=truncated)

    async def _arbitrate(self, amb: _Ambiguous, llm: BaseChatModel) -> RoutingDecision:
        """Ask the LLM to choose among the top candidates (or none). Any failure keeps the local decision."""
        from langchain_core.messages import HumanMessage, SystemMessage

        top = amb.candidates[: self.llm_top_k]
        lines = []
        for c in top:
            card = amb.by_name[c.agent]
            skills = "; ".join(f"{s.name}: {s.description}" for s in card.skills)
            lines.append(f"- {card.name}: {card.description} Skills: {skills}")
        prompt = ("Choose the agent that should handle the request, or null if none of them fits.\n"
                  "Agents:\n" + "\n".join(lines) + f"\n\nRequest: {amb.subtask.text[: self.max_text_chars]}\n"
                  'Answer with JSON only: {"agent": "<name or null>", "reason": "<one sentence>"}')
        local = amb.local
        try:
            reply = await llm.ainvoke([SystemMessage(content="You route requests to agents. Reply with JSON."),
                                       HumanMessage(content=prompt)])
            value = extract_json(reply_text(reply))
            errors = schema_errors(value, _LLM_CHOICE_SCHEMA)
            if errors:
                raise ValueError("; ".join(errors))
        except Exception as exc:  # noqa: BLE001 - the LLM is optional: it must never break routing
            local.explanation += f"; LLM arbitration failed ({type(exc).__name__}: {str(exc)[:120]})"
            return local
        agent, reason = value.get("agent"), str(value.get("reason", "")).strip()
        allowed = {c.agent for c in top}
        if agent is not None and agent not in allowed:
            local.explanation += f"; LLM named {agent!r}, not one of {', '.join(sorted(allowed))} — ignored"
            return local
        if agent is None:
            out = self._out_of_scope(local.subtask_id, f"the LLM judged none of {', '.join(sorted(allowed))} "
                                     f"suitable ({reason or 'no reason given'})", amb.candidates,
                                     local.truncated, amb.by_name, "llm")
            return out
        score = next(c.score for c in top if c.agent == agent)
        return RoutingDecision(subtask_id=local.subtask_id, agent=agent, score=score, decided_by="llm",
                               signal="llm", explanation=f"local signals were ambiguous; the LLM chose "
                               f"{agent!r}: {reason or 'no reason given'}", alternatives=amb.candidates[:8],
                               truncated=local.truncated)


class _Ambiguous:
    """A local decision that an LLM may overrule (only used when one is configured)."""

    def __init__(self, local: RoutingDecision, subtask: Subtask, task: Task, candidates: list[Candidate],
                 by_name: dict[str, AgentCard]) -> None:
        self.local = local
        self.subtask = subtask
        self.task = task
        self.candidates = candidates
        self.by_name = by_name


def _signals(s: CardScore) -> dict[str, float]:
    return {"probability": round(s.probability, 4), **{k: round(v, 4) for k, v in s.features.items()}}


def _why(s: CardScore) -> str:
    bits = [f"closest: {s.best_passage[:80]!r}" if s.best_passage else "", f"cos {s.features['cos_max']:.2f}"]
    if s.matched_terms:
        bits.append("keywords " + ", ".join(s.matched_terms[:5]))
    if s.glossary_terms and s.features.get("gloss_cos", 0.0) > 0:
        bits.append("jargon " + ", ".join(repr(t) for t in s.glossary_terms[:3]) + " fits it")
    return ", ".join(b for b in bits if b)
