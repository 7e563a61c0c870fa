"""JUnit XML for CI systems: one ``testsuite`` per suite, one ``testcase`` per scenario.

Failed scenarios are ``<failure>``, errors and timeouts ``<error>``, judge-only scenarios without a judge
``<skipped>``. A baseline comparison becomes an extra ``eval-comparison`` suite whose regressions fail,
so a CI dashboard shows them next to the scenarios. Validated against ``schema/junit-10.xsd``.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from ..results import EvalReport, ScenarioResult

JUNIT_XSD = Path(__file__).resolve().parent.parent / "schema" / "junit-10.xsd"
_ILLEGAL = dict.fromkeys([c for c in range(32) if c not in (9, 10, 13)], " ")


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; replace them instead of writing an unreadable file."""
    return str(text).translate(_ILLEGAL)


def _secs(ms: float) -> str:
    return f"{max(ms, 0.0) / 1000:.3f}"


def _case_details(sc: ScenarioResult) -> str:
    lines = []
    for attempt in sc.attempts:
        lines.append(f"attempt {attempt.attempt} (seed {attempt.seed}): {attempt.outcome}"
                     + (f" - {attempt.reason}" if attempt.reason else ""))
        for check in attempt.checks:
            if check.status != "passed":
                lines.append(f"  [{check.status}] {check.name}: {check.message}")
                lines.append(f"      expected: {check.expected!r}")
                lines.append(f"      actual:   {check.actual!r}")
    return _clean("\n".join(lines))


def _trace_text(sc: ScenarioResult) -> str:
    attempt = sc.attempts[-1] if sc.attempts else None
    if attempt is None or attempt.trace is None:
        return ""
    t = attempt.trace
    out = [f"run {t.run_id} status={t.status} planner={t.planner}"]
    for sub in t.subtasks:
        verdict = (sub.safety or {}).get("action", "-")
        out.append(f"  {sub.subtask_id} -> {sub.agent} [{sub.status}] decided_by={sub.decided_by} safety={verdict} "
                   f"{sub.duration_ms:.1f} ms")
    if t.text:
        out.append("answer: " + t.text[:2000])
    return _clean("\n".join(out))


def to_junit_xml(report: EvalReport) -> bytes:
    root = ET.Element("testsuites", name=report.label or "genesis-eval", tests=str(report.total),
                      failures=str(report.failed), errors=str(report.errors + report.timeouts),
                      skipped=str(report.skipped), time=f"{report.wall_time_s:.3f}")
    stamp = datetime.fromtimestamp(report.created_at or 0, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    host = socket.gethostname()
    for suite in report.suites:
        cases = [s for s in report.scenarios if s.suite == suite]
        node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                             failures=str(sum(s.outcome == "failed" for s in cases)),
                             errors=str(sum(s.outcome in ("error", "timeout") for s in cases)),
                             skipped=str(sum(s.outcome == "skipped" for s in cases)),
                             time=_secs(sum(a.latency_ms for s in cases for a in s.attempts)),
                             timestamp=stamp, hostname=host)
        props = ET.SubElement(node, "properties")
        ran = [s for s in cases if s.outcome != "skipped"]
        for name, value in (("pass_rate", sum(s.outcome == "passed" for s in ran) / len(ran) if ran else 0.0),
                            ("quality", sum(s.quality for s in ran) / len(ran) if ran else 0.0),
                            ("cost_usd", sum(s.cost_usd for s in cases)),
                            ("concurrency", report.concurrency), ("judge", report.judge or "none")):
            ET.SubElement(props, "property", name=name, value=f"{value:.6g}" if isinstance(value, float) else str(value))
        for sc in cases:
            file, _, line = sc.source.rpartition(":")
            attrs = {"name": sc.id, "classname": f"genesis.eval.{suite}", "time": _secs(sc.latency_ms),
                     "assertions": str(sum(len(a.checks) for a in sc.attempts))}
            if file and line.isdigit():
                attrs.update(file=file, line=line)
            case = ET.SubElement(node, "testcase", attrs)
            if sc.outcome == "skipped":
                ET.SubElement(case, "skipped", message=_clean(sc.reason))
            elif sc.outcome in ("error", "timeout"):
                err = ET.SubElement(case, "error", message=_clean(sc.reason), type=sc.outcome)
                err.text = _case_details(sc)
            elif sc.outcome == "failed":
                fail = ET.SubElement(case, "failure", message=_clean(sc.reason), type="assertion")
                fail.text = _case_details(sc)
            trace = _trace_text(sc)
            if trace:
                ET.SubElement(case, "system-out").text = trace
    if report.comparison is not None:
        cmp = report.comparison
        cases_n = len(cmp.metrics) + len(cmp.scenarios)
        regressions = sum(m.verdict == "regression" for m in cmp.metrics) + sum(
            s.change == "regression" for s in cmp.scenarios)
        node = ET.SubElement(root, "testsuite", name="eval-comparison", tests=str(cases_n), failures=str(regressions),
                             errors="0", skipped="0", time="0.000", timestamp=stamp, hostname=host)
        props = ET.SubElement(node, "properties")
        ET.SubElement(props, "property", name="baseline", value=cmp.baseline_label)
        for m in cmp.metrics:
            case = ET.SubElement(node, "testcase", name=m.metric, classname="genesis.eval.comparison", time="0.000")
            if m.verdict == "regression":
                ET.SubElement(case, "failure", type="regression",
                              message=f"{m.metric}: {m.baseline:.6g} -> {m.current:.6g} ({m.threshold})")
            ET.SubElement(case, "system-out").text = f"{m.verdict}: {m.baseline:.6g} -> {m.current:.6g}"
        for s in cmp.scenarios:
            case = ET.SubElement(node, "testcase", name=f"{s.suite}::{s.id}", classname="genesis.eval.comparison",
                                 time="0.000")
            if s.change == "regression":
                ET.SubElement(case, "failure", type="regression", message=f"{s.baseline} -> {s.current}")
            ET.SubElement(case, "system-out").text = f"{s.change}: {s.baseline} -> {s.current}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(report: EvalReport, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(to_junit_xml(report))
    return p


def validate_junit(xml: bytes | str | Path) -> list[str]:
    """Validate JUnit XML against the shipped XSD; returns the problems (empty list = valid)."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    source = str(xml) if isinstance(xml, Path) else (xml.decode("utf-8") if isinstance(xml, bytes) else xml)
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(source)]
