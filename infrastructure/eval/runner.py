"""``EvalRunner``: run scenario suites through a real ``Genesis`` host and collect an ``EvalReport``.

Concurrency is bounded by a semaphore; each attempt has its own deadline, so a hanging scenario becomes a
``timeout`` result and the others carry on. Attempts are journaled as they finish, so a run that was
interrupted resumes where it stopped. SE-Darwin calls it as its fitness function:

    report = await EvalRunner(lambda **kw: Genesis(agents=[candidate], **kw), concurrency=2).arun(
        "deepanalyze", split="train")
    fitness = report.quality_score
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..contracts import RunResult, Task, new_id
from ..errors import BadInputError, GenesisError
from .assertions import check_raises, evaluate_run
from .journal import ResultsJournal
from .judge import judge_skipped, run_judge
from .loader import check_agents, load_suite
from .models import Scenario, Suite
from .results import AttemptResult, CheckResult, EvalReport, ScenarioResult, Thresholds
from .trace import build_trace

SuiteLike = Suite | str | Path
ProgressFn = Callable[[AttemptResult, int, int], None]
DEFAULT_TIMEOUT_S = 120.0
MAX_CONCURRENCY = 256


def derive_seed(base: int, key: str, attempt: int) -> int:
    """A stable per-attempt seed: the same suite, scenario, attempt and base seed always give the same seed."""
    digest = hashlib.sha256(f"{base}:{key}".encode()).hexdigest()
    return (int(digest[:8], 16) + attempt) % (2**31)


def _is_factory(obj: Any) -> bool:
    return isinstance(obj, type) or (callable(obj) and not hasattr(obj, "arun"))


class EvalRunner:
    """Runs suites against a Genesis host.

    ``genesis`` is a ``Genesis`` instance (used as is, not closed), or a factory (the ``Genesis`` class or a
    callable accepting ``llm=`` keyword) called once per run, and once more per attempt of a scenario that
    carries scripted LLM replies. ``None`` means ``genesis_agents.Genesis``.
    """

    def __init__(
        self,
        genesis: Any = None,
        *,
        concurrency: int = 4,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        judge: Any = None,
        seed: int = 0,
        journal: str | Path | None = None,
        resume: bool = True,
        progress: ProgressFn | None = None,
        label: str = "",
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise BadInputError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}",
                                field="concurrency")
        if timeout_s <= 0:
            raise BadInputError(f"timeout_s must be > 0, got {timeout_s}", field="timeout_s")
        self._genesis = genesis
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.seed = seed
        self.journal = ResultsJournal(journal) if journal else None
        self.resume = resume
        self.progress = progress
        self.label = label
        self._judge_spec = judge
        self._judge: Any = None

    # ------------------------------------------------------------------------------------------ hosts

    def _factory(self) -> Callable[..., Any] | None:
        if self._genesis is None:
            from genesis_agents import Genesis

            return Genesis
        return self._genesis if _is_factory(self._genesis) else None

    async def _make_host(self, **kwargs: Any) -> Any:
        factory = self._factory()
        if factory is None:
            return self._genesis
        host = factory(**kwargs)
        return await host if inspect.isawaitable(host) else host

    @staticmethod
    async def _close(host: Any) -> None:
        close = getattr(host, "aclose", None)
        if close is not None:
            await close()

    def _resolve_judge(self) -> Any:
        if self._judge is None and self._judge_spec is not None:
            if isinstance(self._judge_spec, str):
                from ..llm import resolve_llm

                self._judge = resolve_llm(self._judge_spec)
            else:
                self._judge = self._judge_spec
        return self._judge

    @property
    def judge_name(self) -> str | None:
        if self._judge_spec is None:
            return None
        return self._judge_spec if isinstance(self._judge_spec, str) else type(self._judge_spec).__name__

    # ------------------------------------------------------------------------------------------ API

    def run(self, suites: SuiteLike | Sequence[SuiteLike], **kwargs: Any) -> EvalReport:
        """Synchronous ``arun`` for scripts; use ``await arun(...)`` inside an event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(suites, **kwargs))
        raise BadInputError("EvalRunner.run() was called inside a running event loop", field="run",
                            hint="use `await runner.arun(...)` there")

    async def arun(
        self,
        suites: SuiteLike | Sequence[SuiteLike],
        *,
        tags: Sequence[str] | None = None,
        split: str | None = None,
        ids: Sequence[str] | None = None,
        baseline: EvalReport | str | Path | None = None,
        thresholds: Thresholds | None = None,
    ) -> EvalReport:
        """Run every selected scenario (``tags``: any of; ``split``: train/holdout; ``ids``) and report.

        With ``baseline`` (a report or a saved baseline file) the report carries a ``comparison``.
        Raises ``UnknownAgentError``/``ScenarioError`` before running anything if a suite is invalid.
        """
        if split is not None and split not in ("train", "holdout"):
            raise BadInputError(f"split must be 'train' or 'holdout', got {split!r}", field="split")
        loaded = [s if isinstance(s, Suite) else load_suite(s) for s in
                  ([suites] if isinstance(suites, (Suite, str, Path)) else list(suites))]
        if not loaded:
            raise BadInputError("no suites given", field="suites")
        names = [s.name for s in loaded]
        if len(set(names)) != len(names):
            raise BadInputError(f"the same suite name is given twice: {names}", field="suites")
        selected = [sc for s in loaded for sc in s.select(tags=list(tags or []), split=split, ids=list(ids or []))]
        base_report = None
        if baseline is not None:
            from .compare import load_report

            base_report = baseline if isinstance(baseline, EvalReport) else load_report(baseline)

        started = time.perf_counter()
        host = await self._make_host()
        try:
            known = [card.name for card in host.cards()]
            for suite in loaded:
                check_agents(suite, known)
            if self._factory() is None:
                scripted = [sc for sc in selected if sc.llm is not None]
                if scripted:
                    raise BadInputError(
                        f"{scripted[0].where('llm')} has scripted LLM replies, which need a fresh host per attempt",
                        field="genesis", hint="pass a factory (the Genesis class or a callable taking llm=)")
            results = await self._run_all(host, selected)
        finally:
            if self._factory() is not None:
                await self._close(host)
        wall = time.perf_counter() - started

        by_key: dict[str, list[AttemptResult]] = {}
        for attempt in results:
            by_key.setdefault(f"{attempt.suite}::{attempt.scenario_id}", []).append(attempt)
        scenario_results = [ScenarioResult.aggregate(suite=sc.suite, scenario=sc, attempts=by_key.get(sc.key, []))
                            for sc in selected]
        report = EvalReport.build(
            scenario_results, label=self.label or "+".join(names), created_at=time.time(), suites=names,
            selection={"tags": list(tags or []), "split": split, "ids": list(ids or [])},
            concurrency=self.concurrency, wall_time_s=round(wall, 4), judge=self.judge_name,
            environment={"cpu_count": os.cpu_count(), "seed": self.seed},
        )
        if base_report is not None:
            from .compare import compare

            report.comparison = compare(base_report, report, thresholds or Thresholds())
        return report

    # ------------------------------------------------------------------------------------------ execution

    async def _run_all(self, host: Any, scenarios: list[Scenario]) -> list[AttemptResult]:
        done = self.journal.load() if (self.journal and self.resume) else {}
        if self.journal and not self.resume:
            self.journal.reset()
        reused: list[AttemptResult] = []
        todo: list[tuple[Scenario, int]] = []
        for sc in scenarios:
            fp = sc.fingerprint()
            for k in range(sc.repeat):
                hit = done.get((sc.key, k))
                if hit is not None and hit[0] == fp:
                    reused.append(hit[1].model_copy(update={"resumed": True}))
                else:
                    todo.append((sc, k))
        total = len(reused) + len(todo)
        counter = {"n": 0}
        for attempt in reused:
            counter["n"] += 1
            if self.progress:
                self.progress(attempt, counter["n"], total)
        sem = asyncio.Semaphore(self.concurrency)

        async def one(sc: Scenario, k: int) -> AttemptResult:
            async with sem:
                result = await self._attempt(host, sc, k)
            if self.journal:
                self.journal.append(sc.key, sc.fingerprint(), result)
            counter["n"] += 1
            if self.progress:
                self.progress(result, counter["n"], total)
            return result

        fresh = await asyncio.gather(*(one(sc, k) for sc, k in todo))
        return reused + list(fresh)

    def _task_for(self, sc: Scenario, seed: int, attempt: int, timeout: float) -> Task:
        spec = sc.task
        metadata = {**spec.metadata, "seed": seed,
                    "eval": {"suite": sc.suite, "scenario": sc.id, "attempt": attempt, "seed": seed}}
        return Task(text=spec.text, agent=spec.agent, task_type=spec.task_type, inputs=list(spec.inputs),
                    params=dict(spec.params), namespace=spec.namespace, budget=spec.budget, timeout_s=timeout,
                    metadata=metadata)

    async def _attempt(self, shared_host: Any, sc: Scenario, attempt: int) -> AttemptResult:
        seed = (sc.seed + attempt) if sc.seed is not None else derive_seed(self.seed, sc.key, attempt)
        timeout = sc.timeout_s or self.timeout_s
        task = self._task_for(sc, seed, attempt, timeout)
        base = {"suite": sc.suite, "scenario_id": sc.id, "attempt": attempt, "seed": seed, "started_at": time.time()}
        host, own = shared_host, False
        run_id = new_id("run_eval_")
        run: RunResult | None = None
        error: dict[str, Any] | None = None
        t0 = time.perf_counter()
        try:
            if sc.llm is not None:
                from ..llm import ScriptedChatModel

                host = await self._make_host(llm=ScriptedChatModel(**sc.llm.model_dump()))
                own = True
            # the runtime gets the deadline too (it can stop cleanly); the outer wait is the hard stop
            run = await asyncio.wait_for(self._call(host, task, run_id), timeout=timeout + min(5.0, 0.1 * timeout))
        except TimeoutError as exc:
            latency = (time.perf_counter() - t0) * 1000
            cancel = getattr(host, "cancel", None)
            if cancel is not None:
                cancel(run_id)  # stop agents still running in the background
            if isinstance(exc, GenesisError):
                error = exc.to_dict()
            return AttemptResult(**base, outcome="timeout", reason=f"timed out after {timeout:g} s",
                                 latency_ms=latency, error=error or {"code": "timeout", "message": f"no result in {timeout:g} s"})
        except GenesisError as exc:
            error = exc.to_dict()
        except Exception as exc:  # noqa: BLE001 - an agent bug must not stop the suite: it is this scenario's error
            error = {"code": "exception", "type": type(exc).__name__, "message": str(exc)}
        finally:
            if own:
                await self._close(host)
        latency = (time.perf_counter() - t0) * 1000

        if run is None:
            checks = check_raises(sc.expect, None, error)
            if checks:  # an error was expected: right code passes, another code fails
                return self._finish(base, checks, None, latency, error)
            msg = f"{(error or {}).get('type', 'error')}: {(error or {}).get('message', '')}"
            return AttemptResult(**base, outcome="error", reason=msg, checks=checks, latency_ms=latency, error=error)

        checks = evaluate_run(sc.expect, run, latency)
        if sc.expect.judge is not None:
            checks.append(await self._judge_check(sc, run))
        return self._finish(base, checks, run, latency, None)

    @staticmethod
    async def _call(host: Any, task: Task, run_id: str) -> RunResult:
        try:
            takes_run_id = "run_id" in inspect.signature(host.arun).parameters
        except (TypeError, ValueError):
            takes_run_id = False
        return await (host.arun(task, run_id=run_id) if takes_run_id else host.arun(task))

    async def _judge_check(self, sc: Scenario, run: RunResult) -> CheckResult:
        spec = sc.expect.judge
        assert spec is not None
        llm = self._resolve_judge()
        if llm is None:
            return judge_skipped(spec.min_score)
        from .assertions import _MISSING, RunView

        value, _ = RunView(run).value(spec.path)
        answer = "" if value is _MISSING else (value if isinstance(value, str) else str(value))
        return await run_judge(llm, rubric=spec.rubric, task_text=sc.task.text, answer=answer, min_score=spec.min_score)

    @staticmethod
    def _finish(base: dict[str, Any], checks: list[CheckResult], run: RunResult | None, latency: float,
                error: dict[str, Any] | None) -> AttemptResult:
        failed = [c for c in checks if c.status == "failed"]
        errored = [c for c in checks if c.status == "error"]
        skipped = [c for c in checks if c.status == "skipped"]
        if failed:
            outcome, reason = "failed", "; ".join(f"{c.name}: {c.message}" for c in failed[:3])
            timed_out = run is not None and ((run.error or {}).get("code") == "timeout"
                                             or any(r.status == "timeout" for r in run.results))
            if timed_out and any(c.kind == "status" for c in failed):
                outcome = "timeout"
        elif errored:
            outcome, reason = "error", "; ".join(f"{c.name}: {c.message}" for c in errored)
        elif skipped:
            outcome, reason = "skipped", "; ".join(c.message for c in skipped)
        else:
            outcome, reason = "passed", ""
        scored = [c.score if c.score is not None else 0.0 for c in checks if c.status in ("passed", "failed", "error")]
        quality = sum(scored) / len(scored) if scored else (1.0 if outcome == "passed" else 0.0)
        usage = run.usage if run is not None else None
        return AttemptResult(
            **base, outcome=outcome, reason=reason, checks=checks, quality=round(quality, 6),
            cost_usd=usage.cost_usd if usage else 0.0, tokens=usage.total_tokens if usage else 0,
            llm_calls=usage.llm_calls if usage else 0, latency_ms=round(latency, 3),
            run_status=run.status if run else None, error=error or (run.error if run else None),
            trace=build_trace(run) if run is not None else None,
        )
