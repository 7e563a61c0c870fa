"""Check a ``RunResult`` against a scenario's expectations. Pure functions: no I/O except probing artifacts.

Each expectation becomes one or more ``CheckResult``s with the expected and actual values, so a failed
scenario says exactly what differed.
"""

from __future__ import annotations

import fnmatch
import math
import re
from typing import Any

from ..contracts import AgentResult, RunResult
from .models import ArtifactExpect, BudgetExpect, Expectations, OutputCheck, RoutingExpect, SafetyExpect
from .probe import probe_file
from .results import CheckResult

_MISSING = object()
SEVERITY = {"blocked": 5, "revised": 4, "coached": 3, "monitored": 2, "passed": 1, "unreviewed": 0}


def _short(value: Any, limit: int = 300) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... ({len(value)} chars)"
    if isinstance(value, (list, dict)):
        text = repr(value)
        return value if len(text) <= limit else text[:limit] + "..."
    return value


def final_result(run: RunResult) -> AgentResult | None:
    """The result a user reads: the plan's sink subtask (nothing depends on it); the last one if several."""
    with_result = [r for r in run.results if r.result is not None]
    if not with_result:
        return None
    if run.plan is not None:
        needed = {d for s in run.plan.subtasks for d in s.depends_on}
        order = [s.id for s in run.plan.subtasks]
        sinks = [r for r in with_result if r.subtask_id not in needed]
        pool = sinks or with_result
        pool.sort(key=lambda r: order.index(r.subtask_id) if r.subtask_id in order else len(order))
        return pool[-1].result
    return with_result[-1].result


def resolve_path(root: Any, path: str) -> Any:
    """Follow a dotted path (``data.segments.0.rate``) through dicts and lists; ``_MISSING`` if absent."""
    node = root
    for part in path.split("."):
        if isinstance(node, dict):
            if part not in node:
                return _MISSING
            node = node[part]
        elif isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                return _MISSING
        else:
            return _MISSING
    return node


class RunView:
    """JSON views of a run, computed once per attempt and shared by all output checks."""

    def __init__(self, run: RunResult):
        self.run = run
        self._run_json: dict[str, Any] | None = None
        self._results: dict[str | None, dict[str, Any] | None] = {}

    def run_json(self) -> dict[str, Any]:
        if self._run_json is None:
            self._run_json = self.run.model_dump(mode="json")
        return self._run_json

    def result_json(self, subtask: str | None) -> dict[str, Any] | None:
        if subtask not in self._results:
            if subtask is None:
                res = final_result(self.run)
            else:
                sub = self.run.result_for(subtask)
                res = sub.result if sub else None
            self._results[subtask] = res.model_dump(mode="json") if res is not None else None
        return self._results[subtask]

    def value(self, path: str, subtask: str | None = None) -> tuple[Any, str]:
        """(value or _MISSING, explanation when missing)."""
        if path == "run" or path.startswith("run."):
            root: Any = self.run_json()
            rest = path[4:]
            return (root, "") if not rest else (resolve_path(root, rest), "")
        root = self.result_json(subtask)
        if root is None:
            which = f"subtask {subtask!r}" if subtask else "the run"
            return _MISSING, f"{which} has no agent result"
        return resolve_path(root, path), ""


def _passed(kind: str, name: str, expected: Any, actual: Any, message: str = "") -> CheckResult:
    return CheckResult(kind=kind, name=name, status="passed", expected=_short(expected), actual=_short(actual),
                       message=message, score=1.0)


def _failed(kind: str, name: str, expected: Any, actual: Any, message: str) -> CheckResult:
    return CheckResult(kind=kind, name=name, status="failed", expected=_short(expected), actual=_short(actual),
                       message=message, score=0.0)


def _check(kind: str, name: str, ok: bool, expected: Any, actual: Any, message: str) -> CheckResult:
    return _passed(kind, name, expected, actual) if ok else _failed(kind, name, expected, actual, message)


# ------------------------------------------------------------------------------------------------ status


def check_status(expect: Expectations, run: RunResult) -> list[CheckResult]:
    wanted = expect.expected_statuses()
    if wanted is None:
        return []
    ok = run.status in wanted
    msg = f"run status {run.status!r}, expected {' or '.join(wanted)}"
    if not ok and run.error:
        msg += f": {run.error.get('message', run.error)}"
    elif not ok and run.failed:
        first = run.failed[0]
        detail = (first.error or {}).get("message") or (first.result.error if first.result else "") or ""
        msg += f" (subtask {first.subtask_id} {first.status}{': ' + detail if detail else ''})"
    return [_check("status", "status", ok, wanted, run.status, msg)]


