"""What an evaluation run produces: checks, attempts, per-scenario results, the report and comparisons.

``EvalReport`` is the one object every consumer reads: the reports (terminal, JSON, JUnit, HTML), the
baseline comparison, the CLI's exit code and SE-Darwin's fitness function.
"""

from __future__ import annotations

import math
import platform
import statistics
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import PRIORITY_WEIGHT

CheckStatus = Literal["passed", "failed", "skipped", "error"]
Outcome = Literal["passed", "failed", "error", "timeout", "skipped"]
REPORT_VERSION = 1


class ResultModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckResult(ResultModel):
    """One assertion's outcome. ``score`` is 1/0 for plain checks and the judge's score for rubrics."""

    kind: str = Field(description="status | raises | routing | output | artifact | safety | budget | judge")
    name: str
    status: CheckStatus
    expected: Any = None
    actual: Any = None
    message: str = ""
    score: float | None = None


class SpanTrace(ResultModel):
    name: str
    start_ms: float
    duration_ms: float
    status: str = "ok"
    attributes: dict[str, Any] = Field(default_factory=dict)


class SubtaskTrace(ResultModel):
    subtask_id: str
    text: str = ""
    agent: str | None = None
    status: str
    depends_on: list[str] = Field(default_factory=list)
    decided_by: str | None = None
    explanation: str = ""
    output: str = ""
    data: Any = None
    safety: dict[str, Any] | None = None
    artifacts: list[dict[str, Any]] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0


class RunTrace(ResultModel):
    """A compact, JSON-safe copy of one ``RunResult`` for the HTML report and the journal."""

    run_id: str | None = None
    status: str | None = None
    text: str = ""
    planner: str | None = None
    subtasks: list[SubtaskTrace] = Field(default_factory=list)
    spans: list[SpanTrace] = Field(default_factory=list)
    error: dict[str, Any] | None = None


