"""Turn a ``RunResult`` into a compact ``RunTrace`` (plan, decisions, outputs, verdicts, spans).

The trace is what the HTML report shows per scenario and what the journal stores, so it is bounded:
long texts and large data are cut, with the original size said.
"""

from __future__ import annotations

import json
from typing import Any

from ..contracts import RunResult
from .results import RunTrace, SpanTrace, SubtaskTrace

MAX_TEXT = 4000
MAX_DATA = 4000


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text)} chars in all)"


def _bounded_data(data: Any) -> Any:
    blob = json.dumps(data, default=str)
    return data if len(blob) <= MAX_DATA else _cut(blob, MAX_DATA)


def build_trace(run: RunResult) -> RunTrace:
    decisions = {d.subtask_id: d for d in run.decisions}
    results = {r.subtask_id: r for r in run.results}
    subtasks = run.plan.subtasks if run.plan else []
    ids = [s.id for s in subtasks] + [r.subtask_id for r in run.results if r.subtask_id not in {s.id for s in subtasks}]
    by_id = {s.id: s for s in subtasks}
    out = []
    for sid in ids:
        plan_node, dec, res = by_id.get(sid), decisions.get(sid), results.get(sid)
        agent_result = res.result if res else None
        out.append(SubtaskTrace(
            subtask_id=sid,
            text=_cut(plan_node.text, 500) if plan_node else "",
            agent=(res.agent if res and res.agent else (dec.agent if dec else None)),
            status=res.status if res else "not run",
            depends_on=list(plan_node.depends_on) if plan_node else [],
            decided_by=dec.decided_by if dec else None,
            explanation=_cut(dec.explanation, 500) if dec else "",
            output=_cut(agent_result.text) if agent_result else "",
            data=_bounded_data(agent_result.data) if agent_result and agent_result.data else None,
            safety=agent_result.safety.model_dump(mode="json", exclude_none=True) if agent_result and agent_result.safety else None,
            artifacts=[{"name": a.name, "path": a.path, "media_type": a.media_type, "size_bytes": a.size_bytes}
                       for a in (agent_result.artifacts if agent_result else [])],
            error=res.error if res else None,
            duration_ms=round(res.duration_ms, 2) if res else 0.0,
        ))
    t0 = run.started_at
    spans = [SpanTrace(name=s.name, start_ms=round((s.start - t0) * 1000, 2), duration_ms=round(s.duration_ms, 2),
                       status=s.status, attributes={k: v for k, v in list(s.attributes.items())[:12]
                                                    if isinstance(v, (str, int, float, bool))})
             for s in run.trace[:200]]
    return RunTrace(run_id=run.run_id, status=run.status, text=_cut(run.text), planner=run.plan.planner if run.plan else None,
                    subtasks=out, spans=spans, error=run.error)
