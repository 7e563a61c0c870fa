"""DeepAnalyze: business analytics on real tables (metrics, segments, drivers, forecasts, anomalies,
charts, an HTML dashboard and a narrative built only from computed numbers). See docs/deepanalyze.md."""

from .agent import CARD, DeepAnalyzeAgent, resolve_source
from .analyze import Analysis, AnalyzeOptions, analyze, clear_cache
from .loader import LoadedTable, load_table
from .parser import parse_question
from .plan import AnalysisPlan, Filter, Interpretation, Metric, Period
from .schema import ColumnInfo, Schema, infer_schema

__all__ = [
    "CARD", "Analysis", "AnalysisPlan", "AnalyzeOptions", "ColumnInfo", "DeepAnalyzeAgent", "Filter", "Interpretation",
    "LoadedTable", "Metric", "Period", "Schema", "analyze", "clear_cache", "infer_schema", "load_table",
    "parse_question", "resolve_source",
]