class AttemptResult(ResultModel):
    """One execution of one scenario (a scenario with ``repeat: n`` has n attempts)."""

    suite: str
    scenario_id: str
    attempt: int
    seed: int
    outcome: Outcome
    reason: str = ""
    checks: list[CheckResult] = Field(default_factory=list)
    quality: float = Field(default=0.0, description="mean score of the evaluated checks, 0..1")
    cost_usd: float = 0.0
    tokens: int = 0
    llm_calls: int = 0
    latency_ms: float = 0.0
    run_status: str | None = None
    error: dict[str, Any] | None = None
    trace: RunTrace | None = None
    started_at: float = 0.0
    resumed: bool = Field(default=False, description="taken from the results journal, not re-run")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al. 2021): chance that at least one of k samples out of n passes."""
    if k <= 0 or n <= 0:
        return 0.0
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _std(values: list[float]) -> float:
    return statistics.pstdev(values) if len(values) > 1 else 0.0


class ScenarioResult(ResultModel):
    """All attempts of one scenario, aggregated: pass rate, pass@k, mean/std of quality and latency."""

    suite: str
    id: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    split: str = "train"
    priority: str = "normal"
    source: str = ""
    outcome: Outcome
    reason: str = ""
    attempts: list[AttemptResult] = Field(default_factory=list)
    n: int = 0
    passes: int = 0
    pass_rate: float = 0.0
    pass_at_k: dict[str, float] = Field(default_factory=dict, description="k -> pass@k")
    quality: float = 0.0
    quality_std: float = 0.0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    latency_std_ms: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.suite}::{self.id}"

    @classmethod
    def aggregate(cls, *, suite: str, scenario: Any, attempts: list[AttemptResult]) -> ScenarioResult:
        """Fold attempts into one outcome: skipped if every attempt skipped, passed if the pass rate meets
        ``min_pass_rate``, otherwise the worst of timeout/error/failed among the attempts."""
        attempts = sorted(attempts, key=lambda a: a.attempt)
        ran = [a for a in attempts if a.outcome != "skipped"]
        n, c = len(ran), sum(a.outcome == "passed" for a in ran)
        rate = c / n if n else 0.0
        if not ran:
            outcome: Outcome = "skipped"
            reason = attempts[0].reason if attempts else "not run"
        elif rate + 1e-9 >= scenario.min_pass_rate:
            outcome, reason = "passed", ""
        else:
            bad = [a for a in ran if a.outcome != "passed"]
            outcome = next((o for o in ("timeout", "error", "failed") if any(a.outcome == o for a in bad)), "failed")
            first = next(a for a in bad if a.outcome == outcome)
            reason = first.reason
            if n > 1:
                reason = f"{c}/{n} attempts passed (need {scenario.min_pass_rate:.0%}); {reason}"
        ks = sorted({1, n} | ({5} if n >= 5 else set())) if n else []
        qualities = [a.quality for a in ran]
        latencies = [a.latency_ms for a in ran]
        return cls(
            suite=suite, id=scenario.id, description=scenario.description, tags=list(scenario.tags),
            split=scenario.split, priority=scenario.priority, source=str(scenario.source or ""),
            outcome=outcome, reason=reason, attempts=attempts, n=n, passes=c, pass_rate=rate,
            pass_at_k={str(k): round(pass_at_k(n, c, k), 6) for k in ks},
            quality=statistics.fmean(qualities) if qualities else 0.0, quality_std=_std(qualities),
            cost_usd=sum(a.cost_usd for a in ran), latency_ms=statistics.fmean(latencies) if latencies else 0.0,
            latency_std_ms=_std(latencies),
        )


class MetricDelta(ResultModel):
    metric: str
    baseline: float
    current: float
    delta: float
    relative: float | None = None
    threshold: str = ""
    verdict: Literal["regression", "improvement", "unchanged"]


class ScenarioChange(ResultModel):
    suite: str
    id: str
    baseline: str | None
    current: str | None
    change: Literal["regression", "improvement", "new", "removed"]
    quality_delta: float = 0.0


class Thresholds(ResultModel):
    """How much worse a run may be than its baseline before it counts as a regression."""

    pass_rate_drop: float = Field(default=0.0, ge=0, description="absolute drop in pass rate allowed (0.05 = 5 pts)")
    quality_drop: float = Field(default=0.02, ge=0, description="absolute drop in quality score allowed")
    cost_increase: float = Field(default=0.25, ge=0, description="relative increase in total cost allowed")
    latency_increase: float = Field(default=0.5, ge=0, description="relative increase in p50 latency allowed")
    min_latency_delta_ms: float = Field(default=50.0, ge=0, description="latency changes below this are noise")
    min_cost_delta_usd: float = Field(default=1e-6, ge=0, description="cost changes below this are noise")
    scenario_regressions: int = Field(default=0, ge=0, description="passed-to-failing scenarios allowed")


class Comparison(ResultModel):
    """A run against its baseline: metric deltas and per-scenario changes. ``regressed`` drives the exit code."""

    baseline_label: str
    current_label: str
    thresholds: Thresholds
    metrics: list[MetricDelta]
    scenarios: list[ScenarioChange]
    regressed: bool
    improved: bool

    @property
    def regressions(self) -> list[str]:
        out = [f"{m.metric}: {m.baseline:.4g} -> {m.current:.4g} ({m.threshold})"
               for m in self.metrics if m.verdict == "regression"]
        out += [f"{s.suite}::{s.id}: {s.baseline} -> {s.current}" for s in self.scenarios if s.change == "regression"]
        return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class EvalReport(ResultModel):
    """The result of one evaluation run. ``ok`` is what CI checks; ``quality_score`` is SE-Darwin's fitness."""

    version: int = REPORT_VERSION
    label: str = ""
    created_at: float = 0.0
    suites: list[str] = Field(default_factory=list)
    selection: dict[str, Any] = Field(default_factory=dict, description="tags/split/ids filters used")
    concurrency: int = 1
    wall_time_s: float = 0.0
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    timeouts: int = 0
    skipped: int = 0
    pass_rate: float = Field(default=0.0, description="passed / (total - skipped)")
    quality_score: float = Field(default=0.0, description="priority-weighted mean scenario quality, 0..1")
    cost_usd: float = 0.0
    latency_ms_mean: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    judge: str | None = Field(default=None, description="the judge model, or None (rubrics skipped)")
    environment: dict[str, Any] = Field(default_factory=dict)
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    comparison: Comparison | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed, errored or timed out, and the comparison (if any) found no regression."""
        bad = self.failed + self.errors + self.timeouts
        return bad == 0 and not (self.comparison and self.comparison.regressed)

    def scenario(self, scenario_id: str, suite: str | None = None) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.id == scenario_id and (suite is None or s.suite == suite)), None)

    def by_key(self) -> dict[str, ScenarioResult]:
        return {s.key: s for s in self.scenarios}

    @classmethod
    def build(cls, scenarios: list[ScenarioResult], **fields: Any) -> EvalReport:
        """Compute the totals from per-scenario results (the single place the summary numbers come from)."""
        counts = {o: sum(s.outcome == o for s in scenarios) for o in ("passed", "failed", "error", "timeout", "skipped")}
        ran = [s for s in scenarios if s.outcome != "skipped"]
        weights = [PRIORITY_WEIGHT.get(s.priority, 1.0) for s in ran]
        quality = sum(w * s.quality for w, s in zip(weights, ran)) / sum(weights) if ran else 0.0
        latencies = [a.latency_ms for s in ran for a in s.attempts if a.outcome != "skipped"]
        env = {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine()}
        env.update(fields.pop("environment", {}))
        return cls(
            scenarios=scenarios, total=len(scenarios), passed=counts["passed"], failed=counts["failed"],
            errors=counts["error"], timeouts=counts["timeout"], skipped=counts["skipped"],
            pass_rate=counts["passed"] / len(ran) if ran else 0.0, quality_score=quality,
            cost_usd=round(sum(s.cost_usd for s in scenarios), 8),
            latency_ms_mean=statistics.fmean(latencies) if latencies else 0.0,
            latency_ms_p50=percentile(latencies, 0.5), latency_ms_p95=percentile(latencies, 0.95),
            environment=env, **fields,
        )
