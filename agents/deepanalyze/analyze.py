"""The pipeline: load -> infer schema -> plan (LLM SQL or rules) -> execute -> forecast/anomalies ->
findings, chart data, narrative -> charts and dashboard. Synchronous (DuckDB is), so the agent runs it in
a worker thread. ``analyze`` is the single entry point used by the agent, the CLI and the benchmark.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from genesis_agents.infrastructure.errors import BadInputError
from pydantic import BaseModel, Field

from . import anomalies as anomalies_mod
from . import forecast as forecast_mod
from .fmt import fmt
from .loader import load_table
from .narrative import findings_for, narrate
from .ops import OPERATIONS, auto_grain, fill_series, is_partial, jsonable, series
from .parser import parse_question
from .plan import AnalysisPlan
from .schema import Schema, infer_schema

DATA_VERSION = 1


class AnalyzeOptions(BaseModel):
    """Limits and switches; all can be passed as ``task.params``."""

    table: str | None = Field(default=None, description="table/sheet to read from a database or workbook")
    encoding: str | None = Field(default=None, description="force a text encoding for CSV files")
    max_groups: int = Field(default=50, ge=1, le=10_000)
    anomaly_threshold: float = Field(default=3.5, gt=0)
    interval: float = Field(default=0.95, gt=0.5, lt=1.0)
    horizon: int | None = Field(default=None, ge=1, le=1000)
    charts: bool = True
    dashboard: bool = True
    use_llm_sql: bool = True
    use_llm_narrative: bool = True
    max_bytes: int = Field(default=2 * 1024**3, ge=1)
    threads: int | None = Field(default=None, ge=1)
    cache: bool = Field(default=True, description="reuse the loaded table and schema for unchanged local files")


@dataclass
class Analysis:
    data: dict[str, Any]
    text: str
    plan: AnalysisPlan
    artifacts: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class _TableCache:
    """Loaded tables and their schemas, reused while the file is unchanged (path, size, mtime).

    Several questions about the same file are the common case (a session, a dashboard, an eval suite);
    parsing a million-row CSV again for each would dominate the answer time. Each entry has a lock, so
    concurrent questions about one file take turns on its DuckDB connection. Only local files are cached.
    """

    def __init__(self, max_entries: int = 4, max_bytes: int = 1 << 30):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[tuple, tuple[Any, Schema, threading.Lock, int]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, source: Any, opts: AnalyzeOptions) -> tuple | None:
        if not opts.cache or isinstance(source, (list, dict)) or "://" in str(source):
            return None
        p = Path(str(source)).expanduser()
        try:
            st = p.stat()
        except OSError:
            return None
        if not p.is_file() or st.st_size > self.max_bytes:
            return None
        return (str(p.resolve()), st.st_size, st.st_mtime_ns, opts.table, opts.encoding, opts.threads)

    def _load(self, source: Any, opts: AnalyzeOptions) -> tuple[Any, Schema]:
        t0 = time.perf_counter()
        lt = load_table(source, table=opts.table, encoding=opts.encoding, max_bytes=opts.max_bytes,
                        threads=opts.threads)
        t1 = time.perf_counter()
        try:
            schema = infer_schema(lt.con, max_categories=60)
            lt.con.execute("SET enable_external_access = false")
        except BaseException:
            lt.close()
            raise
        lt.timings = {"load_s": t1 - t0, "schema_s": time.perf_counter() - t1}
        return lt, schema

    @contextmanager
    def acquire(self, source: Any, opts: AnalyzeOptions) -> Iterator[tuple[Any, Schema, bool]]:
        key = self._key(source, opts)
        if key is None:
            lt, schema = self._load(source, opts)
            try:
                yield lt, schema, False
            finally:
                lt.close()
            return
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        cached = entry is not None
        if entry is None:
            lt, schema = self._load(source, opts)
            entry = (lt, schema, threading.Lock(), key[1])
            with self._lock:
                self._entries[key] = entry
                self._evict()
        lt, schema, lock, _ = entry
        with lock:
            yield lt, schema, cached

    def _evict(self) -> None:
        while len(self._entries) > self.max_entries or (
                len(self._entries) > 1 and sum(e[3] for e in self._entries.values()) > self.max_bytes):
            _, (lt, _, lock, _) = self._entries.popitem(last=False)
            with lock:
                lt.close()

    def clear(self) -> None:
        with self._lock:
            while self._entries:
                _, (lt, _, lock, _) = self._entries.popitem(last=False)
                with lock:
                    lt.close()


_TABLES = _TableCache()
clear_cache = _TABLES.clear


def _time_series_for(con, plan: AnalysisPlan, notes: list[str]) -> tuple[str, list[dict[str, Any]]]:
    grain = plan.grain or auto_grain(con, plan, min_points=forecast_mod.min_points(plan.horizon or 3))
    rows = fill_series(series(con, plan, grain), grain, zero=plan.metric.additive if plan.metric else True)
    if is_partial(con, plan, grain, rows):
        dropped = rows.pop()
        notes.append(f"the last {grain} ({dropped['period']}) is incomplete in the data and was left out of the model")
    return grain, rows


def analyze(source: Any, question: str, *, artifact_dir: Path | None = None, llm: Any = None,
            options: AnalyzeOptions | None = None, source_label: str | None = None) -> Analysis:
    opts = options or AnalyzeOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with _TABLES.acquire(source, opts) as (lt, schema, cached):
        if not cached:
            timings.update(lt.timings)
        t2 = time.perf_counter()
        try:
            result, plan, llm_note = _plan_and_run(lt.con, schema, question, llm, opts)
        except duckdb.Error as exc:  # a plan the data cannot support: say so, never a traceback
            raise BadInputError(f"cannot answer {question!r} on this table: {str(exc).splitlines()[0][:200]}",
                                field="question", hint="name the columns to use, e.g. 'average X by Y'") from None
        timings["analysis_s"] = time.perf_counter() - t2
        notes = [i.reason for i in plan.interpretation if i.ambiguous or "no metric" in i.reason
                 or "matched part" in i.reason or "computed" in i.reason or "taken as" in i.reason]
        notes += lt.notes
        notes += result.pop("_notes", [])
        if llm_note:
            notes.append(llm_note)
        used = set(plan.group_by) | {f.column for f in plan.filters} | set(plan.metric.columns if plan.metric else []) \
            | set(plan.columns)
        warnings = [f"{c.name}: {c.note}" for c in schema.columns if c.non_numeric and (c.name in used or plan.operation == "describe")]
        text = narrate(plan, result, notes=notes, warnings=warnings)
        narrative_source = "rules"
        if llm is not None and opts.use_llm_narrative:
            better = _llm_narrative(llm, question, text)
            if better is not None:
                text, narrative_source = better, "llm"
            else:
                notes.append("the model's narrative was not used (it failed, or used numbers not in the data)")
        findings = findings_for(plan, result)
        chart = result.pop("chart", None)
        data = {
            "version": DATA_VERSION,
            "question": question,
            "operation": plan.operation,
            "source": {"file": source_label or lt.source, "kind": lt.kind, "table": lt.table_name,
                       "encoding": lt.encoding, "rows": schema.rows, "columns": len(schema.columns),
                       "cached": cached},
            "plan": plan.model_dump(mode="json"),
            "interpretation": [i.model_dump() for i in plan.interpretation],
            "metric": plan.metric.model_dump() if plan.metric else None,
            "result": result,
            "answer": _headline(plan, result),
            "findings": findings,
            "chart_data": _chart_data(chart, plan),
            "notes": notes,
            "warnings": warnings,
            "narrative_source": narrative_source,
            "data_quality": schema.data_quality(),
            "schema": [{"name": c.name, "role": c.role, "dtype": c.dtype, "distinct": c.n_distinct,
                        "missing": c.n_null, **({"date_format": c.date_format, "day_first": c.day_first}
                                                if c.date_format else {}),
                        **({"target": True} if c.is_target else {})} for c in schema.columns],
            "sql": result.get("sql"),
        }
        artifacts: list[Path] = []
        if artifact_dir is not None and (opts.charts or opts.dashboard):
            t3 = time.perf_counter()
            artifacts = _render(Path(artifact_dir), plan, result, chart, data, text, schema, lt.con, opts)
            timings["render_s"] = time.perf_counter() - t3
        data["artifacts"] = [p.name for p in artifacts]
        timings["total_s"] = time.perf_counter() - t0
        data["timings"] = {k: round(v, 4) for k, v in timings.items()}
        return Analysis(data=data, text=text, plan=plan, artifacts=artifacts, timings=timings)


def _plan_and_run(con, schema: Schema, question: str, llm: Any, opts: AnalyzeOptions
                  ) -> tuple[dict[str, Any], AnalysisPlan, str | None]:
    llm_note = None
    if llm is not None and opts.use_llm_sql:
        from .sqlgen import llm_sql

        try:
            res, sql, reason = llm_sql(llm, con, schema, question)
        except Exception as exc:  # noqa: BLE001 - model/backend failure: the rules parser still answers
            res, sql, reason = None, "", f"{type(exc).__name__}: {str(exc)[:160]}"
        if res is not None:
            plan = AnalysisPlan(question=question, operation="sql", sql=sql, parser="llm")
            res["_notes"] = ["answered with model-written SQL (validated: single read-only SELECT, columns exist)"]
            return res, plan, None
        llm_note = f"model-written SQL was rejected ({reason}); answered with the rule-based parser"
    plan = parse_question(question, schema, con)
    if opts.horizon and plan.operation == "forecast":
        plan.horizon = opts.horizon
    op = plan.operation
    if op in ("forecast", "anomalies"):
        notes: list[str] = []
        grain, rows = _time_series_for(con, plan, notes)
        plan.grain = grain  # type: ignore[assignment]  # auto_grain returns one of the Grain literals
        vals = [r["value"] for r in rows]
        periods = [r["period"] for r in rows]
        label = plan.metric.label if plan.metric else "value"
        if op == "forecast":
            f = forecast_mod.forecast(vals, periods, grain=grain, horizon=plan.horizon or 3, alpha=1 - opts.interval)
            result = {"grain": grain, "history": rows, "forecast": f,
                      "sql": f"-- {label} per {grain}, then statsmodels {f['model']}",
                      "chart": {"kind": "forecast", "labels": periods + [r["period"] for r in f["forecast"]],
                                "values": vals + [None] * len(f["forecast"]),
                                "forecast": [r["forecast"] for r in f["forecast"]],
                                "lower": [r["lower"] for r in f["forecast"]], "upper": [r["upper"] for r in f["forecast"]],
                                "title": f"{label}: forecast next {f['horizon']} {grain}(s)", "x_label": grain,
                                "y_label": label, "unit": plan.metric.unit if plan.metric else "number"}}
        else:
            a = anomalies_mod.detect(vals, periods, grain=grain, threshold=opts.anomaly_threshold)
            result = {"grain": grain, "history": rows, "anomalies": a,
                      "sql": f"-- {label} per {grain}, robust z-score ({a['method']})",
                      "chart": {"kind": "anomalies", "labels": periods, "values": vals,
                                "title": f"{label} per {grain}: unusual points", "x_label": grain, "y_label": label,
                                "unit": plan.metric.unit if plan.metric else "number"}}
        result["_notes"] = notes
        return result, plan, llm_note
    fn = OPERATIONS[op]
    if op in ("group", "rank"):
        return fn(con, plan, schema, limit=opts.max_groups), plan, llm_note
    return fn(con, plan, schema), plan, llm_note


def _llm_narrative(llm: Any, question: str, reference: str) -> str | None:
    """Let the model rephrase the computed answer; keep it only if every number it uses is in the reference."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from .narrative import numbers_supported

    try:
        reply = llm.invoke([
            SystemMessage(content="Rewrite the analysis below as a short answer for a business reader. Use only "
                                  "numbers that appear in it, written exactly as they appear. Keep the notes "
                                  "and warnings. No new facts."),
            HumanMessage(content=f"Question: {question}\n\nAnalysis:\n{reference}")])
    except Exception:  # noqa: BLE001 - the computed narrative stands on its own
        return None
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    text = text.strip()
    if not text or not numbers_supported(text, reference + "\n" + question):
        return None
    return text


