"""``DeepAnalyzeAgent``: the Genesis agent wrapping the analytics pipeline.

It finds its table in ``task.inputs`` (a path, a URI or inline records), else in ``task.params``
(``path``/``uri``/``data``), else in upstream results (a table artifact or ``data['rows']``); the question
is ``task.text``. The pipeline runs in a worker thread; findings go to the shared memory with provenance.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, ClassVar

from genesis_agents.infrastructure.contracts import (
    Agent,
    AgentCard,
    AgentContext,
    AgentResult,
    Artifact,
    Skill,
    Task,
    TaskInput,
    Triple,
)
from genesis_agents.infrastructure.errors import BadInputError
from pydantic import ValidationError

from .analyze import AnalyzeOptions, analyze
from .fmt import fmt
from .loader import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

INPUT_TYPES = [".csv", ".parquet", ".xlsx", ".jsonl", ".json", ".db", ".sqlite", ".duckdb", ".tsv", ".xls",
               "text/csv", "application/vnd.apache.parquet",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/json"]
TASK_TYPES = ["analytics", "data_analysis", "business_intelligence", "forecasting", "reporting"]

CARD = AgentCard(
    name="deepanalyze",
    description=("Business analytics on tables (CSV, Parquet, Excel, JSON lines, SQLite/DuckDB, SQL URLs): "
                 "answers questions about revenue, profit, margin, churn, retention, growth, segments and "
                 "drivers with exact numbers, forecasts with backtests and prediction intervals, anomaly "
                 "detection, PNG charts, an HTML dashboard and a short narrative."),
    version="1.0.0",
    cost_tier="free",
    max_concurrency=4,
    tags=["analytics", "data", "business", "tables", "sql", "forecast", "dashboard", "churn", "revenue"],
    provider="genesis",
    skills=[
        Skill(id="metrics", name="Business metrics",
              description="Compute revenue, profit, margin, AOV, ARPU, LTV, counts and averages, filtered by "
                          "segment or period, grouped by any column or time grain.",
              examples=["total revenue for 2017", "monthly revenue by region", "average order value by channel",
                        "average monthly charges by payment method", "how many customers do we have"],
              tags=["revenue", "profit", "margin", "kpi", "aggregate", "group by"], task_types=TASK_TYPES,
              input_types=INPUT_TYPES, output_types=["text/html", "image/png", "application/json"]),
        Skill(id="churn", name="Churn and retention",
              description="Churn rate and retention by segment, signup cohorts and cohort retention matrices.",
              examples=["churn rate by contract type", "retention by signup cohort",
                        "which payment method has the highest churn rate", "churn rate among senior citizens"],
              tags=["churn", "retention", "cohort", "customers"], task_types=TASK_TYPES, input_types=INPUT_TYPES,
              output_types=["text/html", "image/png"]),
        Skill(id="ranking", name="Rankings and comparisons",
              description="Top/bottom N entities by a metric, period-over-period comparison with the segments "
                          "that explain the change, MoM/QoQ/YoY growth.",
              examples=["top 10 customers by profit", "what changed in March", "compare 2017 vs 2016 sales",
                        "month over month revenue growth"],
              tags=["top n", "compare", "growth", "yoy", "mom"], task_types=TASK_TYPES, input_types=INPUT_TYPES),
        Skill(id="drivers", name="Driver analysis",
              description="Which columns and segments are most associated with churn or a metric "
                          "(Cramér's V, correlation ratio, correlation), and correlation between two columns.",
              examples=["what drives churn", "which factors explain revenue",
                        "correlation between tenure and monthly charges"],
              tags=["drivers", "correlation", "explain"], task_types=TASK_TYPES, input_types=INPUT_TYPES),
        Skill(id="forecast", name="Forecasting",
              description="Forecast a metric with statsmodels ETS/ARIMA, the model picked by backtest error, "
                          "with prediction intervals and the backtest reported.",
              examples=["forecast next quarter's sales", "predict revenue for the next 6 months"],
              tags=["forecast", "prediction", "time series"], task_types=TASK_TYPES + ["forecast"],
              input_types=INPUT_TYPES, output_types=["image/png", "text/html"]),
        Skill(id="anomalies", name="Anomaly detection",
              description="Find unusual days/weeks/months in a time series (robust z-score on STL residuals).",
              examples=["find anomalies in daily sales", "any unusual weeks in revenue"],
              tags=["anomaly", "outlier", "monitoring"], task_types=TASK_TYPES, input_types=INPUT_TYPES),
        Skill(id="dashboard", name="Dashboard and report",
              description="A self-contained HTML dashboard (charts inlined) and a data profile of the table.",
              examples=["summarize this table", "build a dashboard of revenue by month"],
              tags=["dashboard", "report", "profile", "charts"], task_types=TASK_TYPES + ["report"],
              input_types=INPUT_TYPES, output_types=["text/html", "image/png"]),
    ],
)


class DeepAnalyzeAgent(Agent):
    """Answers business questions about one table with computed numbers, charts and a dashboard."""

    card: ClassVar[AgentCard] = CARD
    tunables: ClassVar[dict[str, dict[str, Any]]] = {
        "anomaly_threshold": {"type": "float", "default": 3.5, "min": 2.0, "max": 6.0},
        "max_findings": {"type": "int", "default": 5, "min": 0, "max": 50},
    }

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        source, label = resolve_source(task, ctx)
        params = {k: v for k, v in task.params.items() if k in AnalyzeOptions.model_fields}
        if self.config.get("anomaly_threshold") and "anomaly_threshold" not in params:
            params["anomaly_threshold"] = self.config["anomaly_threshold"]
        try:
            opts = AnalyzeOptions(**params)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise BadInputError(err["msg"], field="params." + ".".join(str(p) for p in err["loc"])) from None
        ctx.emit(f"analysing {label}", progress=0.1)
        ctx.check_cancelled()
        analysis = await asyncio.to_thread(analyze, source, task.text, artifact_dir=ctx.artifact_dir, llm=ctx.llm,
                                           options=opts, source_label=label)
        ctx.check_cancelled()
        ctx.emit("analysis done", progress=0.9, operation=analysis.plan.operation)
        memory_ids = await self._remember(ctx, analysis.data, label, task.text)
        analysis.data["memory_ids"] = memory_ids
        artifacts = [Artifact.from_path(p, description=("interactive dashboard" if p.suffix == ".html" else "chart"))
                     for p in analysis.artifacts]
        return AgentResult(status="ok", text=analysis.text, data=analysis.data, artifacts=artifacts,
                           agent=self.name, metadata={"operation": analysis.plan.operation,
                                                      "parser": analysis.plan.parser})

    async def _remember(self, ctx: AgentContext, data: dict[str, Any], label: str, question: str) -> list[str]:
        limit = int(self.config.get("max_findings") or 0)
        ids: list[str] = []
        for f in data.get("findings", [])[:limit]:
            value = fmt(f["value"], "rate" if f["unit"] == "ratio" else f["unit"])
            try:
                item = await ctx.memory.remember(
                    f["text"], kind="finding", tags=["deepanalyze", data["operation"]],
                    metadata={"metric": f["metric"], "segment": f["segment"], "value": f["value"], "unit": f["unit"]},
                    provenance={"file": label, "query": question, "run": getattr(ctx, "run_id", None),
                                "sql": data.get("sql")},
                    triples=[Triple(subject=str(f["segment"]) or "all", predicate=str(f["metric"]) or "value",
                                    object=value, properties={"source": label})])
                ids.append(item.id)
            except Exception as exc:  # noqa: BLE001 - memory is best effort: the answer stands without it
                log.warning("could not remember finding: %s", exc)
                data.setdefault("notes", []).append(f"finding not saved to memory: {type(exc).__name__}: {exc}")
                break
        return ids


def _is_table(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES


def resolve_source(task: Task, ctx: AgentContext | None) -> tuple[Any, str]:
    """Where the table comes from: inputs, then params, then upstream results."""
    inputs: list[TaskInput] = list(task.inputs)
    wanted = task.params.get("input")
    if wanted:
        pick = task.input(str(wanted))
        if pick is None:
            raise BadInputError(f"no input named {wanted!r}", field="params.input",
                                hint=f"inputs: {', '.join(i.name for i in inputs) or 'none'}")
        inputs = [pick]
    for inp in inputs:
        if inp.path is not None:
            return str(inp.path), str(inp.path)
        if inp.uri is not None:
            return inp.uri, inp.uri
        if inp.data is not None:
            rows = inp.data.get("rows") if isinstance(inp.data, dict) and "rows" in inp.data else inp.data
            if isinstance(rows, (list, dict)):
                return rows, inp.name or "inline data"
    for key in ("path", "file", "uri", "url"):
        if task.params.get(key):
            return str(task.params[key]), str(task.params[key])
    if isinstance(task.params.get("data"), (list, dict)):
        return task.params["data"], "inline data"
    for sub_id, res in (getattr(ctx, "upstream", None) or {}).items():
        for art in res.artifacts:
            if _is_table(art.name) and Path(art.path).exists():
                return art.path, art.path
        rows = res.data.get("rows") if isinstance(res.data, dict) else None
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            return rows, f"upstream {sub_id}"
    raise BadInputError("no table to analyse", field="inputs",
                        hint="attach a file (TaskInput(path=...)), a uri such as sqlite:///shop.db, or inline rows")
