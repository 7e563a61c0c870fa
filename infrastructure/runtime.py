"""The request path as one compiled LangGraph ``StateGraph``.

    plan -> route -> validate -> schedule -(Send per ready subtask)-> execute -> review -> remember -> schedule
                                        \\-> respond (when nothing is left)

Ready subtasks of a wave run in parallel (``Send``); a subtask whose dependencies did not succeed is
skipped with the reason. State holds only JSON-able dicts, so any LangGraph checkpointer (SQLite by
default) can persist it: a run whose process died resumes from its last checkpoint, and subtasks that had
finished (their writes are checkpointed as they complete) are not re-run.

Everything an agent does goes through ``_invoke``: concurrency limits, timeouts, cancellation, step and
budget limits, and safety review happen there, for routed subtasks and delegated tasks alike.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

from .contracts import (
    AgentCard,
    AgentContext,
    AgentResult,
    MemoryItem,
    Plan,
    PlannedEvent,
    ProgressEvent,
    ReviewedEvent,
    ReviewRequest,
    RoutedEvent,
    RoutingDecision,
    RunResult,
    SafetyVerdict,
    ScopedMemory,
    Span,
    Subtask,
    SubtaskFinishedEvent,
    SubtaskResult,
    SubtaskStartedEvent,
    Task,
    TaskInput,
    Usage,
    ValidationReport,
)
from .errors import (
    AgentFailedError,
    CancelledError,
    GenesisError,
    LimitExceededError,
    TaskTimeoutError,
)
from .loops import LoopLocal
from .tracing import span, usage_total

if TYPE_CHECKING:  # pragma: no cover
    from .facade import Genesis

log = logging.getLogger(__name__)


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class RunState(TypedDict, total=False):
    """Checkpointed state of one run. Values are JSON-able dumps of the contract models."""

    run_id: str
    task: dict[str, Any]
    plan: dict[str, Any] | None
    decisions: dict[str, dict[str, Any]]
    validation: dict[str, Any] | None
    raw: Annotated[dict[str, dict[str, Any]], _merge]
    results: Annotated[dict[str, dict[str, Any]], _merge]
    remembered: Annotated[list[str], operator.add]
    spans: Annotated[list[dict[str, Any]], operator.add]
    error: dict[str, Any] | None
    status: str
    text: str


@dataclass
class RunScope:
    """Per-run, in-process bookkeeping that is not checkpointed (recreated on resume)."""

    run_id: str
    task: Task
    max_steps: int
    steps: int = 0
    cost_usd: float = 0.0
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    running: set[asyncio.Task[Any]] = field(default_factory=set)
    listeners: list[Callable[[Any], None]] = field(default_factory=list)
    _plan: Plan | None = None

    def plan(self, state: RunState) -> Plan:
        """The run's plan, parsed once per process (the checkpoint holds it as a dict)."""
        if self._plan is None:
            self._plan = Plan.model_validate(state["plan"])
        return self._plan

    def take_step(self, agent: str) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise LimitExceededError(
                f"run would exceed {self.max_steps} agent invocations (next: {agent})",
                limit="max_total_steps", value=self.steps, maximum=self.max_steps,
            )
        budget = self.task.budget
        if budget and budget.max_cost_usd is not None and self.cost_usd > budget.max_cost_usd:
            raise LimitExceededError(
                f"run spent ${self.cost_usd:.4f}, over its budget of ${budget.max_cost_usd:.4f}",
                limit="max_cost_usd", value=self.cost_usd, maximum=budget.max_cost_usd, field="budget.max_cost_usd",
                hint="raise the task's budget",
            )


