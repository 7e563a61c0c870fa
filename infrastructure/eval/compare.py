"""Baselines: save a run, compare a later run against it, and decide whether it regressed.

A baseline is an ``EvalReport`` saved as JSON (traces stripped to keep it small enough to commit). The
comparison looks at pass rate, quality, total cost and p50 latency with thresholds, and at every scenario
that went from passing to failing (a regression) or the other way (an improvement).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ..errors import BadInputError, NotFoundError
from .results import Comparison, EvalReport, MetricDelta, ScenarioChange, Thresholds


def save_baseline(report: EvalReport, path: str | Path, *, keep_traces: bool = False) -> Path:
    """Write ``report`` as a baseline file (without per-attempt traces unless ``keep_traces``)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = report.model_copy(deep=True)
    data.comparison = None
    if not keep_traces:
        for sc in data.scenarios:
            for attempt in sc.attempts:
                attempt.trace = None
    p.write_text(data.model_dump_json(indent=2), encoding="utf-8")
    return p


def load_report(path: str | Path) -> EvalReport:
    """Read a report or baseline JSON file; a clear error names the file and the first bad field."""
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"report file not found: {p}", field="baseline")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{p}:{exc.lineno}: invalid JSON ({exc.msg})", field="baseline") from None
    try:
        return EvalReport.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise BadInputError(f"{p}: not an eval report: {where}: {err['msg']}", field="baseline",
                            hint="give a file written by `genesis eval run --report json` or save_baseline()") from None


def _relative(base: float, cur: float) -> float | None:
    return None if base == 0 else (cur - base) / abs(base)


def compare(baseline: EvalReport, current: EvalReport, thresholds: Thresholds | None = None) -> Comparison:
    """Compare ``current`` with ``baseline``. Higher pass rate/quality is better; lower cost/latency is better."""
    t = thresholds or Thresholds()
    metrics: list[MetricDelta] = []

    def higher_better(name: str, base: float, cur: float, allowed_drop: float) -> None:
        delta = cur - base
        verdict = "regression" if delta < -allowed_drop - 1e-12 else ("improvement" if delta > 1e-12 else "unchanged")
        metrics.append(MetricDelta(metric=name, baseline=base, current=cur, delta=delta, relative=_relative(base, cur),
                                   threshold=f"drop > {allowed_drop:g} regresses", verdict=verdict))

    def lower_better(name: str, base: float, cur: float, allowed_rel: float, noise: float) -> None:
        delta = cur - base
        rel = _relative(base, cur)
        if abs(delta) <= noise:
            verdict = "unchanged"
        elif delta > 0 and (rel is None or rel > allowed_rel):
            verdict = "regression"
        elif delta < 0:
            verdict = "improvement"
        else:
            verdict = "unchanged"
        metrics.append(MetricDelta(metric=name, baseline=base, current=cur, delta=delta, relative=rel,
                                   threshold=f"increase > {allowed_rel:.0%} regresses", verdict=verdict))

    # compare on the scenarios both runs have, so adding a suite is not a "regression" in totals
    base_by, cur_by = baseline.by_key(), current.by_key()
    common = [k for k in cur_by if k in base_by]
    if common:
        b_ran = [base_by[k] for k in common if base_by[k].outcome != "skipped"]
        c_ran = [cur_by[k] for k in common if cur_by[k].outcome != "skipped"]
        b_rate = sum(s.outcome == "passed" for s in b_ran) / len(b_ran) if b_ran else 0.0
        c_rate = sum(s.outcome == "passed" for s in c_ran) / len(c_ran) if c_ran else 0.0
        b_q = sum(s.quality for s in b_ran) / len(b_ran) if b_ran else 0.0
        c_q = sum(s.quality for s in c_ran) / len(c_ran) if c_ran else 0.0
        b_cost = sum(base_by[k].cost_usd for k in common)
        c_cost = sum(cur_by[k].cost_usd for k in common)
        b_lat = _median([base_by[k].latency_ms for k in common if base_by[k].outcome != "skipped"])
        c_lat = _median([cur_by[k].latency_ms for k in common if cur_by[k].outcome != "skipped"])
    else:
        b_rate, c_rate = baseline.pass_rate, current.pass_rate
        b_q, c_q = baseline.quality_score, current.quality_score
        b_cost, c_cost = baseline.cost_usd, current.cost_usd
        b_lat, c_lat = baseline.latency_ms_p50, current.latency_ms_p50
    higher_better("pass_rate", b_rate, c_rate, t.pass_rate_drop)
    higher_better("quality", b_q, c_q, t.quality_drop)
    lower_better("cost_usd", b_cost, c_cost, t.cost_increase, t.min_cost_delta_usd)
    lower_better("latency_ms_p50", b_lat, c_lat, t.latency_increase, t.min_latency_delta_ms)

    changes: list[ScenarioChange] = []
    for key, cur in cur_by.items():
        base = base_by.get(key)
        if base is None:
            changes.append(ScenarioChange(suite=cur.suite, id=cur.id, baseline=None, current=cur.outcome, change="new"))
            continue
        if base.outcome == "passed" and cur.outcome in ("failed", "error", "timeout"):
            change = "regression"
        elif base.outcome in ("failed", "error", "timeout") and cur.outcome == "passed":
            change = "improvement"
        else:
            continue
        changes.append(ScenarioChange(suite=cur.suite, id=cur.id, baseline=base.outcome, current=cur.outcome,
                                      change=change, quality_delta=cur.quality - base.quality))
    for key, base in base_by.items():
        if key not in cur_by and (not current.suites or base.suite in current.suites) and not current.selection.get("tags") \
                and not current.selection.get("split") and not current.selection.get("ids"):
            changes.append(ScenarioChange(suite=base.suite, id=base.id, baseline=base.outcome, current=None,
                                          change="removed"))
    n_regressed = sum(c.change == "regression" for c in changes)
    regressed = any(m.verdict == "regression" for m in metrics) or n_regressed > t.scenario_regressions
    improved = any(m.verdict == "improvement" for m in metrics) or any(c.change == "improvement" for c in changes)
    return Comparison(baseline_label=baseline.label or "baseline", current_label=current.label or "current",
                      thresholds=t, metrics=metrics, scenarios=changes, regressed=regressed, improved=improved)


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
