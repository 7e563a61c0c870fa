"""``Genesis``: the one object an app embeds. It owns the registry, the stages and the compiled graph.

Async first (``arun``, ``astream``, ``aresume``); the sync helpers (``run``, ``resume``) drive a private
event loop in a background thread, so they work from plain scripts and from threads alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any, TypeVar

from .config import GenesisSettings, load_settings
from .contracts import (
    Agent,
    AgentCard,
    DoneEvent,
    Memory,
    Planner,
    PlanValidator,
    Router,
    RunResult,
    SafetyReviewer,
    Task,
    TaskInput,
    new_id,
)
from .errors import BadInputError, ConfigError, GenesisError, LimitExceededError, NotFoundError
from .loops import LoopLocal
from .registry import AgentRegistry
from .runs import RunRecord, RunStore
from .runtime import Runtime, build_result
from .stages import BasicValidator, ExplicitRouter, PassthroughReviewer, SinglePlanner

log = logging.getLogger(__name__)
T = TypeVar("T")


class Genesis:
    """A Genesis host: agents + planner + router + validator + safety + memory + checkpointed runtime.

    Every stage can be injected (tests, embedding apps) or comes from ``settings``.
    """

    def __init__(
        self,
        settings: GenesisSettings | None = None,
        *,
        llm: Any = None,
        memory: Memory | None = None,
        safety: SafetyReviewer | None = None,
        planner: Planner | None = None,
        router: Router | None = None,
        validator: PlanValidator | None = None,
        agents: Iterable[Agent] = (),
        load_plugins: bool = True,
        checkpointer: Any = None,
        **overrides: Any,
    ) -> None:
        if isinstance(checkpointer, str):  # the setting ('sqlite' | 'memory'), not a saver instance
            overrides["checkpointer"], checkpointer = checkpointer, None
        self.settings = settings if settings is not None else load_settings(**overrides)
        if settings is not None and overrides:
            self.settings = settings.model_copy(update=overrides)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        from .llm import resolve_llm

        self.llm = resolve_llm(llm if llm is not None else self.settings.llm)
        self.registry = AgentRegistry()
        for agent in agents:
            self.registry.register(agent)
        if load_plugins:
            self.registry.load_plugins(disabled=self.settings.disabled_plugins, config_for=self._promoted_config)
            self._load_remote_agents()
        self.pinned_planner: Planner = SinglePlanner()
        self.planner: Planner = planner or self._default_planner()
        self.router: Router = router or self._default_router()
        self.validator: PlanValidator = validator or self._default_validator()
        self.safety: SafetyReviewer = safety or self._default_safety()
        self._memory = memory
        self._memory_lock = threading.Lock()
        self._checkpointer_override = checkpointer
        self._finished_threads: list[str] = []
        self.runs = RunStore(self.settings.path("runs.sqlite") if self.settings.checkpointer == "sqlite" else None,
                             max_in_memory=self.settings.max_runs_in_memory)
        self.runtime = Runtime(self)
        self._graphs: LoopLocal[tuple[Any, Any]] = LoopLocal(discard=self._release_graph)  # (graph, checkpointer)
        self._graph_locks: LoopLocal[asyncio.Lock] = LoopLocal()
        self._loop_thread: _LoopThread | None = None
        self._otel = None
        if self.settings.otel_endpoint:
            from .tracing import OTelExporter

            self._otel = OTelExporter(self.settings.otel_endpoint)

    # ------------------------------------------------------------------------------ defaults

    def _default_planner(self) -> Planner:
        try:
            from .routing import build_planner
        except ImportError:
            return SinglePlanner()
        return build_planner(self.settings)

    def _default_router(self) -> Router:
        try:
            from .routing import build_router
        except ImportError:
            return ExplicitRouter()
        return build_router(self.settings)

    def _default_validator(self) -> PlanValidator:
        try:
            from .routing import build_validator
        except ImportError:
            return BasicValidator()
        return build_validator(self.settings)

    def _default_safety(self) -> SafetyReviewer:
        if self.settings.safety_reviewer == "passthrough":
            return PassthroughReviewer()
        try:
            from genesis_agents.safety import WaltzRLReviewer
        except ImportError as exc:
            raise ConfigError(f"the WaltzRL safety wrapper cannot be loaded: {exc}", field="safety",
                              hint="reinstall genesis-agents, or set GENESIS_SAFETY_REVIEWER=passthrough knowingly") from None
        return WaltzRLReviewer.from_settings(self.settings)

    def _promoted_config(self, agent_name: str) -> dict[str, Any] | None:
        try:
            from genesis_agents.evolution import load_promoted_config
        except ImportError:
            return None
        return load_promoted_config(agent_name, self.settings)

    def _load_remote_agents(self) -> None:
        try:
            from .a2a import load_remote_agents
        except ImportError:
            return
        try:
            for agent in load_remote_agents(self.settings):
                if agent.card.name not in self.registry:
                    self.registry.register(agent)
        except Exception as exc:  # noqa: BLE001 - a bad remote entry must not stop the host
            from .registry import PluginProblem

            self.registry.problems.append(PluginProblem(name="remote-agents", source="remote_agents", error=str(exc)))

    @property
    def memory(self) -> Memory:
        """The shared memory (created on first use: opening Chroma and the graph store takes a moment)."""
        if self._memory is None:
            with self._memory_lock:
                if self._memory is None:
                    self._memory = self._build_memory()
        return self._memory

    def _build_memory(self) -> Memory:
        if self.settings.memory_backend == "inprocess":
            from genesis_agents.memory.inprocess import InProcessMemory

            return InProcessMemory()
        from genesis_agents.memory import HybridMemory

        return HybridMemory.from_settings(self.settings, degraded_ok=self.settings.memory_degraded_ok)

    def warm_up(self) -> None:
        """Load models now (embeddings, safety classifiers, routing index) instead of on the first request."""
        for stage in (self.safety, self.router, self.planner):
            warm = getattr(stage, "warm_up", None)
            if callable(warm):
                warm()

    # ------------------------------------------------------------------------------ agents

    def register(self, agent: Agent, *, replace: bool = False) -> AgentCard:
        """Add an agent instance (validated card; unique name unless ``replace``)."""
        return self.registry.register(agent, replace=replace)

    def cards(self) -> list[AgentCard]:
        return self.registry.cards()

    # ------------------------------------------------------------------------------ running

    def make_task(self, task: Task | str, **fields: Any) -> Task:
        """Validate a task (or build one from text) against this host's limits."""
        if isinstance(task, str):
            inputs = [i if isinstance(i, TaskInput) else TaskInput(path=i) for i in fields.pop("inputs", [])]
            try:
                task = Task(text=task, inputs=inputs, **fields)
            except Exception as exc:
                from pydantic import ValidationError

                if isinstance(exc, ValidationError):
                    err = exc.errors()[0]
                    raise BadInputError(err["msg"], field=".".join(str(p) for p in err["loc"]) or "task") from None
                raise
        elif fields:
            task = task.model_copy(update=fields)
        if len(task.text) > self.settings.max_task_chars:
            raise LimitExceededError(f"task text has {len(task.text)} characters, more than "
                                     f"{self.settings.max_task_chars}", limit="max_task_chars", field="text",
                                     value=len(task.text), maximum=self.settings.max_task_chars)
        if len(task.inputs) > self.settings.max_inputs:
            raise LimitExceededError(f"task has {len(task.inputs)} inputs, more than {self.settings.max_inputs}",
                                     limit="max_inputs", field="inputs")
        for i, inp in enumerate(task.inputs):
            if inp.path is not None:
                if not inp.path.exists():
                    raise BadInputError(f"input file not found: {inp.path}", field=f"inputs[{i}].path")
                if inp.path.is_file() and inp.path.stat().st_size > self.settings.max_input_bytes:
                    raise LimitExceededError(f"input {inp.path} is larger than {self.settings.max_input_bytes} bytes",
                                             limit="max_input_bytes", field=f"inputs[{i}].path")
        if task.agent and task.agent not in self.registry:
            from .errors import UnknownAgentError

            raise UnknownAgentError(task.agent, self.registry.names())
        return task

    async def _graph(self) -> tuple[Any, Any]:
        """This loop's compiled graph and its checkpointer, made by the first run on it. Runs that start together wait for that one
        (each making its own would open one checkpointer connection per run and race their schema set-up on
        the same SQLite file: "database is locked")."""
        entry = self._graphs.current()
        if entry is None:
            async with self._graph_locks.get(asyncio.Lock):
                entry = self._graphs.current()
                if entry is None:
                    entry = (self.runtime.compile(saver := await self._new_checkpointer()), saver)
                    self._graphs.set(entry)
        return entry

    def _release_graph(self, entry: tuple[Any, Any]) -> None:
        """Close the SQLite connection of a checkpointer whose event loop has been closed (it cannot be awaited
        there any more; aiosqlite's ``stop`` ends its thread without the loop). A checkpointer the caller
        passed in is theirs to close: it is left alone."""
        saver = entry[1]
        stop = getattr(getattr(saver, "conn", None), "stop", None)
        if stop is not None and saver is not self._checkpointer_override:
            stop()

    async def _new_checkpointer(self) -> Any:
        if self._checkpointer_override is not None:
            # LangGraph's async SQLite/Postgres savers hold asyncio locks that bind to the first loop using them
            loop_bound = isinstance(getattr(self._checkpointer_override, "loop", None), asyncio.AbstractEventLoop)
            if loop_bound and len(self._graphs):
                raise ConfigError(
                    f"the checkpointer passed to Genesis(checkpointer=...) ({type(self._checkpointer_override).__name__}) "
                    "already serves another event loop, and it cannot serve two", field="checkpointer",
                    hint="make every call on one loop (the sync helpers use one private loop), or leave checkpointer "
                         "unset and choose settings.checkpointer='sqlite': Genesis then opens one per loop")
            return self._checkpointer_override
        if self.settings.checkpointer == "memory":
            from langgraph.checkpoint.memory import InMemorySaver

            return InMemorySaver()
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        pending = aiosqlite.connect(str(self.settings.path("checkpoints.sqlite")))
        pending._thread.daemon = True  # a host the app forgot to close must not block exit
        conn = await pending
        saver = AsyncSqliteSaver(conn)
        try:
            await saver.setup()
        except BaseException:
            await conn.close()
            raise
        return saver

    async def arun(self, task: Task | str, *, run_id: str | None = None, **fields: Any) -> RunResult:
        """Run a task to completion and return its ``RunResult`` (failures are in the result, not raised)."""
        task = self.make_task(task, **fields)
        scope = self._open(task, run_id)
        return await self._finish(scope, {"run_id": scope.run_id, "task": task.model_dump(mode="json")})

    async def astream(self, task: Task | str, *, run_id: str | None = None, **fields: Any
                      ) -> AsyncIterator[Any]:
        """Run a task, yielding typed events: planned, routed, subtask_started, progress, reviewed, ..., done."""
        task = self.make_task(task, **fields)
        scope = self._open(task, run_id)
        state = {"run_id": scope.run_id, "task": task.model_dump(mode="json")}
        queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def listener(event: Any) -> None:
            try:
                same_loop = asyncio.get_running_loop() is loop
            except RuntimeError:
                same_loop = False
            if same_loop:
                queue.put_nowait(event)
            else:  # an agent emitting from a worker thread
                loop.call_soon_threadsafe(queue.put_nowait, event)

        scope.listeners.append(listener)
        job = asyncio.ensure_future(self._finish(scope, state))
        job.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                yield event
            yield DoneEvent(run_id=scope.run_id, result=await job)
        finally:
            if not job.done():
                job.cancel()

    async def aresume(self, run_id: str) -> RunResult:
        """Continue a run whose process died (or that was interrupted). Finished subtasks are not re-run."""
        graph, _ = await self._graph()
        snapshot = await graph.aget_state({"configurable": {"thread_id": run_id}})
        if not snapshot.values:
            with contextlib.suppress(NotFoundError):
                record = self.runs.get(run_id)
                if record.result is not None:  # finished in memory: its checkpoints are gone, its result is not
                    return record.result
            raise NotFoundError(f"no checkpoint for run {run_id!r}", field="run_id",
                                hint="only runs made with the SQLite checkpointer in this data dir can resume")
        if not snapshot.next:
            record = self.runs.get(run_id)
            if record.result is not None:
                return record.result
            return build_result(snapshot.values, started_at=record.created_at)
        scope = self._open(Task.model_validate(snapshot.values["task"]), run_id)
        return await self._finish(scope, None)

    def _drop_checkpoints(self, saver: Any, run_id: str) -> None:
        """A finished run's in-memory checkpoints can no longer serve a resume (its record answers that), and
        kept for every run they grow without bound. ``InMemorySaver.delete_thread`` scans every stored write
        per call (quadratic with many runs in flight), so finished threads are dropped in batches, one scan each."""
        self._finished_threads.append(run_id)
        if len(self._finished_threads) < min(256, self.settings.max_runs_in_memory):
            return
        gone, self._finished_threads = set(self._finished_threads), []
        for thread in gone:
            saver.storage.pop(thread, None)
        for table in (saver.writes, saver.blobs):
            for key in [k for k in table if k[0] in gone]:
                del table[key]

    def _open(self, task: Task, run_id: str | None) -> Any:
        scope = self.runtime.new_scope(run_id or new_id("run_"), task)
        self.runs.start(scope.run_id, task)
        return scope

    async def _finish(self, scope: Any, state: dict[str, Any] | None) -> RunResult:
        """Drive the graph from ``state`` (None = from the last checkpoint) and record the result."""
        started = time.time()
        config = {"configurable": {"thread_id": scope.run_id}, "recursion_limit": 10_000}
        in_memory = self.settings.checkpointer == "memory" and self._checkpointer_override is None
        try:
            try:
                graph, saver = await self._graph()
            except Exception as exc:
                if state is not None:  # a new run that never started must not be listed as running (resumable)
                    error = exc.to_dict() if isinstance(exc, GenesisError) else {
                        "code": "checkpointer_unavailable", "type": type(exc).__name__, "message": str(exc)}
                    self.runs.finish(RunResult(run_id=scope.run_id, task=scope.task, status="failed", error=error,
                                               started_at=started, finished_at=time.time()))
                raise
            # "sync" durability: each step is checkpointed before the next starts, so a crash loses
            # at most the steps that were running (LangGraph's default "async" may lag behind). In-memory
            # checkpoints do not outlive the process, so there a checkpoint per step protects nothing: "exit"
            # writes one when the graph stops (done, failed, cancelled or interrupted), which ``aresume`` needs.
            final = await graph.ainvoke(state, config, durability="exit" if in_memory else "sync")
            result = build_result(final, started_at=started)
            self.runs.finish(result)
            if in_memory:
                self._drop_checkpoints(saver, scope.run_id)
            if self._otel is not None:
                self._otel.export(result.run_id, result.trace)
            if self.settings.record_trajectories:
                self._record_trajectories(result)
            return result
        finally:
            self.runtime.scopes.pop(scope.run_id, None)

    def _record_trajectories(self, result: RunResult) -> None:
        """Feed real outcomes (successes and failures) to SE-Darwin's trajectory pool."""
        from genesis_agents.evolution import record_trajectory

        plan = result.plan.model_dump(mode="json") if result.plan else None
        subs = result.plan.by_id() if result.plan else {}
        for sub in result.results:
            if sub.agent is None:
                continue
            outcome = sub.result if sub.result is not None else {"status": sub.status, "error": sub.error}
            try:
                record_trajectory(sub.agent, subs[sub.subtask_id].text if sub.subtask_id in subs else result.task.text,
                                  outcome, settings=self.settings, run_id=result.run_id, plan=plan,
                                  success=sub.status == "succeeded")
            except Exception:
                log.exception("could not record trajectory of run %s", result.run_id)

    def cancel(self, run_id: str) -> bool:
        """Cancel a running run: running agents are cancelled, pending subtasks are not started."""
        scope = self.runtime.scopes.get(run_id)
        if scope is None:
            return False
        loop_jobs = list(scope.running)

        def do_cancel() -> None:
            scope.cancel.set()
            for job in loop_jobs:
                job.cancel()

        if loop_jobs:
            job_loop = loop_jobs[0].get_loop()
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is job_loop:
                do_cancel()
            else:
                job_loop.call_soon_threadsafe(do_cancel)
        else:
            scope.cancel.set()
        return True

    def get_run(self, run_id: str) -> RunRecord:
        return self.runs.get(run_id)

    # ------------------------------------------------------------------------------ sync helpers

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError("Genesis.run() was called inside a running event loop; use `await genesis.arun()`")
        if self._loop_thread is None:
            self._loop_thread = _LoopThread()
        return self._loop_thread.run(coro)

    def run(self, task: Task | str, **fields: Any) -> RunResult:
        """Sync wrapper of ``arun``."""
        return self._sync(self.arun(task, **fields))

    def resume(self, run_id: str) -> RunResult:
        return self._sync(self.aresume(run_id))

    async def aclose(self) -> None:
        """Close checkpointers, memory and agents. The host cannot be used afterwards."""
        for _graph, saver in self._graphs.pop_all():
            conn = getattr(saver, "conn", None)
            if conn is not None:
                try:
                    await conn.close()
                except Exception:  # noqa: BLE001 - connection of another (closed) loop
                    pass
        for agent in self.registry.agents():
            try:
                await agent.aclose()
            except Exception:
                log.exception("closing agent %s", agent.name)
        if self._memory is not None:
            await self._memory.aclose()
            self._memory = None
        if self._otel is not None:
            self._otel.shutdown()
        self.runs.close()

    def close(self) -> None:
        if self._loop_thread is not None:
            self._loop_thread.run(self.aclose())
            self._loop_thread.stop()
            self._loop_thread = None
        else:
            asyncio.run(self.aclose())

    async def __aenter__(self) -> Genesis:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _LoopThread:
    """A private event loop in a daemon thread, used by the sync helpers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="genesis-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
