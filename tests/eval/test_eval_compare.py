"""Baselines: a run that got worse is a regression (and fails), one that got better is an improvement."""

from __future__ import annotations

import json

import pytest
from genesis_agents.infrastructure.errors import BadInputError, NotFoundError
from genesis_agents.infrastructure.eval import EvalRunner, Thresholds, compare, load_report, save_baseline

SUITE = """
suite: arith
scenarios:
  - id: a
    task: {text: "add 1 and 2", agent: calc}
    expect: {output: {path: data.sum, equals: 3}}
  - id: b
    task: {text: "add 2 and 2", agent: calc}
    expect: {output: {path: data.sum, equals: EXPECTED}}
  - id: c
    task: {text: "add 5 and 5", agent: calc}
    expect: {output: {path: data.sum, min: 1}}
"""


async def _report(make_host, write_suite, expected: int, **kw):
    return await EvalRunner(make_host).arun(write_suite(SUITE.replace("EXPECTED", str(expected))), **kw)


async def test_regression_against_baseline_fails_the_run(make_host, write_suite, tmp_path):
    good = await _report(make_host, write_suite, 4)
    assert good.ok and good.passed == 3
    path = save_baseline(good, tmp_path / "baseline.json")
    saved = json.loads(path.read_text())
    assert saved["scenarios"][0]["attempts"][0]["trace"] is None  # baselines are stripped of traces

    worse = await _report(make_host, write_suite, 5, baseline=path)
    cmp = worse.comparison
    assert cmp is not None and cmp.regressed and not worse.ok
    assert worse.failed == 1  # ... and the scenario failure alone would fail it too
    changes = {(c.id, c.change) for c in cmp.scenarios}
    assert changes == {("b", "regression")}
    rate = next(m for m in cmp.metrics if m.metric == "pass_rate")
    assert rate.verdict == "regression" and rate.baseline == 1.0 and rate.current == pytest.approx(2 / 3)
    assert any("arith::b: passed -> failed" in r for r in cmp.regressions)

    # the other way round it is an improvement, not a regression
    back = compare(worse, good, Thresholds(latency_increase=1000.0))  # timing noise is not under test here
    assert back.improved and not back.regressed and {(c.id, c.change) for c in back.scenarios} == {("b", "improvement")}


async def test_regression_even_when_every_scenario_passes(make_host, write_suite):
    """Metric thresholds: slower or costlier beyond the threshold regresses though nothing failed."""
    base = await _report(make_host, write_suite, 4)
    cur = base.model_copy(deep=True)
    for sc in cur.scenarios:
        sc.latency_ms = sc.latency_ms * 3 + 100  # > +50% and > 50 ms
        sc.cost_usd = 0.01
    base_cost = base.model_copy(deep=True)
    for sc in base_cost.scenarios:
        sc.cost_usd = 0.005
    cmp = compare(base_cost, cur)
    verdicts = {m.metric: m.verdict for m in cmp.metrics}
    assert verdicts == {"pass_rate": "unchanged", "quality": "unchanged", "cost_usd": "regression",
                        "latency_ms_p50": "regression"}
    assert cmp.regressed
    lenient = compare(base_cost, cur, Thresholds(cost_increase=2.0, latency_increase=10.0))
    assert not lenient.regressed


async def test_new_and_removed_scenarios_and_thresholds(make_host, write_suite):
    base = await _report(make_host, write_suite, 4)
    subset = await _report(make_host, write_suite, 5, ids=["a", "b"])
    cmp = compare(base, subset)
    assert {(c.id, c.change) for c in cmp.scenarios} == {("b", "regression")}  # c filtered out, not "removed"
    allowed = compare(base, subset, Thresholds(pass_rate_drop=0.6, quality_drop=0.6, scenario_regressions=1,
                                               latency_increase=1000.0))  # timing noise is not under test
    assert not allowed.regressed
    renamed = base.model_copy(deep=True)
    renamed.scenarios[0].id = "a2"
    changes = {(c.id, c.change) for c in compare(base, renamed).scenarios}
    assert changes == {("a2", "new"), ("a", "removed")}


def test_load_report_errors(tmp_path):
    with pytest.raises(NotFoundError):
        load_report(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(BadInputError, match="invalid JSON"):
        load_report(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"total": "many"}))
    with pytest.raises(BadInputError, match="not an eval report: total"):
        load_report(tmp_path / "other.json")
