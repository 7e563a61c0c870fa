"""The analysis plan: what the question asks for, in terms of operations over resolved columns.

The parser (or the LLM path) produces it; the executor runs it. Keeping it a pydantic model means the
plan is reported back verbatim in ``data['plan']`` so a user can see exactly how the question was read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Operation = Literal["aggregate", "group", "rank", "timeseries", "growth", "compare", "cohort", "drivers",
                    "correlation", "forecast", "anomalies", "describe", "distribution", "sql"]
Grain = Literal["day", "week", "month", "quarter", "year"]
Unit = Literal["money", "percent", "rate", "count", "number"]


class Metric(BaseModel):
    """A metric as SQL over the cleaned table ``t``. ``sql`` is an aggregate expression."""

    name: str
    label: str
    sql: str
    unit: Unit = "number"
    columns: list[str] = Field(default_factory=list)
    agg: str = "sum"
    additive: bool = Field(default=True, description="sums across segments (revenue) vs ratios (churn rate)")


class Filter(BaseModel):
    column: str
    op: Literal["=", "in", ">", ">=", "<", "<=", "!="]
    value: Any
    phrase: str = ""

    def sql(self) -> str:
        from .schema import flag_sql, qi

        if isinstance(self.value, bool):
            return f"{flag_sql(self.column)} = {1.0 if self.value else 0.0}"

        def lit(v: Any) -> str:
            if isinstance(v, (int, float)):
                return repr(v)
            return "'" + str(v).replace("'", "''") + "'"

        if self.op == "in":
            return f"{qi(self.column)} IN ({', '.join(lit(v) for v in self.value)})"
        return f"{qi(self.column)} {self.op} {lit(self.value)}"


class Period(BaseModel):
    """A half-open time window [start, end) on the plan's date column."""

    start: datetime
    end: datetime
    label: str


class Interpretation(BaseModel):
    """How one term of the question was mapped onto the data, and why (ambiguity is reported here)."""

    term: str
    chosen: str
    reason: str
    alternatives: list[str] = Field(default_factory=list)
    ambiguous: bool = False


class AnalysisPlan(BaseModel):
    question: str
    operation: Operation
    metric: Metric | None = None
    group_by: list[str] = Field(default_factory=list)
    date_column: str | None = None
    grain: Grain | None = None
    filters: list[Filter] = Field(default_factory=list)
    period: Period | None = None
    compare_to: Period | None = None
    top_n: int | None = None
    order: Literal["desc", "asc"] = "desc"
    horizon: int | None = None
    target: str | None = None
    columns: list[str] = Field(default_factory=list, description="extra columns, e.g. for correlation")
    entity: str | None = Field(default=None, description="the id column that identifies a customer/order")
    sql: str | None = Field(default=None, description="validated read-only SQL (LLM path)")
    interpretation: list[Interpretation] = Field(default_factory=list)
    parser: Literal["rules", "llm"] = "rules"
