"""A self-contained HTML report: summary, baseline comparison, and every scenario with its checks and trace.

One file, inline CSS and JS, no external requests: it can be attached to a CI run or mailed. Every value
from a run is escaped; the small script only filters rows and marks the page as rendered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from ..results import AttemptResult, Comparison, EvalReport, RunTrace, ScenarioResult

CSS = """
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
color:#1d2430;background:#f4f6f9}header{background:#1d2430;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px}header .sub{color:#aab4c3;font-size:12px;margin-top:4px}
main{padding:18px 28px}.banner{display:inline-block;padding:3px 10px;border-radius:4px;font-weight:700;margin-left:10px}
.ok{background:#1f9d55;color:#fff}.bad{background:#d64545;color:#fff}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 18px}.card{background:#fff;border-radius:6px;padding:10px 14px;
min-width:130px;box-shadow:0 1px 2px rgba(0,0,0,.08)}.card .v{font-size:22px;font-weight:700}.card .k{color:#5b6677;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 14px}th,td{padding:5px 8px;border-bottom:1px solid #e3e7ee;
text-align:left;vertical-align:top}th{background:#eef1f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.o-passed{color:#1f9d55;font-weight:700}.o-failed,.o-error,.o-regression{color:#d64545;font-weight:700}
.o-timeout{color:#9b3cc4;font-weight:700}.o-skipped{color:#b7791f;font-weight:700}.o-improvement{color:#1f9d55;font-weight:700}
.o-unchanged{color:#8792a2}.o-new{color:#2b7bb9}.o-removed{color:#b7791f}
details.sc{background:#fff;border-radius:6px;margin:6px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
details.sc>summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:baseline;flex-wrap:wrap}
details.sc>summary .id{font-family:ui-monospace,Menlo,monospace;font-weight:600}details.sc>summary .reason{color:#5b6677;flex:1 1 300px}
details.sc .body{padding:4px 14px 12px}pre{background:#f6f8fa;padding:8px;border-radius:4px;white-space:pre-wrap;
word-break:break-word;max-height:320px;overflow:auto;margin:4px 0}.muted{color:#8792a2}
.tl{position:relative;height:16px;background:#eef1f6;border-radius:3px;min-width:200px}.tl .bar{position:absolute;top:2px;
height:12px;background:#4a7fd4;border-radius:2px}.tl .bar.error{background:#d64545}
.filters{display:flex;gap:12px;align-items:center;margin:10px 0}.filters input[type=search]{padding:5px 8px;width:280px}
h2{font-size:16px;margin:18px 0 6px}h3{font-size:14px;margin:12px 0 4px}h4{font-size:13px;margin:10px 0 4px;color:#3d4757}
"""

JS = """
(function(){
  var rows=[].slice.call(document.querySelectorAll('details.sc'));
  var q=document.getElementById('q'),boxes=[].slice.call(document.querySelectorAll('input[data-outcome]'));
  var shown=document.getElementById('shown');
  function apply(){var text=(q.value||'').toLowerCase(),on={},n=0;
    boxes.forEach(function(b){on[b.dataset.outcome]=b.checked});
    rows.forEach(function(r){var ok=on[r.dataset.outcome]!==false&&r.dataset.search.indexOf(text)>=0;
      r.style.display=ok?'':'none';if(ok)n++});shown.textContent=n+' of '+rows.length+' shown';}
  q.addEventListener('input',apply);boxes.forEach(function(b){b.addEventListener('change',apply)});
  document.getElementById('expand').addEventListener('click',function(){rows.forEach(function(r){r.open=true})});
  document.getElementById('collapse').addEventListener('click',function(){rows.forEach(function(r){r.open=false})});
  apply();document.body.setAttribute('data-rendered','true');
})();
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _json(value: Any, limit: int = 3000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    return _e(text if len(text) <= limit else text[:limit] + " ...")


def _ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _cards(r: EvalReport) -> str:
    items = [("pass rate", f"{r.pass_rate:.1%}"), ("quality", f"{r.quality_score:.3f}"), ("passed", r.passed),
             ("failed", r.failed), ("errors", r.errors), ("timeouts", r.timeouts), ("skipped", r.skipped),
             ("cost", f"${r.cost_usd:.4f}"), ("latency p50", _ms(r.latency_ms_p50)),
             ("latency p95", _ms(r.latency_ms_p95)), ("wall time", f"{r.wall_time_s:.2f} s"),
             ("concurrency", r.concurrency)]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>' for k, v in items) + "</div>"


def _comparison(cmp: Comparison) -> str:
    rows = []
    for m in cmp.metrics:
        rel = f" ({m.relative:+.0%})" if m.relative is not None else ""
        rows.append(f"<tr><td>{_e(m.metric)}</td><td class=num>{m.baseline:.4g}</td><td class=num>{m.current:.4g}</td>"
                    f"<td class=num>{m.delta:+.4g}{_e(rel)}</td><td>{_e(m.threshold)}</td>"
                    f'<td class="o-{m.verdict}">{m.verdict}</td></tr>')
    for s in cmp.scenarios:
        rows.append(f"<tr><td>{_e(s.suite)}::{_e(s.id)}</td><td>{_e(s.baseline)}</td><td>{_e(s.current)}</td>"
                    f'<td class=num>{s.quality_delta:+.3f}</td><td></td><td class="o-{s.change}">{s.change}</td></tr>')
    head = '<tr><th>metric / scenario</th><th>baseline</th><th>current</th><th>delta</th><th>threshold</th><th>verdict</th></tr>'
    state = '<span class="banner bad">REGRESSION</span>' if cmp.regressed else '<span class="banner ok">no regression</span>'
    return (f"<h2>Comparison with baseline {_e(cmp.baseline_label)} {state}</h2>"
            f'<table id="comparison">{head}{"".join(rows)}</table>')


def _checks(attempt: AttemptResult) -> str:
    if not attempt.checks:
        return '<p class="muted">no checks evaluated</p>'
    rows = "".join(
        f'<tr><td class="o-{c.status}">{c.status}</td><td>{_e(c.name)}</td><td><pre>{_json(c.expected, 600)}</pre></td>'
        f"<td><pre>{_json(c.actual, 600)}</pre></td><td>{_e(c.message)}</td></tr>" for c in attempt.checks)
    return f"<table><tr><th>status</th><th>check</th><th>expected</th><th>actual</th><th>message</th></tr>{rows}</table>"


def _trace(t: RunTrace) -> str:
    parts = [f'<p class="muted">run {_e(t.run_id)} · status {_e(t.status)} · planner {_e(t.planner)}</p>']
    if t.subtasks:
        rows = []
        for s in t.subtasks:
            verdict = (s.safety or {}).get("action", "—")
            arts = ", ".join(f"{a['name']} ({a['media_type']}, {a['size_bytes']} B)" for a in s.artifacts)
            rows.append(
                f"<tr><td>{_e(s.subtask_id)}</td><td>{_e(s.agent)}</td><td>{_e(s.decided_by)}</td><td>{_e(s.status)}</td>"
                f"<td>{_e(verdict)}</td><td class=num>{_ms(s.duration_ms)}</td><td>{_e(s.explanation)}</td></tr>"
                + (f'<tr><td></td><td colspan=6><pre>{_e(s.output)}</pre>'
                   + (f"<pre>{_json(s.data)}</pre>" if s.data is not None else "")
                   + (f"<div>artifacts: {_e(arts)}</div>" if arts else "")
                   + (f"<pre>{_json(s.error)}</pre>" if s.error else "")
                   + (f"<pre>safety: {_json(s.safety, 1200)}</pre>" if s.safety else "") + "</td></tr>"))
        parts.append("<h4>Plan, routing and results</h4><table><tr><th>subtask</th><th>agent</th><th>decided by</th>"
                     f"<th>status</th><th>safety</th><th>time</th><th>why</th></tr>{''.join(rows)}</table>")
    if t.spans:
        end = max((s.start_ms + s.duration_ms for s in t.spans), default=1.0) or 1.0
        rows = []
        for span in t.spans:
            left, width = 100 * span.start_ms / end, max(0.5, 100 * span.duration_ms / end)
            cls = "bar error" if span.status == "error" else "bar"
            rows.append(f"<tr><td>{_e(span.name)}</td><td class=num>{span.start_ms:.1f}</td>"
                        f"<td class=num>{_ms(span.duration_ms)}</td>"
                        f'<td><div class="tl"><div class="{cls}" style="left:{left:.2f}%;width:{min(width, 100 - left):.2f}%">'
                        f"</div></div></td></tr>")
        parts.append("<h4>Trace</h4><table><tr><th>span</th><th>start ms</th><th>duration</th><th>timeline</th></tr>"
                     f"{''.join(rows)}</table>")
    if t.error:
        parts.append(f"<h4>Run error</h4><pre>{_json(t.error)}</pre>")
    if t.text:
        parts.append(f"<h4>Answer</h4><pre>{_e(t.text)}</pre>")
    return "".join(parts)


def _scenario(sc: ScenarioResult, *, open_: bool = False) -> str:
    search = " ".join([sc.suite, sc.id, sc.description, sc.reason, *sc.tags]).lower()
    pk = " ".join(f"p@{k}={v:.2f}" for k, v in sc.pass_at_k.items())
    body = [(f"<p>{_e(sc.description)}</p>" if sc.description else ""),
            (f'<p class="muted">source {_e(sc.source)} · tags {_e(", ".join(sc.tags) or "—")} · split {_e(sc.split)}'
            f" · priority {_e(sc.priority)} · {sc.passes}/{sc.n} passed {_e(pk)} · quality {sc.quality:.3f}"
            f"±{sc.quality_std:.3f} · latency {_ms(sc.latency_ms)}±{_ms(sc.latency_std_ms)} · cost ${sc.cost_usd:.4f}</p>")]
    for a in sc.attempts:
        body.append(f'<h3>Attempt {a.attempt} · seed {a.seed} · <span class="o-{a.outcome}">{a.outcome}</span>'
                    f" · {_ms(a.latency_ms)}{' · resumed' if a.resumed else ''}</h3>")
        if a.reason:
            body.append(f"<p>{_e(a.reason)}</p>")
        body.append(_checks(a))
        if a.trace is not None:
            body.append(_trace(a.trace))
        elif a.error:
            body.append(f"<pre>{_json(a.error)}</pre>")
    return (f'<details class="sc" data-outcome="{sc.outcome}" data-search="{_e(search)}"{" open" if open_ else ""}>'
            f'<summary><span class="o-{sc.outcome}">{sc.outcome}</span><span class="id">{_e(sc.suite)}::{_e(sc.id)}</span>'
            f"<span>{sc.passes}/{sc.n}</span><span>q {sc.quality:.2f}</span><span>{_ms(sc.latency_ms)}</span>"
            f'<span class="reason">{_e(sc.reason[:240])}</span></summary><div class="body">{"".join(body)}</div></details>')


def to_html(report: EvalReport) -> str:
    created = datetime.fromtimestamp(report.created_at or 0, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    banner = '<span class="banner ok">OK</span>' if report.ok else '<span class="banner bad">FAILED</span>'
    order = {"failed": 0, "error": 1, "timeout": 2, "skipped": 3, "passed": 4}
    scenarios = sorted(report.scenarios, key=lambda s: (order[s.outcome], s.suite, s.id))
    boxes = "".join(f'<label><input type="checkbox" data-outcome="{o}" checked> {o}</label>' for o in order)
    sel = {k: v for k, v in report.selection.items() if v}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Genesis eval · {_e(report.label)}</title><style>{CSS}</style></head>
<body data-rendered="false"><header><h1>Genesis eval · {_e(report.label)} {banner}</h1>
<div class="sub">{_e(created)} · suites {_e(", ".join(report.suites))} · selection {_e(json.dumps(sel) if sel else "all")}
 · judge {_e(report.judge or "none (rubrics skipped)")} · python {_e(report.environment.get("python", "?"))}</div></header>
<main>{_cards(report)}{_comparison(report.comparison) if report.comparison else ""}
<h2>Scenarios</h2><div class="filters"><input id="q" type="search" placeholder="filter by id, tag, reason">{boxes}
<button id="expand" type="button">expand all</button><button id="collapse" type="button">collapse all</button>
<span id="shown" class="muted"></span></div>
<div id="scenarios">{"".join(_scenario(s, open_=(i == 0 and s.outcome != "passed")) for i, s in enumerate(scenarios))}</div></main>
<script>{JS}</script></body></html>
"""


def write_html(report: EvalReport, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(to_html(report), encoding="utf-8")
    return p