class RunContext(AgentContext):
    """The ``AgentContext`` the runtime hands to an agent for one invocation."""

    def __init__(self, runtime: Runtime, scope: RunScope, *, task: Task, agent_name: str, subtask_id: str,
                 upstream: dict[str, AgentResult], ancestors: tuple[str, ...], spans: list[Span],
                 parent_span: str | None) -> None:
        self._runtime = runtime
        self._scope = scope
        self.run_id = scope.run_id
        self.task = task
        self.agent_name = agent_name
        self.subtask_id = subtask_id
        self.upstream = upstream
        self.settings = runtime.settings
        self.ancestors = ancestors
        self.spans = spans
        self.parent_span = parent_span
        self.usage = Usage()
        self._tracker: Any = None
        self._llm: Any = None
        self._delegations = 0

    @property
    def memory(self) -> ScopedMemory:
        return ScopedMemory(self._runtime.host.memory, namespace=self.task.namespace, agent=self.agent_name,
                            run_id=self.run_id)

    @property
    def llm(self) -> Any:
        base = self._runtime.host.llm
        if base is None:
            return None
        if self._llm is None:
            from .llm import UsageTracker, with_rate_limit_retry

            self._tracker = UsageTracker()
            self._llm = with_rate_limit_retry(base.with_config(callbacks=[self._tracker]))
        return self._llm

    @property
    def artifact_dir(self) -> Path:
        safe = self.subtask_id.replace("/", "_").replace(":", "_")
        path = self._runtime.host.settings.data_dir / "artifacts" / self.run_id / safe
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve()

    @property
    def cancelled(self) -> bool:
        return self._scope.cancel.is_set()

    def add_usage(self, usage: Usage) -> None:
        self.usage = self.usage + usage

    def total_usage(self) -> Usage:
        return self.usage + (self._tracker.usage if self._tracker else Usage())

    def emit(self, message: str = "", *, progress: float | None = None, **data: Any) -> None:
        self._runtime.emit(self._scope, ProgressEvent(run_id=self.run_id, subtask_id=self.subtask_id,
                                                      agent=self.agent_name, message=message, progress=progress,
                                                      data=data))

    async def delegate(self, task: Task | str, *, agent: str | None = None, inputs: Sequence[TaskInput] = ()
                       ) -> AgentResult:
        self._delegations += 1
        return await self._runtime.delegate(self, task, agent=agent, inputs=inputs, seq=self._delegations)


class _Step(Protocol):
    """A graph step that names its successor (LangGraph calls nodes with ``state=`` by keyword)."""

    def __call__(self, state: RunState) -> Awaitable[Command[str]]: ...