def _headline(plan: AnalysisPlan, r: dict[str, Any]) -> dict[str, Any] | None:
    """The single most important number (for one-line answers and eval)."""
    op = plan.operation
    m = plan.metric
    unit = m.unit if m else "number"
    if op == "aggregate":
        return {"value": r.get("value"), "unit": unit, "label": m.label if m else None}
    if op in ("group", "rank") and r.get("table"):
        top = r["table"][0]
        return {"value": top["value"], "unit": unit, "label": m.label if m else None,
                "segment": " / ".join(str(top[g]) for g in plan.group_by)}
    if op == "forecast":
        return {"value": r["forecast"]["total_forecast"], "unit": unit, "label": f"forecast {m.label if m else ''}".strip()}
    if op == "compare":
        return {"value": r["delta"], "unit": unit, "label": f"change in {m.label if m else ''}", "pct_change": r["pct_change"]}
    if op == "growth":
        return {"value": r["latest_growth"], "unit": "ratio", "label": f"{m.label if m else ''} growth", "period": r["latest"]["period"]}
    if op == "correlation":
        return {"value": r["pearson"], "unit": "number", "label": "pearson r"}
    if op == "drivers" and r.get("drivers"):
        return {"value": r["drivers"][0]["strength"], "unit": "number", "label": "strongest driver",
                "segment": r["drivers"][0]["column"]}
    if op == "anomalies":
        return {"value": len(r["anomalies"]["anomalies"]), "unit": "count", "label": "anomalies"}
    if op == "distribution":
        return {"value": r["stats"]["median"], "unit": unit, "label": f"median {r['column']}"}
    return None


