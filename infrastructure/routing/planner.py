"""HTDAG planner: a request becomes a DAG of subtasks with real dependencies and the inputs each needs.

Without an LLM the decomposition is deterministic (see ``decompose``): list items, sentences, sequencing
words and conjunctions of distinct actions; adjacent conjunction-split actions that the same card would
handle are merged back (one agent call instead of two); later actions that refer to earlier results depend
on them. With an LLM the plan is asked for as JSON against a schema, repaired locally (dangling
dependencies, unknown agents or inputs), re-asked once with the errors, and otherwise replaced by the
deterministic plan — the explanation says which happened.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..contracts import AgentCard, Plan, Subtask, Task, TaskInput
from ..embeddings import Embedder
from ..errors import GenesisError, PlanError
from .capability import Calibration, index_for
from .decompose import Segment, link, segment
from .limits import PlanLimits, limit_violations
from .llm_json import extract_json, reply_text, schema_errors
from .text import content_terms

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel


def plan_schema(limits: PlanLimits) -> dict[str, Any]:
    """The JSON schema an LLM plan must satisfy."""
    return {
        "type": "object",
        "required": ["subtasks"],
        "additionalProperties": False,
        "properties": {
            "explanation": {"type": "string"},
            "subtasks": {
                "type": "array", "minItems": 1, "maxItems": limits.max_subtasks,
                "items": {
                    "type": "object", "required": ["id", "text"], "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,32}$"},
                        "text": {"type": "string", "minLength": 1},
                        "depends_on": {"type": "array", "items": {"type": "string"}},
                        "agent": {"type": ["string", "null"]},
                        "task_type": {"type": ["string", "null"]},
                        "inputs": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    }


class HTDAGPlanner:
    """Hierarchical task DAG planner (deterministic, optionally LLM-assisted).

    Args:
        limits: max subtasks / depth / fan-out (``PlanLimits``); or pass ``max_subtasks`` alone.
        merge_same_agent: merge adjacent conjunction-split actions whose best card is the same.
        max_replans: how many times one subtask may be replanned before ``replan`` gives up (None).
        llm_repair_rounds: how many times an invalid LLM plan is sent back with its errors.
    """

    name = "htdag"

    def __init__(self, *, limits: PlanLimits | None = None, max_subtasks: int | None = None,
                 merge_same_agent: bool = True, max_replans: int = 2, llm_repair_rounds: int = 1,
                 embedder: Embedder | None = None, calibration: Calibration | None = None) -> None:
        self.limits = limits or PlanLimits()
        if max_subtasks is not None:
            self.limits = self.limits.model_copy(update={"max_subtasks": max_subtasks})
        self.merge_same_agent = merge_same_agent
        self.max_replans = max_replans
        self.llm_repair_rounds = llm_repair_rounds
        self._embedder = embedder
        self._calibration = calibration

    # ------------------------------------------------------------------ public API

    async def plan(self, task: Task, cards: Sequence[AgentCard], *, llm: BaseChatModel | None = None) -> Plan:
        if task.agent:
            sub = Subtask(id="s1", text=task.text, task_type=task.task_type, agent=task.agent,
                          inputs=list(task.inputs), params=dict(task.params))
            return Plan(task_id=task.id, subtasks=[sub], planner=self.name,
                        explanation=f"pinned to {task.agent!r}: not decomposed")
        if llm is not None:
            plan, why = await self._llm_plan(task, cards, llm)
            if plan is not None:
                return plan
            fallback = await asyncio.to_thread(self._deterministic, task, cards)
            fallback.explanation = f"LLM plan rejected ({why}); deterministic plan: {fallback.explanation}"
            return fallback
        return await asyncio.to_thread(self._deterministic, task, cards)

    async def replan(self, plan: Plan, failed_subtask_id: str, error: BaseException | dict[str, Any] | str,
                     cards: Sequence[AgentCard], llm: BaseChatModel | None = None) -> Plan | None:
        """A new plan after ``failed_subtask_id`` failed, or None when there is nothing sensible left to try.

        The failed subtask is replaced by a retry (new id ``<id>-r<n>``) that excludes the agent that failed
        (``metadata.exclude_agents``, honoured by ``HaloRouter``); with an LLM it may instead be rewritten into
        one or more new subtasks. Subtasks that depended on it now depend on the replacement; every other
        subtask keeps its id, so finished results stay valid. None after ``max_replans`` attempts or when no
        remaining card can handle the work.
        """
        by_id = plan.by_id()
        if failed_subtask_id not in by_id:
            raise PlanError(f"subtask {failed_subtask_id!r} is not in the plan", field="failed_subtask_id")
        failed = by_id[failed_subtask_id]
        attempt = int(failed.metadata.get("attempt", 0)) + 1
        if attempt > self.max_replans:
            return None
        agent = _failed_agent(error) or failed.agent or failed.metadata.get("routed_agent")
        excluded = sorted(set(failed.metadata.get("exclude_agents") or []) | ({agent} if agent else set()))
        remaining = [c for c in cards if c.name not in excluded]
        message = _error_text(error)
        replacements: list[Subtask] | None = None
        how = ""
        if llm is not None and remaining:
            replacements, how = await self._llm_replacements(plan, failed, message, remaining, llm, attempt)
        if replacements is None:
            if not remaining:
                return None
            scored = index_for(remaining, embedder=self._emb(), calibration=self._cal()).score(failed.text)
            best = scored[0]
            if self._cal().acceptance([s.probability for s in scored]) < self._cal().threshold:
                return None
            meta = {**failed.metadata, "attempt": attempt, "exclude_agents": excluded, "replan_of": failed.id,
                    "last_error": message[:300]}
            meta.pop("routed_agent", None)
            replacements = [failed.model_copy(update={
                "id": f"{_base_id(failed.id)}-r{attempt}",
                "agent": None if failed.agent in excluded else failed.agent, "metadata": meta})]
            how = (f"retry without {', '.join(excluded)}" if excluded else "retry") + (
                f"; best remaining card {best.agent!r} at {best.probability:.2f}")
        new_ids = [r.id for r in replacements]
        subtasks: list[Subtask] = []
        for s in plan.subtasks:
            if s.id == failed.id:
                subtasks.extend(replacements)
                continue
            if failed.id in s.depends_on:
                deps = [d for d in s.depends_on if d != failed.id] + new_ids
                s = s.model_copy(update={"depends_on": list(dict.fromkeys(deps))})
            subtasks.append(s)
        new_plan = Plan(task_id=plan.task_id, subtasks=subtasks, planner=plan.planner,
                        explanation=f"replanned {failed.id} after failure ({message[:120]}): {how}")
        new_plan.order()
        return new_plan

    # ------------------------------------------------------------------ deterministic

    def _emb(self) -> Embedder:
        if self._embedder is None:
            from ..embeddings import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def _cal(self) -> Calibration:
        if self._calibration is None:
            self._calibration = Calibration.load()
        return self._calibration

    def _best_cards(self, texts: list[str], cards: Sequence[AgentCard]) -> list[tuple[str | None, float]]:
        """Best card (or None when below the acceptance threshold) for each text."""
        if not cards:
            return [(None, 0.0) for _ in texts]
        idx = index_for(cards, embedder=self._emb(), calibration=self._cal())
        vecs = self._emb().embed(texts)
        out = []
        for text, vec in zip(texts, vecs):
            scored = idx.score(text, vector=vec)
            top = scored[0]
            accepted = self._cal().acceptance([s.probability for s in scored]) >= self._cal().threshold
            out.append((top.agent if accepted else None, top.probability))
        return out

    def _deterministic(self, task: Task, cards: Sequence[AgentCard]) -> Plan:
        segs = segment(task.text)
        notes: list[str] = []
        best: list[tuple[str | None, float]] = (
            self._best_cards([s.text for s in segs], cards) if len(segs) > 1 else [(None, 0.0)] * len(segs))
        if self.merge_same_agent and len(segs) > 1:
            segs, best, merged = _merge_same_agent(segs, best)
            if merged:
                notes.append(f"merged {merged} action(s) that the same agent handles")
        segs = _dedupe(segs, best, notes)
        segs = link(segs)
        segs, best = self._fit_limits(segs, best, notes)
        subtasks = []
        for i, seg in enumerate(segs):
            subtasks.append(Subtask(
                id=f"s{i + 1}", text=seg.text,
                task_type=task.task_type if len(segs) == 1 else None,
                depends_on=[f"s{d + 1}" for d in seg.depends_on],
                params=dict(task.params) if len(segs) == 1 else {},
                metadata={"planner_hint": best[i][0]} if best[i][0] else {},
            ))
        subtasks = assign_inputs(subtasks, task.inputs, cards, [b[0] for b in best])
        deps = "; ".join(f"s{i + 1} depends on {', '.join(f's{d + 1}' for d in seg.depends_on)} ({seg.reason})"
                         for i, seg in enumerate(segs) if seg.depends_on)
        explanation = (f"{len(subtasks)} subtask(s)" + (f"; {deps}" if deps else "")
                       + (f"; {'; '.join(notes)}" if notes else ""))
        plan = Plan(task_id=task.id, subtasks=subtasks, planner=self.name, explanation=explanation)
        plan.order()
        return plan

    def _fit_limits(self, segs: list[Segment], best: list[tuple[str | None, float]], notes: list[str]
                    ) -> tuple[list[Segment], list[tuple[str | None, float]]]:
        """Merge trailing segments until subtask count, depth and fan-out fit the limits."""
        merged = 0
        while len(segs) > 1:
            probe = Plan(task_id="probe", subtasks=[Subtask(id=f"s{i + 1}", text=s.text,
                                                            depends_on=[f"s{d + 1}" for d in s.depends_on])
                                                    for i, s in enumerate(segs)])
            if not limit_violations(probe, self.limits):
                break
            last = segs.pop()
            best.pop()
            segs[-1].text = f"{segs[-1].text}; then {last.text[:1].lower()}{last.text[1:]}"
            merged += 1
        if merged:
            notes.append(f"merged the last {merged + 1} actions to stay within the plan limits "
                         f"(max_subtasks={self.limits.max_subtasks}, max_depth={self.limits.max_depth}, "
                         f"max_fanout={self.limits.max_fanout})")
        return segs, best

    # ------------------------------------------------------------------ LLM

    def _llm_prompt(self, task: Task, cards: Sequence[AgentCard]) -> str:
        agents = "\n".join(f"- {c.name}: {c.description} (skills: "
                           + "; ".join(f"{s.id}" + (f" accepts {', '.join(s.input_types)}" if s.input_types else "")
                                       for s in c.skills) + ")" for c in cards)
        inputs = ", ".join(i.name for i in task.inputs) or "none"
        return (
            "Split the request into the smallest set of subtasks, each handled by one agent. A subtask that "
            "needs another's result lists it in depends_on. Give each input file to the subtasks that need it.\n"
            f"Agents:\n{agents}\nInput files: {inputs}\n"
            f"Limits: at most {self.limits.max_subtasks} subtasks, dependency depth {self.limits.max_depth}.\n"
            f"JSON schema: {json.dumps(plan_schema(self.limits))}\n"
            f"Request: {task.text}\nAnswer with JSON only."
        )

    async def _ask(self, llm: BaseChatModel, prompt: str) -> str:
        from langchain_core.messages import HumanMessage, SystemMessage

        reply = await llm.ainvoke([SystemMessage(content="You plan work for a team of agents. Reply with JSON."),
                                   HumanMessage(content=prompt)])
        return reply_text(reply)

    async def _llm_plan(self, task: Task, cards: Sequence[AgentCard], llm: BaseChatModel
                        ) -> tuple[Plan | None, str]:
        prompt = self._llm_prompt(task, cards)
        why = ""
        for round_ in range(self.llm_repair_rounds + 1):
            try:
                text = await self._ask(llm, prompt)
            except GenesisError as exc:
                return None, f"LLM call failed: {exc}"
            except Exception as exc:  # noqa: BLE001 - provider errors must not break planning
                return None, f"LLM call failed: {type(exc).__name__}: {str(exc)[:160]}"
            plan, errors, repairs = self._parse_llm_plan(text, task, cards)
            if plan is not None:
                plan.explanation = (plan.explanation or "LLM plan") + (
                    f" (repaired: {'; '.join(repairs)})" if repairs else "") + (
                    f" (after {round_} repair round(s))" if round_ else "")
                return plan, ""
            why = "; ".join(errors)[:400]
            prompt = (f"{self._llm_prompt(task, cards)}\nYour previous answer was invalid: {why}\n"
                      "Return a corrected JSON plan only.")
        return None, why

    def _parse_llm_plan(self, text: str, task: Task, cards: Sequence[AgentCard]
                        ) -> tuple[Plan | None, list[str], list[str]]:
        """(plan, errors, repairs): validate against the schema, repair what is safe, reject the rest."""
        try:
            value = extract_json(text)
        except ValueError as exc:
            return None, [str(exc)], []
        errors = schema_errors(value, plan_schema(self.limits))
        if errors:
            return None, errors, []
        repairs: list[str] = []
        names = {c.name for c in cards}
        inputs_by_name = {i.name: i for i in task.inputs}
        raw = value["subtasks"]
        ids: list[str] = []
        for item in raw:
            sid = item["id"]
            while sid in ids:
                sid = f"{sid}_"
                repairs.append(f"renamed duplicate id {item['id']!r}")
            ids.append(sid)
        known = set(ids)
        subtasks: list[Subtask] = []
        hints: list[str | None] = []
        for sid, item in zip(ids, raw):
            deps = []
            for d in item.get("depends_on", []):
                if d == sid or d not in known:
                    repairs.append(f"dropped dependency {d!r} of {sid!r}")
                else:
                    deps.append(d)
            agent = item.get("agent")
            if agent is not None and agent not in names:
                repairs.append(f"dropped unknown agent {agent!r} of {sid!r} (left to the router)")
                agent = None
            chosen = []
            for name in item.get("inputs", []):
                if name in inputs_by_name:
                    chosen.append(inputs_by_name[name])
                else:
                    repairs.append(f"dropped unknown input {name!r} of {sid!r}")
            subtasks.append(Subtask(id=sid, text=item["text"].strip(), task_type=item.get("task_type"),
                                    depends_on=list(dict.fromkeys(deps)), inputs=chosen, agent=agent,
                                    metadata={"agent_suggested_by": "llm"} if agent else {}))
            hints.append(agent)
        plan = Plan(task_id=task.id, subtasks=subtasks, planner=f"{self.name}+llm",
                    explanation=str(value.get("explanation", "")).strip())
        try:
            problems = limit_violations(plan, self.limits)
        except PlanError as exc:
            return None, [exc.message], repairs
        if problems:
            return None, problems, repairs
        if task.inputs and not any(s.inputs for s in plan.subtasks):
            plan.subtasks = assign_inputs(plan.subtasks, task.inputs, cards, hints)
            repairs.append("assigned the inputs the plan left out")
        # an agent the LLM suggested is a hint for the router, not a pin: routing still explains itself
        for s in plan.subtasks:
            if s.agent:
                s.metadata["planner_hint"] = s.agent
                s.agent = None
        return plan, [], repairs

    async def _llm_replacements(self, plan: Plan, failed: Subtask, message: str, cards: Sequence[AgentCard],
                                llm: BaseChatModel, attempt: int) -> tuple[list[Subtask] | None, str]:
        """Ask the LLM to rewrite the failed subtask into replacement subtasks (or None)."""
        sub_task = Task(text=f"{failed.text}\n(The previous attempt failed: {message[:300]}. "
                             "Rewrite this step so that the listed agents can do it.)", inputs=failed.inputs)
        try:
            text = await self._ask(llm, self._llm_prompt(sub_task, cards))
        except Exception:  # noqa: BLE001 - the deterministic retry takes over
            return None, ""
        new, _errors, _ = self._parse_llm_plan(text, sub_task, cards)
        if new is None:
            return None, ""
        prefix = f"{_base_id(failed.id)}-r{attempt}"
        mapping = {s.id: f"{prefix}.{n + 1}" if len(new.subtasks) > 1 else prefix
                   for n, s in enumerate(new.subtasks)}
        out = []
        for s in new.subtasks:
            deps = [mapping[d] for d in s.depends_on] or list(failed.depends_on)
            out.append(s.model_copy(update={
                "id": mapping[s.id], "depends_on": deps, "inputs": s.inputs or failed.inputs,
                "metadata": {**s.metadata, "attempt": attempt, "replan_of": failed.id,
                             "exclude_agents": failed.metadata.get("exclude_agents", [])}}))
        return out, f"LLM rewrote it into {len(out)} subtask(s)"


# ---------------------------------------------------------------------------------------------- helpers


def _merge_same_agent(segs: list[Segment], best: list[tuple[str | None, float]]
                      ) -> tuple[list[Segment], list[tuple[str | None, float]], int]:
    out, out_best, merged = [segs[0]], [best[0]], 0
    for seg, b in zip(segs[1:], best[1:]):
        prev_agent = out_best[-1][0]
        if (b[0] is not None and b[0] == prev_agent and not seg.sequenced and not seg.from_list):
            out[-1].text = f"{out[-1].text} and {seg.text[:1].lower()}{seg.text[1:]}"
            merged += 1
            continue
        out.append(seg)
        out_best.append(b)
    return out, out_best, merged


def _dedupe(segs: list[Segment], best: list[tuple[str | None, float]], notes: list[str]) -> list[Segment]:
    seen: list[set[str]] = []
    out = []
    dropped = 0
    for seg, b in zip(list(segs), list(best)):
        terms = set(content_terms(seg.text))
        if any(terms and (len(terms & s) / len(terms | s)) >= 0.8 for s in seen):
            dropped += 1
            best.remove(b)
            continue
        seen.append(terms)
        out.append(seg)
    if dropped:
        notes.append(f"dropped {dropped} near-duplicate action(s)")
    return out


def assign_inputs(subtasks: list[Subtask], inputs: Sequence[TaskInput], cards: Sequence[AgentCard],
                  hints: Sequence[str | None]) -> list[Subtask]:
    """Give every task input to the subtasks that need it.

    1. a subtask whose text names the input (file name or stem) gets it;
    2. otherwise the subtasks whose likely agent explicitly accepts its type get it;
    3. otherwise the root subtasks (no dependencies) get it — downstream subtasks receive their upstream
       results instead.
    """
    if not inputs:
        return subtasks
    by_name = {c.name: c for c in cards}
    given: dict[str, list[TaskInput]] = {s.id: list(s.inputs) for s in subtasks}
    for inp in inputs:
        stem = inp.name.rsplit(".", 1)[0].lower()
        named = [s for s in subtasks if inp.name.lower() in s.text.lower()
                 or (len(stem) >= 3 and stem in s.text.lower())]
        targets = named
        if not targets and inp.suffix:
            targets = [s for s, h in zip(subtasks, hints)
                       if h in by_name and any(inp.suffix in {t.lower() for t in sk.input_types}
                                               for sk in by_name[h].skills)]
        if not targets:
            targets = [s for s in subtasks if not s.depends_on] or subtasks[:1]
        for s in targets:
            if all(x is not inp for x in given[s.id]):
                given[s.id].append(inp)
    return [s.model_copy(update={"inputs": given[s.id]}) for s in subtasks]


_RETRY_SUFFIX = re.compile(r"-r\d+(?:\.\d+)?$")


def _base_id(subtask_id: str) -> str:
    """The original id of a (possibly already replanned) subtask: 's1-r2' -> 's1'."""
    return _RETRY_SUFFIX.sub("", subtask_id)


def _failed_agent(error: BaseException | dict[str, Any] | str) -> str | None:
    if isinstance(error, BaseException):
        agent = getattr(error, "agent", None) or getattr(error, "details", {}).get("agent")
        return agent if isinstance(agent, str) else None
    if isinstance(error, dict):
        details = error.get("details") or {}
        agent = error.get("agent") or (details.get("agent") if isinstance(details, dict) else None)
        return agent if isinstance(agent, str) else None
    return None


def _error_text(error: BaseException | dict[str, Any] | str) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error) or type(error).__name__