def check_raises(expect: Expectations, run: RunResult | None, error: dict[str, Any] | None) -> list[CheckResult]:
    if not expect.raises:
        return []
    code = (error or {}).get("code") or ((run.error or {}).get("code") if run is not None else None)
    return [_check("raises", "raises", code == expect.raises, expect.raises, code,
                   f"expected error {expect.raises!r}, got {code or 'no error'}")]


# ------------------------------------------------------------------------------------------------ routing


def _plan_depth(run: RunResult) -> int:
    if run.plan is None:
        return 0
    nodes = run.plan.by_id()
    memo: dict[str, int] = {}

    def depth(sid: str, seen: frozenset[str]) -> int:
        if sid in memo:
            return memo[sid]
        if sid in seen:  # a cycle is the validator's problem; do not recurse forever
            return 0
        deps = [d for d in nodes[sid].depends_on if d in nodes]
        memo[sid] = 1 + max((depth(d, seen | {sid}) for d in deps), default=0)
        return memo[sid]

    return max((depth(s, frozenset()) for s in nodes), default=0)


def check_routing(expect: RoutingExpect, run: RunResult) -> list[CheckResult]:
    out: list[CheckResult] = []
    order = [s.id for s in run.plan.subtasks] if run.plan else []
    decisions = sorted(run.decisions, key=lambda d: order.index(d.subtask_id) if d.subtask_id in order else len(order))
    agents = [d.agent for d in decisions]
    used = {a for a in agents if a}
    if expect.agent is not None:
        ok = bool(agents) and all(a == expect.agent for a in agents)
        out.append(_check("routing", "routing.agent", ok, expect.agent, agents,
                          f"routed to {agents or 'nothing'}, expected every subtask on {expect.agent!r}"))
    if expect.agents is not None:
        out.append(_check("routing", "routing.agents", agents == expect.agents, expect.agents, agents,
                          f"agents in plan order {agents}, expected {expect.agents}"))
    for name in expect.agents_include:
        out.append(_check("routing", f"routing.includes[{name}]", name in used, name, sorted(used),
                          f"{name!r} was not used (used: {sorted(used) or 'none'})"))
    for name in expect.agents_exclude:
        out.append(_check("routing", f"routing.excludes[{name}]", name not in used, f"not {name}", sorted(used),
                          f"{name!r} was used"))
    if expect.unassigned is not None:
        any_unassigned = any(a is None for a in agents)
        out.append(_check("routing", "routing.unassigned", any_unassigned == expect.unassigned, expect.unassigned,
                          any_unassigned, "a subtask was left unassigned" if any_unassigned
                          else "every subtask was assigned an agent"))
    if expect.decided_by is not None:
        how = [d.decided_by for d in decisions]
        ok = bool(how) and all(h in expect.decided_by for h in how)
        out.append(_check("routing", "routing.decided_by", ok, expect.decided_by, how,
                          f"decisions made by {how}, expected only {expect.decided_by}"))
    if expect.subtasks is not None:
        n = len(run.plan.subtasks) if run.plan else 0
        out.append(_check("routing", "routing.subtasks", expect.subtasks.contains(n), str(expect.subtasks), n,
                          f"plan has {n} subtask(s), expected {expect.subtasks}"))
    if expect.max_depth is not None:
        depth = _plan_depth(run)
        out.append(_check("routing", "routing.max_depth", depth <= expect.max_depth, expect.max_depth, depth,
                          f"plan dependency chain is {depth} deep, expected at most {expect.max_depth}"))
    if expect.planner is not None:
        got = run.plan.planner if run.plan else None
        out.append(_check("routing", "routing.planner", got == expect.planner, expect.planner, got,
                          f"planned by {got!r}, expected {expect.planner!r}"))
    return out


# ------------------------------------------------------------------------------------------------ output


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return None


def _contains(actual: Any, needle: str, case_sensitive: bool) -> bool:
    if isinstance(actual, str):
        return needle in actual if case_sensitive else needle.lower() in actual.lower()
    if isinstance(actual, dict):
        return needle in actual
    if isinstance(actual, list):
        if case_sensitive:
            return needle in actual
        return needle.lower() in [str(a).lower() for a in actual]
    return False


