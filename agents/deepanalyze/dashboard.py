"""A self-contained HTML dashboard: headline numbers, interpretation notes, charts inlined as base64
PNG, result tables and the SQL that produced them. One file, no external assets, safe to e-mail."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from .fmt import fmt

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111;background:#f8fafc}
h1{font-size:22px}h2{font-size:16px;margin-top:28px}.kpis{display:flex;gap:12px;flex-wrap:wrap}
.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;min-width:140px}
.kpi b{display:block;font-size:22px}.kpi span{color:#475569;font-size:12px}
table{border-collapse:collapse;background:#fff;font-size:13px}td,th{border:1px solid #e2e8f0;padding:4px 8px;text-align:left}
th{background:#f1f5f9}.note{background:#fff7ed;border-left:4px solid #f97316;padding:6px 10px;margin:4px 0}
.warn{background:#fef2f2;border-left:4px solid #dc2626;padding:6px 10px;margin:4px 0}
img{max-width:100%;background:#fff;border:1px solid #e2e8f0;border-radius:6px}pre{background:#0f172a;color:#e2e8f0;padding:10px;overflow:auto}
.narrative{background:#fff;border:1px solid #e2e8f0;padding:10px 14px;border-radius:8px;white-space:pre-wrap}"""


def _table(rows: list[dict[str, Any]], units: dict[str, str] | None = None, limit: int = 50) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    cols = list(rows[0].keys())
    units = units or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c), units.get(c, 'number')))}</td>" for c in cols)
                   + "</tr>" for r in rows[:limit])
    more = f"<p>{len(rows) - limit} more rows not shown</p>" if len(rows) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def build(path: Path, *, title: str, question: str, narrative: str, kpis: list[tuple[str, str]],
          notes: list[str], warnings: list[str], charts: list[Path], tables: list[tuple[str, list[dict], dict]],
          sql: str | None, profile: list[dict[str, Any]]) -> Path:
    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
              f"<style>{CSS}</style></head><body>"),
             f"<h1>{html.escape(title)}</h1><p><i>{html.escape(question)}</i></p>"]
    if kpis:
        parts.append("<div class='kpis'>" + "".join(
            f"<div class='kpi'><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>" for k, v in kpis) + "</div>")
    parts.append(f"<h2>Answer</h2><div class='narrative'>{html.escape(narrative)}</div>")
    for n in notes:
        parts.append(f"<div class='note'>{html.escape(n)}</div>")
    for w in warnings:
        parts.append(f"<div class='warn'>{html.escape(w)}</div>")
    for c in charts:
        b64 = base64.b64encode(Path(c).read_bytes()).decode("ascii")
        parts.append(f"<h2>{html.escape(Path(c).stem.replace('_', ' '))}</h2><img alt='{html.escape(Path(c).stem)}' "
                     f"src='data:image/png;base64,{b64}'>")
    for name, rows, units in tables:
        parts.append(f"<h2>{html.escape(name)}</h2>{_table(rows, units)}")
    if sql:
        parts.append(f"<h2>Query</h2><pre>{html.escape(sql)}</pre>")
    if profile:
        parts.append(f"<h2>Data profile</h2>{_table(profile)}")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
