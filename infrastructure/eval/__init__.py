"""Scripted evaluation runs: scenario suites, assertions, the runner, reports, baselines and comparisons.

    from genesis_agents.infrastructure.eval import EvalRunner
    report = EvalRunner(Genesis, concurrency=4).run(["router", "my_suite.yaml"], tags=["smoke"])
    report.ok, report.pass_rate, report.quality_score
"""

from .compare import compare, load_report, save_baseline
from .loader import ScenarioError, builtin_suites, check_agents, load_suite, load_suites, resolve_suite_path
from .models import Scenario, ScenarioTask, Suite, SuiteFile
from .results import (
    AttemptResult,
    CheckResult,
    Comparison,
    EvalReport,
    ScenarioResult,
    Thresholds,
    pass_at_k,
)
from .runner import EvalRunner

__all__ = [
    "AttemptResult", "CheckResult", "Comparison", "EvalReport", "EvalRunner", "Scenario", "ScenarioError",
    "ScenarioResult", "ScenarioTask", "Suite", "SuiteFile", "Thresholds", "builtin_suites", "check_agents",
    "compare", "load_report", "load_suite", "load_suites", "pass_at_k", "resolve_suite_path", "save_baseline",
]