def check_output(check: OutputCheck, view: RunView) -> list[CheckResult]:
    value, why = view.value(check.path, check.subtask)
    name = f"output.{check.path}" + (f"@{check.subtask}" if check.subtask else "")
    ops = check.operators()
    if "exists" in ops:
        present = value is not _MISSING
        return [_check("output", f"{name} exists", present == check.exists, check.exists, present,
                       f"path {check.path!r} {'is present' if present else 'is missing'}")]
    if value is _MISSING:
        return [_failed("output", name, {op: getattr(check, op) for op in ops}, None,
                        why or f"path {check.path!r} not found in the result")]
    out: list[CheckResult] = []
    for op in ops:
        label = f"{name} {op}"
        if op == "equals":
            ok = value == check.equals or (_as_number(value) is not None and _as_number(check.equals) is not None
                                           and _as_number(value) == _as_number(check.equals)
                                           and not isinstance(value, str))
            out.append(_check("output", label, ok, check.equals, value, f"{check.path} = {_short(value)!r}"))
        elif op in ("contains", "not_contains"):
            needles = getattr(check, op)
            for needle in [needles] if isinstance(needles, str) else needles:
                has = _contains(value, needle, check.case_sensitive)
                ok = has if op == "contains" else not has
                msg = f"{check.path} {'does not contain' if op == 'contains' else 'contains'} {needle!r}"
                out.append(_check("output", f"{label}[{needle}]", ok, needle, value, msg))
        elif op == "regex":
            text = value if isinstance(value, str) else str(value)
            flags = 0 if check.case_sensitive else re.IGNORECASE
            ok = re.search(check.regex or "", text, flags) is not None
            out.append(_check("output", label, ok, check.regex, text, f"{check.path} does not match /{check.regex}/"))
        elif op == "json_schema":
            from jsonschema import Draft202012Validator

            errors = sorted(Draft202012Validator(check.json_schema or {}).iter_errors(value), key=lambda e: e.path)
            msg = ""
            if errors:
                first = errors[0]
                where = "/".join(str(p) for p in first.absolute_path) or "(root)"
                msg = f"{check.path} at {where}: {first.message}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
            out.append(_check("output", label, not errors, "matches schema", value, msg))
        elif op == "approx":
            num = _as_number(value)
            abs_tol = check.tolerance if check.tolerance is not None else (0.0 if check.rel_tolerance else 1e-9)
            ok = num is not None and math.isclose(num, check.approx or 0.0, abs_tol=abs_tol,
                                                  rel_tol=check.rel_tolerance or 0.0)
            tol = f"±{abs_tol:g}" + (f" or ±{check.rel_tolerance:.1%}" if check.rel_tolerance else "")
            out.append(_check("output", label, ok, f"{check.approx} {tol}", value,
                              f"{check.path} = {value!r}, expected {check.approx} {tol}" if num is not None
                              else f"{check.path} is not a number: {_short(value)!r}"))
        elif op in ("min", "max"):
            num = _as_number(value)
            bound = getattr(check, op)
            ok = num is not None and (num >= bound if op == "min" else num <= bound)
            rel = ">=" if op == "min" else "<="
            out.append(_check("output", label, ok, f"{rel} {bound}", value,
                              f"{check.path} = {value!r}, expected {rel} {bound}"))
    return out


# ------------------------------------------------------------------------------------------------ artifacts


def _artifact_problems(expect: ArtifactExpect, props: dict[str, Any], path: str) -> list[str]:
    problems = []
    if not props.get("exists"):
        return ["file does not exist"]
    if "error" in props and expect.needs_probe():
        return [f"cannot read file: {props['error']}"]
    if expect.min_size_bytes is not None and props["size_bytes"] < expect.min_size_bytes:
        problems.append(f"size {props['size_bytes']} B < {expect.min_size_bytes} B")
    dur = props.get("duration_s")
    if expect.duration_s is not None and (dur is None or abs(dur - expect.duration_s) > expect.duration_tolerance_s):
        problems.append(f"duration {dur} s, expected {expect.duration_s}±{expect.duration_tolerance_s} s")
    if expect.min_duration_s is not None and (dur is None or dur < expect.min_duration_s):
        problems.append(f"duration {dur} s < {expect.min_duration_s} s")
    if expect.max_duration_s is not None and (dur is None or dur > expect.max_duration_s):
        problems.append(f"duration {dur} s > {expect.max_duration_s} s")
    for key in ("width", "height"):
        want = getattr(expect, key)
        if want is not None and props.get(key) != want:
            problems.append(f"{key} {props.get(key)}, expected {want}")
    fps = props.get("fps")
    if expect.fps is not None and (fps is None or abs(fps - expect.fps) > expect.fps_tolerance):
        problems.append(f"fps {fps}, expected {expect.fps}±{expect.fps_tolerance}")
    if expect.has_audio is not None and props.get("has_audio") != expect.has_audio:
        problems.append(f"has_audio {props.get('has_audio')}, expected {expect.has_audio}")
    if expect.text_contains is not None or expect.text_not_contains is not None:
        text = read_text(path)
        for needle in _as_list(expect.text_contains):
            if needle not in text:
                problems.append(f"does not contain {needle!r}")
        for needle in _as_list(expect.text_not_contains):
            if needle in text:
                problems.append(f"contains {needle!r}")
    return problems


MAX_TEXT_BYTES = 5 * 1024 * 1024


def _as_list(value: str | list[str] | None) -> list[str]:
    return [] if value is None else ([value] if isinstance(value, str) else list(value))