def _chart_data(chart: dict[str, Any] | None, plan: AnalysisPlan) -> dict[str, Any] | None:
    """Compact series for animation: {title, kind, labels, values, unit, x_label, y_label[, series|forecast]}."""
    if not chart:
        return None
    out: dict[str, Any] = {k: chart.get(k) for k in ("title", "kind", "unit", "x_label", "y_label")}
    labels = [str(x) for x in chart.get("labels") or []]
    values = [jsonable(v) for v in chart.get("values") or []]
    for k in ("series", "forecast", "lower", "upper", "matrix", "columns"):
        if k in chart:
            out[k] = chart[k]
    if len(labels) > 500:  # keep it compact: the tail is what a video shows
        labels, values = labels[-500:], values[-500:]
        out["truncated"] = True
    out["labels"], out["values"] = labels, values
    return out


def _render(outdir: Path, plan: AnalysisPlan, result: dict[str, Any], chart: dict[str, Any] | None,
            data: dict[str, Any], text: str, schema: Schema, con, opts: AnalyzeOptions) -> list[Path]:
    from . import charts, dashboard

    outdir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "_", plan.operation + "_" + (plan.metric.name if plan.metric else "result"))[:50]
    pngs: list[Path] = []
    unit = plan.metric.unit if plan.metric else "number"
    if chart and opts.charts:
        extra = None
        if plan.operation == "forecast":
            extra = result["forecast"]
            chart = {**chart, "labels": [r["period"] for r in result["history"]],
                     "values": [r["value"] for r in result["history"]]}
        elif plan.operation == "anomalies":
            extra = result["anomalies"]
        pngs.append(charts.render(chart, outdir / f"{slug}.png", extra=extra))
    # a trend panel for context when the table has dates and the answer is not already a time chart
    if (opts.charts and opts.dashboard and plan.date_column and plan.metric and
            plan.operation in ("aggregate", "group", "rank", "compare", "drivers")):
        try:
            grain = auto_grain(con, plan)
            rows = fill_series(series(con, plan, grain), grain, zero=plan.metric.additive)
            if len(rows) >= 3:
                spec = {"kind": "line", "labels": [r["period"] for r in rows], "values": [r["value"] for r in rows],
                        "title": f"{plan.metric.label} per {grain}", "x_label": grain, "y_label": plan.metric.label,
                        "unit": unit}
                pngs.append(charts.render(spec, outdir / f"trend_{plan.metric.name}_per_{grain}.png"))
        except BadInputError:
            pass
    out = list(pngs)
    if opts.dashboard:
        kpis = [("rows", fmt(schema.rows, "count"))]
        ans = data.get("answer")
        if ans and ans.get("value") is not None:
            kpis.insert(0, (str(ans.get("label") or "answer") + (f" - {ans['segment']}" if ans.get("segment") else ""),
                            fmt(ans["value"], "rate" if ans["unit"] == "ratio" else ans["unit"])))
        units = {"value": unit, "share": "rate", "vs_overall": "number", "n": "count", "growth": "rate", "yoy": "rate"}
        tables = []
        for key, name in (("table", "Result"), ("history", "History")):
            if isinstance(result.get(key), list):
                tables.append((name, result[key], units))
        if plan.operation == "forecast":
            tables.append(("Forecast", result["forecast"]["forecast"], {"forecast": unit, "lower": unit, "upper": unit}))
            tables.append(("Backtest", [{k: v for k, v in b.items()} for b in result["forecast"]["backtest"]["models"]]
                           + [result["forecast"]["backtest"]["naive"]], {}))
        if plan.operation == "anomalies":
            tables.append(("Anomalies", result["anomalies"]["anomalies"], {"value": unit, "expected": unit}))
        if plan.operation == "drivers":
            tables.append(("Drivers", [{"column": d["column"], "measure": d["measure"], "strength": d["strength"],
                                        "top segment": (d.get("top_segment") or {}).get("segment")} for d in result["drivers"]], {}))
        if plan.operation == "compare":
            tables.append(("Periods", [result["current"], result["baseline"]], {"value": unit, "n": "count"}))
            for d in result["drivers"]:
                tables.append((f"Change by {d['dimension']}", d["segments"], {"current": unit, "baseline": unit, "delta": unit}))
        profile = [{"column": s["name"], "role": s["role"], "type": s["dtype"], "distinct": s["distinct"],
                    "missing": s["missing"], "not numbers": data["data_quality"].get(s["name"], {}).get("non_numeric", "")}
                   for s in data["schema"]]
        out.append(dashboard.build(outdir / "dashboard.html", title="DeepAnalyze: " + data["question"][:80],
                                   question=data["question"], narrative=text, kpis=kpis, notes=data["notes"],
                                   warnings=data["warnings"], charts=pngs, tables=tables, sql=data.get("sql"),
                                   profile=profile))
    return out