class Runtime:
    """Builds and drives the graph for one ``Genesis`` host."""

    def __init__(self, host: Genesis) -> None:
        self.host = host
        self.settings = host.settings
        self._semaphores: LoopLocal[dict[str, asyncio.Semaphore]] = LoopLocal()
        self.scopes: dict[str, RunScope] = {}
        self.builder = self._build()

    # ------------------------------------------------------------------------------------ graph

    def _build(self) -> StateGraph:
        g = StateGraph(RunState)
        # Each step names the next one itself (``Command(goto=...)``): a conditional edge would make LangGraph
        # build a fresh view of the whole state after every step just to read one key.
        g.add_node("plan", self._then(self._plan, "route"), destinations=("route", "respond"))
        g.add_node("route", self._then(self._route, "validate"), destinations=("validate", "respond"))
        g.add_node("validate", self._then(self._validate, "schedule"), destinations=("schedule", "respond"))
        g.add_node("schedule", self._schedule_and_dispatch, destinations=("execute", "respond"))
        g.add_node("execute", self._execute)  # type: ignore[arg-type]  # fed by Send payloads, not RunState
        g.add_node("review", self._review)
        g.add_node("remember", self._remember)
        g.add_node("respond", self._respond)
        g.add_edge(START, "plan")
        g.add_edge("execute", "review")
        g.add_edge("review", "remember")
        g.add_edge("remember", "schedule")
        g.add_edge("respond", END)
        return g

    def compile(self, checkpointer: Any) -> Any:
        return self.builder.compile(checkpointer=checkpointer)

    @staticmethod
    def _then(node: Callable[[RunState], Awaitable[dict[str, Any]]], nxt: str) -> _Step:
        """``node``, then ``nxt`` — or straight to ``respond`` once the run has an error."""
        async def step(state: RunState) -> Command[str]:
            out = await node(state)
            return Command(update=out, goto="respond" if out.get("error") or state.get("error") else nxt)

        return step

    # ------------------------------------------------------------------------------------ nodes

    def scope(self, state: RunState) -> RunScope:
        run_id = state["run_id"]
        scope = self.scopes.get(run_id)
        if scope is None:  # resumed in a new process: recreate the in-process bookkeeping
            task = Task.model_validate(state["task"])
            scope = self.new_scope(run_id, task)
        return scope

    def new_scope(self, run_id: str, task: Task) -> RunScope:
        max_steps = self.settings.max_total_steps
        if task.budget and task.budget.max_steps:
            max_steps = min(max_steps, task.budget.max_steps)
        scope = RunScope(run_id=run_id, task=task, max_steps=max_steps)
        self.scopes[run_id] = scope
        return scope

    async def _plan(self, state: RunState) -> dict[str, Any]:
        scope = self.scope(state)
        task = scope.task
        spans: list[Span] = []
        try:
            with span("plan", spans, planner=self.host.planner.name) as sp:
                cards = self.host.cards()
                planner = self.host.pinned_planner if task.agent else self.host.planner
                plan = await planner.plan(task, cards, llm=self.host.llm)
                if len(plan.subtasks) > self.settings.max_subtasks:
                    raise LimitExceededError(
                        f"plan has {len(plan.subtasks)} subtasks, more than {self.settings.max_subtasks}",
                        limit="max_subtasks", value=len(plan.subtasks), maximum=self.settings.max_subtasks,
                    )
                plan.order()
                sp.attributes["subtasks"] = len(plan.subtasks)
        except GenesisError as exc:
            return {"error": exc.to_dict(), "spans": _dump(spans)}
        self.emit(scope, lambda: PlannedEvent(run_id=scope.run_id, plan=plan))
        return {"plan": plan.model_dump(mode="json"), "spans": _dump(spans)}

    async def _route(self, state: RunState) -> dict[str, Any]:
        scope = self.scope(state)
        plan = scope.plan(state)
        cards = self.host.cards()
        spans: list[Span] = []
        try:
            with span("route", spans, router=self.host.router.name):
                decisions = await asyncio.gather(
                    *(self.host.router.route(s, scope.task, cards, llm=self.host.llm) for s in plan.subtasks)
                )
        except GenesisError as exc:
            return {"error": exc.to_dict(), "spans": _dump(spans)}
        return {"decisions": {d.subtask_id: d.model_dump(mode="json") for d in decisions}, "spans": _dump(spans)}

    async def _validate(self, state: RunState) -> dict[str, Any]:
        scope = self.scope(state)
        plan = scope.plan(state)
        decisions = [RoutingDecision.model_validate(state["decisions"][s.id]) for s in plan.subtasks]
        spans: list[Span] = []
        try:
            with span("validate", spans, validator=self.host.validator.name):
                report = self.host.validator.validate(plan, decisions, self.host.cards(), scope.task)
        except GenesisError as exc:
            return {"error": exc.to_dict(), "spans": _dump(spans)}
        self.emit(scope, lambda: RoutedEvent(run_id=scope.run_id, decisions=decisions, validation=report))
        out: dict[str, Any] = {"validation": report.model_dump(mode="json"), "spans": _dump(spans)}
        # An unassigned subtask is settled by `schedule` (reported, its dependents skipped); every other
        # validation error stops the run before any agent is called.
        errors = [i for i in report.issues if i.severity == "error" and i.code != "unassigned"]
        if errors:
            out["error"] = {
                "code": "invalid_plan", "type": "PlanError",
                "message": "plan failed validation: " + "; ".join(
                    f"{i.subtask_id or 'plan'}: {i.message}" for i in errors),
            }
        return out

    async def _schedule(self, state: RunState) -> dict[str, Any]:
        """Replan around failures, then settle subtasks that can no longer run (unassigned, cancelled,
        failed dependency)."""
        scope = self.scope(state)
        out: dict[str, Any] = {}
        plan = await self._replan(scope, state, out)
        results = dict(state.get("results") or {})
        settled: dict[str, dict[str, Any]] = {}
        decisions = out.get("decisions") or state["decisions"]
        now = time.time()
        for sid in plan.order():
            if sid in results:
                continue
            sub = plan.by_id()[sid]
            decision = decisions[sid]
            reason: tuple[str, str, str] | None = None
            if scope.cancel.is_set():
                reason = ("cancelled", "cancelled", "run was cancelled before this subtask started")
            elif decision["agent"] is None:
                reason = ("unassigned", "unassigned", decision["explanation"])
            else:
                bad = [d for d in sub.depends_on if d in results and results[d]["status"] != "succeeded"]
                if bad:
                    reason = ("skipped", "dependency_failed",
                              f"dependency {bad[0]} {results[bad[0]]['status']}; not run")
            if reason:
                status, code, message = reason
                settled[sid] = SubtaskResult(subtask_id=sid, agent=decision["agent"], status=status,  # type: ignore[arg-type]
                                             error={"code": code, "message": message}, started_at=now,
                                             finished_at=now).model_dump(mode="json")
                results[sid] = settled[sid]
        if settled:
            out["results"] = settled
        return out

    async def _replan(self, scope: RunScope, state: RunState, out: dict[str, Any]) -> Plan:
        """Ask the planner for a replacement of each failed subtask (HTDAG ``replan``), routing the new ones.

        The failed attempt stays in the results (superseded); dependents are rewired to the replacement.
        Pinned tasks are never replanned: the caller chose the agent.
        """
        plan = scope.plan(state)
        replan = getattr(self.host.planner, "replan", None)
        if replan is None or not self.settings.replan_on_failure or scope.task.agent or scope.cancel.is_set():
            return plan
        results = state.get("results") or {}
        failed = [sid for sid in plan.order() if sid in results and results[sid]["status"] in ("failed", "timeout")]
        if not failed:
            return plan
        decisions = dict(state["decisions"])
        cards = self.host.cards()
        for sid in failed:
            err = dict(results[sid].get("error") or {})
            err["details"] = {**(err.get("details") or {}), "agent": results[sid].get("agent")}
            try:
                new_plan = await replan(plan, sid, err, cards, llm=self.host.llm)
            except GenesisError as exc:
                log.warning("run %s: replanning %s failed: %s", scope.run_id, sid, exc)
                continue
            if new_plan is None:
                continue
            known = plan.by_id()
            fresh = [s for s in new_plan.subtasks if s.id not in known]
            routed = await asyncio.gather(*(self.host.router.route(s, scope.task, cards, llm=self.host.llm)
                                            for s in fresh))
            decisions.update({d.subtask_id: d.model_dump(mode="json") for d in routed})
            plan = new_plan
        if plan is not scope._plan:
            plan.order()  # a replanned DAG must still be acyclic
            scope._plan = plan
            out["plan"] = plan.model_dump(mode="json")
            out["decisions"] = decisions
            self.emit(scope, lambda: PlannedEvent(run_id=scope.run_id, plan=plan))
        return plan

    async def _schedule_and_dispatch(self, state: RunState) -> Command[str]:
        """``schedule``, then one ``execute`` per subtask whose dependencies have succeeded (all at once), or
        ``respond`` when none is left."""
        out = await self._schedule(state)
        plan = self.scope(state).plan(state)  # the replanned DAG if ``schedule`` replaced it
        results = {**(state.get("results") or {}), **(out.get("results") or {})}
        decisions = out.get("decisions") or state["decisions"]
        ready = plan.ready({k for k, v in results.items() if v["status"] == "succeeded"}, set(results))
        if not ready:
            return Command(update=out, goto="respond")
        return Command(update=out, goto=[
            Send("execute", {
                "run_id": state["run_id"], "task": state["task"], "subtask": s.model_dump(mode="json"),
                "decision": decisions[s.id],
                "upstream": {d: results[d]["result"] for d in s.depends_on if results[d].get("result")},
            })
            for s in ready
        ])

    async def _execute(self, payload: dict[str, Any]) -> dict[str, Any]:
        scope = self.scope(payload)  # type: ignore[arg-type]
        sub = Subtask.model_validate(payload["subtask"])
        agent_name = payload["decision"]["agent"]
        task = self._subtask_task(scope, sub, agent_name)
        upstream = {k: AgentResult.model_validate(v) for k, v in (payload.get("upstream") or {}).items()}
        spans: list[Span] = []
        result = await self.invoke(scope, agent_name, task, subtask_id=sub.id, upstream=upstream, ancestors=(),
                                   spans=spans, parent_span=None)
        return {"raw": {sub.id: result.model_dump(mode="json")}, "spans": _dump(spans)}

    @staticmethod
    def _subtask_task(scope: RunScope, sub: Subtask, agent_name: str) -> Task:
        """The task an agent receives for one subtask (rebuilt, not stored: it derives from the plan)."""
        parent = scope.task
        return Task(
            id=f"{parent.id}/{sub.id}", text=sub.text, task_type=sub.task_type, agent=agent_name,
            inputs=sub.inputs, params={**parent.params, **sub.params}, namespace=parent.namespace,
            budget=parent.budget, timeout_s=parent.timeout_s, parent_id=parent.id, depth=parent.depth,
            metadata={**parent.metadata, **sub.metadata, "subtask_id": sub.id},
        )

    async def _review(self, state: RunState) -> dict[str, Any]:
        scope = self.scope(state)
        raw = state.get("raw") or {}
        done = state.get("results") or {}
        pending = [SubtaskResult.model_validate(v) for k, v in raw.items() if k not in done]
        spans: list[Span] = []
        subs = scope.plan(state).by_id()
        reviewed = await asyncio.gather(*(self._review_subtask(scope, subs[r.subtask_id], r, spans)
                                          for r in pending))
        for r in reviewed:
            self.emit(scope, lambda r=r: SubtaskFinishedEvent(run_id=scope.run_id, result=r))
        return {"results": {r.subtask_id: r.model_dump(mode="json") for r in reviewed}, "spans": _dump(spans)}

    async def _review_subtask(self, scope: RunScope, sub: Subtask, raw: SubtaskResult, spans: list[Span]
                              ) -> SubtaskResult:
        if raw.status != "succeeded" or raw.result is None or raw.agent is None:
            return raw
        task = self._subtask_task(scope, sub, raw.agent)
        reviewed = await self.review(scope, raw.agent, task, raw.result, subtask_id=raw.subtask_id, spans=spans,
                                     ancestors=())
        status = "blocked" if reviewed.safety and reviewed.safety.action == "blocked" else "succeeded"
        return raw.model_copy(update={"result": reviewed, "status": status})

    async def _remember(self, state: RunState) -> dict[str, Any]:
        scope = self.scope(state)
        results = state.get("results") or {}
        done = set(state.get("remembered") or [])
        new = [SubtaskResult.model_validate(v) for k, v in results.items() if k not in done]
        spans: list[Span] = []
        keep = [r for r in new if r.status == "succeeded" and r.result and r.result.text.strip()]
        if keep:
            with span("remember", spans, items=len(keep)) as sp:
                try:
                    for r in keep:
                        assert r.result is not None
                        await self.host.memory.remember(MemoryItem(
                            text=r.result.text[:4000], namespace=scope.task.namespace, kind="result",
                            source_agent=r.agent, run_id=scope.run_id, tags=["result"],
                            metadata={"subtask_id": r.subtask_id},
                            provenance={"run_id": scope.run_id, "task_id": scope.task.id, "subtask_id": r.subtask_id,
                                        "agent": r.agent},
                        ))
                except GenesisError as exc:  # memory down must not lose the run's results
                    sp.status = "error"
                    sp.attributes["error"] = str(exc)
                    log.warning("run %s: results not remembered: %s", scope.run_id, exc)
        return {"remembered": [r.subtask_id for r in new], "spans": _dump(spans)}

    async def _respond(self, state: RunState) -> dict[str, Any]:
        scope = self.scope(state)
        if state.get("error"):
            return {"status": "failed", "text": ""}
        plan = scope.plan(state)
        results = state.get("results") or {}
        ordered = [SubtaskResult.model_validate(results[sid]) for sid in plan.order() if sid in results]
        ok = [r for r in ordered if r.status == "succeeded"]
        if scope.cancel.is_set() and len(ok) < len(ordered):
            status = "cancelled"
        elif len(ok) == len(ordered):
            status = "succeeded"
        else:
            status = "partial" if ok else "failed"
        visible = [r for r in ordered if r.result is not None and r.status in ("succeeded", "blocked")]
        if len(visible) == 1:
            text = visible[0].result.text  # type: ignore[union-attr]
        else:
            subs = plan.by_id()
            text = "\n\n".join(f"[{r.agent}] {subs[r.subtask_id].text}\n{r.result.text}"  # type: ignore[union-attr]
                               for r in visible)
        return {"status": status, "text": text}

    # ------------------------------------------------------------------------------------ invoking agents

    def _semaphore(self, card: AgentCard) -> asyncio.Semaphore:
        sems = self._semaphores.get(dict)
        sem = sems.get(card.name)
        if sem is None:
            sem = sems[card.name] = asyncio.Semaphore(card.max_concurrency)
        return sem

    async def invoke(self, scope: RunScope, agent_name: str, task: Task, *, subtask_id: str,
                     upstream: dict[str, AgentResult], ancestors: tuple[str, ...], spans: list[Span],
                     parent_span: str | None) -> SubtaskResult:
        """Run one agent on one task with every limit applied. Never raises for agent faults."""
        started = time.time()

        def failed(status: str, exc: GenesisError) -> SubtaskResult:
            return SubtaskResult(subtask_id=subtask_id, agent=agent_name, status=status,  # type: ignore[arg-type]
                                 error=exc.to_dict(), started_at=started, finished_at=time.time())

        if scope.cancel.is_set():
            return failed("cancelled", CancelledError("run was cancelled before this subtask started"))
        try:
            agent = self.host.registry.get(agent_name)
            scope.take_step(agent_name)
        except GenesisError as exc:
            return failed("failed", exc)
        timeout = min(t for t in (task.timeout_s, self.settings.subtask_timeout_s) if t)
        ctx = RunContext(self, scope, task=task, agent_name=agent_name, subtask_id=subtask_id, upstream=upstream,
                         ancestors=ancestors, spans=spans, parent_span=None)
        with span(f"agent:{agent_name}", spans, parent=parent_span, subtask=subtask_id, depth=task.depth) as sp:
            ctx.parent_span = sp.span_id
            self.emit(scope, lambda: SubtaskStartedEvent(run_id=scope.run_id, subtask_id=subtask_id, agent=agent_name))
            outcome: SubtaskResult
            # A delegation back into an agent already on the call chain must not wait for its own slot.
            reentrant = agent_name in ancestors
            sem = None if reentrant else self._semaphore(agent.card)
            job: asyncio.Task[AgentResult] | None = None
            try:
                if sem:
                    await sem.acquire()
                try:
                    mark_started = getattr(self.host.router, "mark_started", None)
                    if mark_started is not None:  # load/health accounting, paired with record_outcome
                        mark_started(agent_name)
                    job = asyncio.ensure_future(agent.run(task, ctx))
                    scope.running.add(job)
                    async with asyncio.timeout(timeout):
                        result = await job
                finally:
                    if sem:
                        sem.release()
                if not isinstance(result, AgentResult):
                    raise AgentFailedError(agent_name, f"returned {type(result).__name__}, expected AgentResult")
                usage = result.usage + ctx.total_usage()
                scope.cost_usd += usage.cost_usd
                result = result.model_copy(update={"agent": agent_name, "usage": usage})
                sp.usage = usage
                if result.status == "failed":
                    outcome = SubtaskResult(subtask_id=subtask_id, agent=agent_name, status="failed", result=result,
                                            error={"code": "agent_failed", "type": "AgentFailedError",
                                                   "message": result.error or "agent reported failure"},
                                            started_at=started, finished_at=time.time())
                else:
                    outcome = SubtaskResult(subtask_id=subtask_id, agent=agent_name, status="succeeded",
                                            result=result, started_at=started, finished_at=time.time())
            except TimeoutError:
                if job:
                    job.cancel()
                outcome = failed("timeout", TaskTimeoutError(
                    f"agent {agent_name!r} did not finish within {timeout:g} s", field="timeout_s",
                    hint="raise the task's timeout_s or GENESIS_SUBTASK_TIMEOUT_S"))
            except asyncio.CancelledError:
                if job:
                    job.cancel()
                if not scope.cancel.is_set():
                    raise
                outcome = failed("cancelled", CancelledError("run was cancelled while the agent was working"))
            except CancelledError as exc:
                outcome = failed("cancelled", exc)
            except GenesisError as exc:
                outcome = failed("failed", exc)
            except Exception as exc:  # noqa: BLE001 - any agent fault becomes a failed subtask
                outcome = failed("failed", AgentFailedError(agent_name, f"{type(exc).__name__}: {exc}"))
            finally:
                if job:
                    scope.running.discard(job)
            sp.attributes["status"] = outcome.status
            if outcome.status != "succeeded":
                sp.status = "error"
        self.host.router.record_outcome(agent_name, success=outcome.status == "succeeded",
                                        latency_ms=(time.time() - started) * 1000)
        return outcome

    async def review(self, scope: RunScope, agent_name: str, task: Task, result: AgentResult, *, subtask_id: str,
                     spans: list[Span], ancestors: tuple[str, ...]) -> AgentResult:
        """Safety-review one response. Fails closed: a reviewer error blocks the response."""
        reviewer = self.host.safety
        agent = self.host.registry.get(agent_name) if agent_name in self.host.registry else None

        async def rerun(feedback: str) -> AgentResult:
            retry = task.model_copy(update={"text": f"{task.text}\n\n[safety feedback] {feedback}"})
            again = await self.invoke(scope, agent_name, retry, subtask_id=subtask_id, upstream={},
                                      ancestors=ancestors + (agent_name,), spans=spans, parent_span=None)
            if again.result is None:
                raise AgentFailedError(agent_name, (again.error or {}).get("message", again.status))
            return again.result

        request = ReviewRequest(task=task, result=result, agent=agent_name, run_id=scope.run_id, subtask_id=subtask_id,
                                remote=bool(agent and agent.card.url))
        with span("review", spans, reviewer=reviewer.name, subtask=subtask_id, agent=agent_name) as sp:
            try:
                reviewed = await reviewer.review(request, rerun=rerun if agent else None, llm=self.host.llm)
                if not isinstance(reviewed, AgentResult) or reviewed.safety is None:
                    raise AgentFailedError(reviewer.name, "reviewer returned a result without a verdict")
            except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
                log.error("safety reviewer failed on run %s/%s: %s", scope.run_id, subtask_id, exc)
                sp.status = "error"
                reviewed = result.model_copy(update={
                    "text": "This response was withheld because the safety review could not be completed.",
                    "data": {}, "artifacts": [],
                    "safety": SafetyVerdict(action="blocked", reviewer=reviewer.name, policy="fail_closed",
                                            reason=f"safety reviewer error: {type(exc).__name__}: {exc}",
                                            original_text=result.text),
                })
            assert reviewed.safety is not None
            sp.attributes["action"] = reviewed.safety.action
        self.emit(scope, lambda: ReviewedEvent(run_id=scope.run_id, subtask_id=subtask_id, verdict=reviewed.safety))
        return reviewed

    async def delegate(self, ctx: RunContext, task: Task | str, *, agent: str | None, inputs: Sequence[TaskInput],
                       seq: int) -> AgentResult:
        """Agent-to-agent delegation: routed, limited (depth and steps), executed and safety-reviewed."""
        parent = ctx.task
        depth = parent.depth + 1
        if depth > self.settings.max_delegation_depth:
            raise LimitExceededError(
                f"delegation from {ctx.agent_name!r} would reach depth {depth}, over the limit of "
                f"{self.settings.max_delegation_depth}", limit="max_delegation_depth", value=depth,
                maximum=self.settings.max_delegation_depth,
            )
        if isinstance(task, str):
            task = Task(text=task, inputs=list(inputs))
        child = task.model_copy(update={
            "id": f"{parent.id}>d{seq}", "depth": depth, "parent_id": parent.id, "namespace": parent.namespace,
            "agent": agent or task.agent, "inputs": list(task.inputs) or list(inputs),
        })
        sub_id = f"{ctx.subtask_id}>d{seq}"
        sub = Subtask(id=sub_id, text=child.text, task_type=child.task_type, agent=child.agent, inputs=child.inputs)
        chain = ctx.ancestors + (ctx.agent_name,)
        # An unpinned delegation never goes back to an agent already on the call chain (no handoff loops).
        cards = [c for c in self.host.cards() if child.agent or c.name not in chain]
        decision = await self.host.router.route(sub, child, cards, llm=self.host.llm)
        if decision.agent is None:
            raise AgentFailedError("router", f"no agent can take the delegated task: {decision.explanation}")
        ctx.emit(f"delegating to {decision.agent}", delegate_to=decision.agent, delegation=sub_id)
        scope = ctx._scope
        outcome = await self.invoke(scope, decision.agent, child, subtask_id=sub_id, upstream={},
                                    ancestors=chain, spans=ctx.spans, parent_span=ctx.parent_span)
        if outcome.result is None:
            err = outcome.error or {}
            if outcome.status == "failed" and err.get("code") == "limit_exceeded":
                details = err.get("details") or {}
                raise LimitExceededError(err.get("message", "limit exceeded"),
                                         limit=str(details.get("limit", "max_total_steps")),
                                         value=details.get("value"), maximum=details.get("maximum"))
            return AgentResult(status="failed", agent=decision.agent, error=err.get("message", outcome.status),
                               metadata={"routing": decision.model_dump(mode="json")})
        reviewed = await self.review(scope, decision.agent, child, outcome.result, subtask_id=sub_id,
                                     spans=ctx.spans, ancestors=chain)
        ctx.add_usage(reviewed.usage)
        return reviewed.model_copy(update={"metadata": {**reviewed.metadata,
                                                        "routing": decision.model_dump(mode="json")}})

    # ------------------------------------------------------------------------------------ events

    def emit(self, scope: RunScope, event: Any) -> None:
        """Deliver an event (or a zero-argument factory of one, built only if someone listens)."""
        if not scope.listeners:
            return
        if callable(event):
            event = event()
        for listener in list(scope.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")


def _dump(spans: list[Span]) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in spans]