def read_text(path: str) -> str:
    """The first 5 MB of a file as text (undecodable bytes replaced), for text checks on artifacts."""
    with open(path, "rb") as fh:
        return fh.read(MAX_TEXT_BYTES).decode("utf-8", errors="replace")


def check_artifact(expect: ArtifactExpect, run: RunResult) -> list[CheckResult]:
    name = "artifact" + (f"[{expect.name}]" if expect.name else "") + (f"[{expect.media_type}]" if expect.media_type else "")
    candidates = [a for a in run.artifacts
                  if (expect.name is None or fnmatch.fnmatch(a.name, expect.name))
                  and (expect.media_type is None or fnmatch.fnmatch(a.media_type, expect.media_type))]
    good, measured, problems = 0, [], []
    for art in candidates:
        props = probe_file(art.path, art.media_type)
        measured.append({"name": art.name, **{k: v for k, v in props.items() if k != "exists"}})
        issues = _artifact_problems(expect, props, art.path)
        if issues:
            problems.append(f"{art.name}: {'; '.join(issues)}")
        else:
            good += 1
    ok = expect.count.contains(good)
    expected = expect.model_dump(exclude_none=True, exclude_defaults=True) or {"count": str(expect.count)}
    if not candidates:
        msg = f"no artifact matches (run produced {[a.name for a in run.artifacts] or 'none'})"
    else:
        names = [m["name"] for m in measured]
        msg = (f"{good} matching artifact(s) of {names}, expected {expect.count}"
               + (f": {'; '.join(problems)}" if problems else ""))
    return [_check("artifact", name, ok, expected, measured, msg)]


# ------------------------------------------------------------------------------------------------ safety / budget


def safety_summary(run: RunResult) -> tuple[str | None, list[str]]:
    """The most severe verdict across subtasks, and all labels. A 'blocked' subtask status counts as blocked."""
    actions: list[str] = []
    labels: list[str] = []
    for sub in run.results:
        if sub.result is not None and sub.result.safety is not None:
            actions.append(sub.result.safety.action)
            labels.extend(sub.result.safety.labels)
        elif sub.status == "blocked":
            actions.append("blocked")
    if not actions:
        return None, labels
    return max(actions, key=lambda a: SEVERITY.get(a, 0)), labels


def check_safety(expect: SafetyExpect, run: RunResult) -> list[CheckResult]:
    action, labels = safety_summary(run)
    out = [_check("safety", "safety.action", action in expect.actions, expect.actions, action,
                  f"safety verdict {action or 'missing (no reviewed result)'}, expected {' or '.join(expect.actions)}")]
    for prefix in expect.labels_include:
        ok = any(label.startswith(prefix) for label in labels)
        out.append(_check("safety", f"safety.label[{prefix}]", ok, prefix, labels, f"no label starts with {prefix!r}"))
    return out


def check_budget(expect: BudgetExpect, run: RunResult | None, latency_ms: float) -> list[CheckResult]:
    out: list[CheckResult] = []
    usage = run.usage if run is not None else None
    if expect.max_latency_ms is not None:
        out.append(_check("budget", "budget.latency_ms", latency_ms <= expect.max_latency_ms, expect.max_latency_ms,
                          round(latency_ms, 2), f"took {latency_ms:.0f} ms, budget {expect.max_latency_ms:.0f} ms"))
    if usage is None:
        return out
    if expect.max_cost_usd is not None:
        out.append(_check("budget", "budget.cost_usd", usage.cost_usd <= expect.max_cost_usd, expect.max_cost_usd,
                          usage.cost_usd, f"cost ${usage.cost_usd:.6f}, budget ${expect.max_cost_usd:.6f}"))
    if expect.max_tokens is not None:
        out.append(_check("budget", "budget.tokens", usage.total_tokens <= expect.max_tokens, expect.max_tokens,
                          usage.total_tokens, f"{usage.total_tokens} tokens, budget {expect.max_tokens}"))
    if expect.max_llm_calls is not None:
        out.append(_check("budget", "budget.llm_calls", usage.llm_calls <= expect.max_llm_calls, expect.max_llm_calls,
                          usage.llm_calls, f"{usage.llm_calls} LLM calls, budget {expect.max_llm_calls}"))
    return out


def evaluate_run(expect: Expectations, run: RunResult, latency_ms: float) -> list[CheckResult]:
    """Every deterministic check for a finished run (the judge is evaluated separately: it is async)."""
    view = RunView(run)
    checks = check_raises(expect, run, None) + check_status(expect, run)
    if expect.routing is not None:
        checks += check_routing(expect.routing, run)
    for output in expect.output:
        checks += check_output(output, view)
    for artifact in expect.artifacts:
        checks += check_artifact(artifact, run)
    if expect.safety is not None:
        checks += check_safety(expect.safety, run)
    if expect.budget is not None:
        checks += check_budget(expect.budget, run, latency_ms)
    return checks