def build_result(state: dict[str, Any], *, started_at: float) -> RunResult:
    """Assemble the public ``RunResult`` from the final checkpointed state."""
    task = Task.model_validate(state["task"])
    plan = Plan.model_validate(state["plan"]) if state.get("plan") else None
    order = plan.order() if plan else []
    all_decisions = state.get("decisions") or {}
    decisions = [RoutingDecision.model_validate(all_decisions[sid]) for sid in order if sid in all_decisions]
    decisions += [RoutingDecision.model_validate(d) for sid, d in all_decisions.items() if sid not in set(order)]
    results_raw = state.get("results") or {}
    results = [SubtaskResult.model_validate(results_raw[sid]) for sid in order if sid in results_raw]
    # attempts replaced by replanning are kept (after the plan's own subtasks) so failures stay visible
    results += [SubtaskResult.model_validate(v) for sid, v in results_raw.items() if sid not in set(order)]
    spans = [Span.model_validate(s) for s in state.get("spans") or []]
    usage = Usage()
    for r in results:
        if r.result:
            usage = usage + r.result.usage
    if usage == Usage():
        usage = usage_total(spans)
    return RunResult(
        run_id=state["run_id"], task=task, status=state.get("status") or "failed", text=state.get("text") or "",
        plan=plan, decisions=decisions,
        validation=ValidationReport.model_validate(state["validation"]) if state.get("validation") else None,
        results=results, usage=usage, trace=spans, error=state.get("error"), started_at=started_at,
        finished_at=time.time(),
    )
