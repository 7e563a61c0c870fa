"""The deterministic question parser: business English -> ``AnalysisPlan``.

It works in passes over the lower-cased question: column mentions are found first (so "monthly charges"
is a column, not a monthly grain), then time windows, forecast horizons, rankings, group-bys, filters,
the operation and finally the metric. Every mapping that involved a choice is recorded in
``plan.interpretation``. Names that match no column raise ``BadInputError`` with the close matches.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any

import duckdb
from genesis_agents.infrastructure.errors import BadInputError

from .plan import AnalysisPlan, Filter, Interpretation, Metric, Period
from .schema import ColumnInfo, Schema, qi
from .vocab import (
    COST_WORDS,
    PROFIT_WORDS,
    REVENUE_WORDS,
    STOP,
    column_metric,
    find_entity,
    find_mentions,
    find_revenue,
    flag_rate_metric,
    mention_pattern,
    resolve_column,
    singular,
    target_column,
    tokens,
)

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS.pop("may", None)
MONTHS["may"] = 5
GRAIN_WORDS = {"cohort": "month", "day": "day", "daily": "day", "date": "day", "week": "week", "weekly": "week", "month": "month",
               "monthly": "month", "quarter": "quarter", "quarterly": "quarter", "year": "year", "yearly": "year",
               "annual": "year", "annually": "year"}
AGG_WORDS = {"average": "avg", "avg": "avg", "mean": "avg", "median": "median", "total": "sum", "sum": "sum",
             "minimum": "min", "min": "min", "maximum": "max", "max": "max", "std": "std",
             "standard deviation": "std", "typical": "median"}
GENERIC_VALUES = {"yes", "no", "true", "false", "0", "1", "y", "n", "none", "other", "unknown", "na", "n/a", "t", "f"}
GROUP_RE = re.compile(
    r"\b(?:by|per|for each|for every|across|split by|broken down by|grouped by|breakdown by)\s+"
    r"(.+?)(?=$|[,?.;!]|\s(?:for|in|during|where|with|over|from|since|until|vs|versus|last|next|between|"
    r"excluding|among|who|that|having|compared|sorted|ordered|top|in\s+the)\b)")
NUM_OPS = [("greater than or equal to", ">="), ("at least", ">="), ("more than", ">"), ("greater than", ">"),
           ("higher than", ">"), ("over", ">"), ("above", ">"), (">=", ">="), (">", ">"),
           ("less than or equal to", "<="), ("at most", "<="), ("less than", "<"), ("lower than", "<"),
           ("under", "<"), ("below", "<"), ("<=", "<="), ("<", "<"), ("equal to", "="), ("=", "=")]


def _date_range(con: duckdb.DuckDBPyConnection, col: str) -> tuple[datetime, datetime] | None:
    lo, hi = con.execute(f"SELECT min({qi(col)}), max({qi(col)}) FROM t").fetchall()[0]
    if lo is None:
        return None
    return (lo if isinstance(lo, datetime) else datetime(lo.year, lo.month, lo.day),
            hi if isinstance(hi, datetime) else datetime(hi.year, hi.month, hi.day))


def pick_date_column(schema: Schema, ql: str, interp: list[Interpretation]) -> ColumnInfo | None:
    dates = schema.by_role("date")
    if not dates:
        return None
    named = [c for c in dates if any(re.search(rf"\b{re.escape(w)}", ql) for w in c.words if w not in ("date", "time"))]
    if named:
        return named[0]
    pref = ("order", "transaction", "invoice", "sale", "purchase", "date", "created", "timestamp", "time")
    ranked = sorted(dates, key=lambda c: (min([pref.index(w) for w in c.words if w in pref] or [99]), -c.n_distinct))
    if len(dates) > 1:
        interp.append(Interpretation(term="date", chosen=ranked[0].name, ambiguous=True,
                                     alternatives=[c.name for c in ranked[1:]],
                                     reason=f"{len(dates)} date columns; took {ranked[0].name} for time"
                                            " (name a column, e.g. 'by signup month', to choose)"))
    return ranked[0]


def _add_months(d: datetime, n: int) -> datetime:
    y, m = divmod(d.month - 1 + n, 12)
    return d.replace(year=d.year + y, month=m + 1, day=1)


class _Q:
    """Mutable parse state: the text with consumed spans masked out."""

    def __init__(self, text: str):
        self.orig = text
        self.text = text

    def consume(self, start: int, end: int) -> None:
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]


def parse_question(question: str, schema: Schema, con: duckdb.DuckDBPyConnection) -> AnalysisPlan:
    if not question or not question.strip():
        raise BadInputError("the question is empty", field="question", hint="e.g. 'churn rate by contract type'")
    ql = " " + re.sub(r"[’`]", "'", question.lower()).strip() + " "
    ql = re.sub(r"\s+", " ", ql)
    q = _Q(ql)
    interp: list[Interpretation] = []
    mentions = find_mentions(ql, schema)

    def masked_has(pattern: str) -> re.Match[str] | None:
        """Search the question with column mentions blanked, so column words don't trigger keywords."""
        t = q.text
        for s, e, _ in mentions:
            t = t[:s] + " " * (e - s) + t[e:]
        return re.search(pattern, t)

    date_col = pick_date_column(schema, ql, interp)
    drange = _date_range(con, date_col.name) if date_col else None

    # ------------------------------------------------------------ time windows
    period, compare_to = _parse_periods(q, drange)
    if (period or compare_to) and not date_col:
        raise BadInputError("the question names a time period but the table has no date column", field="question",
                            hint=f"columns: {', '.join(schema.names[:20])}")

    # ------------------------------------------------------------ operation keywords
    op = None
    horizon = None
    grain = None
    m = masked_has(r"\b(forecast|predict|projection|project|projected|expected|next)\b")
    if m:
        op = "forecast"
        horizon, grain = _parse_horizon(ql)
    elif masked_has(r"\b(anomal\w*|outliers?|unusual|spikes?|abnormal|odd|strange|weird)\b"):
        op = "anomalies"
    elif masked_has(r"\bcohorts?\b|\bretention (curve|matrix|table)\b|\bretention by (signup|cohort|first)"):
        op = "cohort"
    elif masked_has(r"\b(distribution|histogram|spread|percentiles?|quartiles?|quantiles?|range of)\b"):
        op = "distribution"
    elif masked_has(r"\b(correlat\w*|relationship between|related to|relation between)\b"):
        op = "correlation"
    elif masked_has(r"\b(drives?|drivers?|driving|explains?|explaining|why|factors?|influences?|affects?|"
                    r"impacts?|predictors?|associated with|contribut\w*|determines?|key segments?)\b") and not \
            masked_has(r"\bwhat changed\b"):
        op = "drivers"
    elif masked_has(r"\b(what changed|changes? in|compare|compared|comparison|vs\.?|versus|difference between|"
                    r"differ)\b") or compare_to is not None:
        op = "compare"
    elif masked_has(r"\b(growth|grow|grew|growing|mom|yoy|qoq|month[- ]over[- ]month|year[- ]over[- ]year|"
                    r"quarter[- ]over[- ]quarter|week[- ]over[- ]week)\b"):
        op = "growth"
        if masked_has(r"\b(yoy|year[- ]over[- ]year|annual growth|yearly growth)\b"):
            grain = "year"
        elif masked_has(r"\b(qoq|quarter[- ]over[- ]quarter|quarterly growth)\b"):
            grain = "quarter"
        elif masked_has(r"\b(week[- ]over[- ]week|weekly growth|wow)\b"):
            grain = "week"
        elif masked_has(r"\b(mom|month[- ]over[- ]month|monthly growth)\b"):
            grain = "month"
    elif masked_has(r"\b(summar\w*|overview|describe|profile|what is in|what's in)\b") and not mentions:
        op = "describe"

    # ------------------------------------------------------------ ranking
    top_n = None
    order = "desc"
    rank_entity = None
    rank_metric_phrase = None
    m = re.search(r"\b(top|bottom|best|worst|first|last|highest|lowest|largest|smallest|biggest)\s+(\d+)\s+", q.text)
    if m and not re.match(r"(day|week|month|quarter|year)s?\b", q.text[m.end():]):
        top_n = int(m.group(2))
        order = "asc" if m.group(1) in ("bottom", "worst", "lowest", "smallest") else "desc"
        rest = q.text[m.end():]
        mm = re.match(r"([a-z0-9 _\-/&]+?)\s+(?:by|with the (?:highest|most|largest|lowest|least)|in terms of|ranked by|on)\s+"
                      r"(.+?)(?=$|[,?.;]|\s(?:for|in|during|where|among|from|since|last)\b)", rest)
        if mm:
            rank_entity, rank_metric_phrase = mm.group(1), mm.group(2)
            q.consume(m.start(), m.end() + mm.end())
        else:
            mm = re.match(r"([a-z0-9 _\-/&]+?)(?=$|[,?.;]|\s(?:for|in|during|where|among|from|since|last)\b)", rest)
            rank_entity = mm.group(1) if mm else None
            q.consume(m.start(), m.end() + (mm.end() if mm else 0))
    else:
        m = re.search(r"\b(?:which|what)\s+([a-z0-9 _\-/&]+?)\s+(?:has|have|had|is|are|shows?|gets?|brings?|with)\s+"
                      r"(?:the\s+)?(highest|most|largest|biggest|best|top|lowest|least|smallest|worst|fewest)\s+"
                      r"(.+?)(?=$|[,?.;]|\s(?:for|in|during|where|among|from|since|last)\b)", q.text)
        if m:
            top_n = 1
            order = "asc" if m.group(2) in ("lowest", "least", "smallest", "worst", "fewest") else "desc"
            rank_entity, rank_metric_phrase = m.group(1), m.group(3)
            q.consume(m.start(), m.end())
        else:
            m = re.search(r"\b(highest|lowest|most|least|largest|smallest|biggest)\b", q.text)
            if m and op is None and GROUP_RE.search(q.text):
                top_n = 1 if not re.search(r"\b(rank|ranking|sorted|order)\b", ql) else None
                order = "asc" if m.group(1) in ("lowest", "least", "smallest") else "desc"
            elif m and op is None:
                # "lowest profit category": the words after the superlative end with a dimension
                tail = re.sub(r"[?.!]+$", "", q.text[m.end():].strip()).split()
                for k in range(min(3, len(tail)), 0, -1):
                    col, _ = resolve_column(" ".join(tail[-k:]), schema, roles=("categorical", "flag", "text"),
                                            required=False)
                    if col is not None and len(tail) > k:
                        top_n, rank_entity = 1, " ".join(tail[-k:])
                        rank_metric_phrase = " ".join(tail[:-k])
                        order = "asc" if m.group(1) in ("lowest", "least", "smallest") else "desc"
                        q.consume(m.start(), len(q.text))
                        break
    if top_n is None and op is None:
        # "best selling product", "which customer bought the most"
        bm1 = re.search(r"\b(?:(top|best|worst)[- ]?sell(?:ing|er)s?|most popular)\s+([a-z][a-z _\-]*?)"
                        r"(?=$|[,?.;]|\s(?:in|for|during|by|from|last)\b)", q.text)
        bm2 = re.search(r"\b(?:which|what)\s+([a-z]+)\s+(?:bought|spent|ordered|purchased|sold|spends|buys|"
                        r"orders|generated|brought in|brings in)\s+(?:the\s+)?(most|least)\b", q.text)
        bm = bm1 or bm2
        if bm:
            ent_phrase = bm1.group(2) if bm1 else bm.group(1)
            least = "worst" in bm.group(0) or "least" in bm.group(0)
            top_n, order, rank_entity = 1, ("asc" if least else "desc"), ent_phrase.strip()
            qty = next((c for c in schema.columns if set(c.words) & {"quantity", "qty", "units"} and
                        c.role in ("numeric", "money")), None)
            rank_metric_phrase = ("total " + qty.label) if qty is not None and "sell" in bm.group(0) else "revenue"
            q.consume(bm.start(), bm.end())
    if top_n is not None and op is None:
        op = "rank"

    # ------------------------------------------------------------ group by (incl. time grains)
    group_by: list[str] = []
    if rank_entity:
        col = _resolve_dimension(rank_entity, schema, interp)
        group_by.append(col.name)
    for gm in list(GROUP_RE.finditer(q.text)):
        phrase = gm.group(1).strip()
        parts = [p.strip() for p in re.split(r"\s+and\s+|\s*,\s*|\s*&\s*", phrase) if p.strip()]
        for part in parts:
            pw = [w for w in part.split() if w not in STOP]
            if not pw and not any(c.label == part.lower() or c.name.lower() == part.lower() for c in schema.columns):
                continue
            g = _grain_of(part)
            if g and date_col and not _names_non_date_column(part, schema):
                grain = g
                named_date = [c for c in schema.by_role("date") if set(c.words) - {"date", "time"} and
                              set(c.words) - {"date", "time"} <= set(tokens(part))]
                if named_date:
                    date_col = named_date[0]
                    drange = _date_range(con, date_col.name)
                continue
            if _is_category_value(part, schema):
                continue  # "paying by electronic check": a value to filter on, not a dimension
            col = _resolve_dimension(part, schema, interp)
            if col.name not in group_by:
                group_by.append(col.name)
        if not all(_is_category_value(p, schema) for p in parts):
            q.consume(gm.start(), gm.end())

    # grain adjectives ("monthly revenue", "over time", "trend")
    if grain is None:
        gm2 = masked_has(r"\b(daily|weekly|monthly|quarterly|yearly|annual|annually)\b")
        if gm2 and date_col:
            grain = GRAIN_WORDS[gm2.group(1)]
        elif masked_has(r"\b(over time|trend|trends|trending|evolution|time series|history)\b") and date_col:
            grain = "auto"

    # ------------------------------------------------------------ filters
    filters = _target_filters(q, schema, interp)
    filters += _numeric_filters(q, schema, mentions)
    filters += _value_filters(q, schema, group_by, interp)
    share_of = re.search(r"\b(percent|percentage|share|proportion|fraction|ratio)\b|%\s*of\b", q.text)

    # ------------------------------------------------------------ metric
    metric = None
    if rank_metric_phrase:
        metric = _metric_from_phrase(rank_metric_phrase, schema, interp, ql, strict=True)
    if metric is None:
        metric = _metric_from_phrase(q.text, schema, interp, ql, strict=False, mentions=mentions,
                                     exclude=set(group_by) | {f.column for f in filters})
    target = None
    if op == "drivers":
        tcol, ti = target_column(schema, ql)
        if metric is None or (metric.unit == "count" and tcol):
            if tcol is None:
                raise BadInputError("'what drives ...' needs a target: a churn-like Yes/No column or a metric",
                                    field="question", hint="e.g. 'what drives revenue' or 'what drives churn'")
            metric = flag_rate_metric(tcol, name=f"{tcol.label} rate")
            if ti:
                interp.append(ti)
        target = metric.columns[0] if metric.columns else None
    if metric is None:
        if op in ("forecast", "anomalies", "growth", "compare", "cohort") or grain:
            if op == "cohort":
                tcol, _ = target_column(schema, ql)
                metric = flag_rate_metric(tcol, name="retention rate", invert=True) if tcol else None
            if metric is None:
                try:
                    sql, cols, it = find_revenue(schema)
                    metric = Metric(name="revenue", label="revenue", sql=sql, unit="money", columns=cols, agg="sum")
                    it.reason = "no metric named; " + it.reason
                    interp.append(it)
                except BadInputError:
                    metric = Metric(name="rows", label="number of rows", sql="COUNT(*)", unit="count", agg="count")
        elif op != "describe" and op != "correlation":
            metric = Metric(name="rows", label="number of rows", sql="COUNT(*)", unit="count", agg="count")
            if op in (None, "aggregate") and not group_by:
                interp.append(Interpretation(term="(none)", chosen="COUNT(*)",
                                             reason="no metric or column recognised in the question; counted rows"))

    # "what percentage of customers are on month-to-month": the named values are the numerator, not a filter
    value_filters = [f for f in filters if f.op in ("=", "in") and not isinstance(f.value, bool)]
    if share_of and value_filters and (metric is None or metric.unit == "count") and op not in ("drivers", "forecast"):
        cond = " AND ".join(f"({f.sql()})" for f in value_filters)
        filters = [f for f in filters if f not in value_filters]
        what = " / ".join(str(f.phrase or f.value) for f in value_filters)
        if metric is not None and metric.agg == "count_distinct" and metric.columns:
            ent = qi(metric.columns[0])
            sql = f"COUNT(DISTINCT CASE WHEN {cond} THEN {ent} END) * 1.0 / NULLIF(COUNT(DISTINCT {ent}), 0)"
        else:
            sql = f"AVG(CASE WHEN {cond} THEN 1.0 ELSE 0.0 END)"
        metric = Metric(name="share", label=f"share with {what}", sql=sql, unit="rate", agg="ratio", additive=False,
                        columns=[f.column for f in value_filters])
        interp.append(Interpretation(term="percentage", chosen=sql,
                                     reason=f"share of rows where {what}, out of all rows in scope"))

    # "average quantity per order", "revenue per customer": per-entity normalisation, not thousands of groups
    if top_n is None and metric is not None:
        for g in list(group_by):
            gc = schema.get(g)
            if gc is not None and gc.role == "id" and gc.n_distinct >= 0.2 * schema.rows:
                group_by.remove(g)
                if metric.agg == "avg" and len(metric.columns) == 1:
                    metric = Metric(name=metric.name, label=metric.label, unit=metric.unit, agg="sum",
                                    sql=f"SUM({qi(metric.columns[0])})", columns=metric.columns, additive=True)
                if metric.additive:
                    metric = Metric(name=f"{metric.name}_per_{gc.words[0] if gc.words else 'id'}",
                                    label=f"{metric.label} per {gc.label}", unit=metric.unit,
                                    sql=f"{metric.sql} / NULLIF(COUNT(DISTINCT {qi(g)}), 0)",
                                    columns=metric.columns + [g], agg="ratio", additive=False)
                interp.append(Interpretation(term=f"per {gc.label}", chosen=metric.sql,
                                             reason=f"'per {gc.label}' read as an average per {g}, not one group per id"))

    columns: list[str] = []
    if op == "distribution":
        num = [c for _, _, c in mentions if c.role in ("numeric", "money", "percent")]
        if metric is not None and len(metric.columns) == 1 and (mc := schema.get(metric.columns[0])) is not None \
                and mc.role in ("numeric", "money", "percent"):
            num.insert(0, mc)
        if not num:
            raise BadInputError("a distribution needs a numeric column", field="question",
                                hint="e.g. 'distribution of monthly charges'")
        columns = [num[0].name]
        metric = column_metric(num[0], "avg")
    if op == "correlation":
        named = [c.name for _, _, c in mentions if c.role in ("numeric", "money", "percent", "flag")]
        numeric_roles = ("numeric", "money", "percent", "flag")
        first = [n for n in (metric.columns if metric else [])
                 if (ci := schema.get(n)) is not None and ci.role in numeric_roles]
        columns = list(dict.fromkeys(first + named))
        if len(columns) < 2:
            raise BadInputError("a correlation needs two numeric columns", field="question",
                                hint="e.g. 'correlation between tenure and monthly charges'")
        columns = columns[:2]

    # "compare churn between DSL and fiber optic", "do customers with tech support churn less?": segments,
    # not periods
    yes_no = re.match(r"\s*(do|does|did|are|is|were|was)\b", ql)
    if ((op == "compare" and period is None and compare_to is None) or (op is None and yes_no)) and not group_by:
        dims = [f.column for f in filters if f.op == "in"] + [f.column for f in filters if f.op == "=" and op == "compare"]
        dims += [c.name for _, _, c in mentions if c.role in ("categorical", "flag") and
                 c.name not in (metric.columns if metric else []) and c.name not in dims]
        if dims:
            group_by = list(dict.fromkeys(dims))[:2]
            filters = [f for f in filters if f.column not in group_by or f.op == "in"]
            op = "group"
            interp.append(Interpretation(term="compare", chosen=", ".join(group_by),
                                         reason=f"compared segments of {', '.join(group_by)} side by side"))
        elif op == "compare" and not date_col:
            raise BadInputError("nothing to compare: name two periods or a column whose segments to compare",
                                field="question", hint="e.g. 'compare 2023 vs 2022 revenue' or 'churn rate by contract'")
    if op is None:
        op = "timeseries" if grain else ("group" if group_by else "aggregate")
    if op in ("timeseries", "growth", "forecast", "anomalies", "cohort") and not date_col and op != "cohort":
        raise BadInputError(f"a {op} question needs a date column, and none was found", field="question",
                            hint=f"columns: {', '.join(schema.names[:20])}")
    if op == "compare" and compare_to is None and period is not None:
        compare_to = _previous_period(period)
    entity = None
    if op == "cohort":
        who = find_entity(schema, "customer") or next(iter(schema.by_role("id")), None)
        entity = who.name if who else None
    return AnalysisPlan(question=question, operation=op, metric=metric, group_by=group_by,
                        date_column=date_col.name if date_col else None, grain=grain if grain != "auto" else None,
                        filters=filters, period=period, compare_to=compare_to, top_n=top_n, order=order,
                        horizon=horizon, target=target, columns=columns, entity=entity, interpretation=interp)


# ------------------------------------------------------------------------------------------ helpers


def _label(schema: Schema, name: str) -> str:
    c = schema.get(name)
    return c.label if c is not None else name


def _is_category_value(part: str, schema: Schema) -> bool:
    lv = re.sub(r"^(the|a|an)\s+", "", part.strip().lower())
    return any(lv == v.lower() for c in schema.columns if c.role in ("categorical", "flag") for v in c.top_values
               if v.lower() not in GENERIC_VALUES)


def _grain_of(part: str) -> str | None:
    ws = part.lower().split()
    for w in reversed(ws):
        w2 = singular(w)
        if w2 in GRAIN_WORDS:
            return GRAIN_WORDS[w2]
        if w in GRAIN_WORDS:
            return GRAIN_WORDS[w]
    return None


def _names_non_date_column(part: str, schema: Schema) -> bool:
    toks = set(tokens(part))
    return any(c.role != "date" and set(c.words) and {singular(w) for w in c.words} <= toks for c in schema.columns)


def _resolve_dimension(phrase: str, schema: Schema, interp: list[Interpretation]) -> ColumnInfo:
    phrase = re.sub(r"^(the|each|every|all)\s+", "", phrase.strip())
    col, it = resolve_column(phrase, schema, roles=("categorical", "flag", "id", "text", "numeric", "date", "money",
                                                      "percent"), what="column", required=False)
    if col is None:
        for w in tokens(phrase):
            ent = find_entity(schema, w)
            if ent is not None:
                interp.append(Interpretation(term=phrase, chosen=ent.name,
                                             reason=f"{phrase!r} identified by the column {ent.name}"))
                return ent
        from .vocab import unknown_column

        raise unknown_column(phrase, schema)
    if it:
        interp.append(it)
    return col


def _metric_from_phrase(text: str, schema: Schema, interp: list[Interpretation], ql: str, *, strict: bool,
                        mentions: list | None = None, exclude: set[str] | None = None) -> Metric | None:
    t = " " + text.strip() + " "
    exclude = exclude or set()
    tcol, ti = target_column(schema, ql)
    # churn / retention / attrition rates
    if re.search(r"\b(churn\w*|attrition|cancell?ation rate|exit rate)\b", t):
        if tcol is None:
            raise BadInputError("the question asks about churn but no churn-like Yes/No column was found",
                                field="question", hint=f"flag columns: {', '.join(c.name for c in schema.by_role('flag')) or 'none'}")
        if ti:
            interp.append(ti)
        if re.search(r"\b(how many|number of|count of|count)\b", t):
            from .schema import flag_sql

            return Metric(name=f"{tcol.name}_count", label=f"number of {tcol.label} = yes", unit="count",
                          sql=f"SUM({flag_sql(tcol.name)})", columns=[tcol.name], agg="sum", additive=True)
        return flag_rate_metric(tcol, name=f"{tcol.label} rate")
    if re.search(r"\bretention( rate)?\b|\bretained\b", t) and tcol is not None:
        return flag_rate_metric(tcol, name="retention rate", invert=not any(w in ("retained", "active") for w in tcol.words))
    # explicit aggregate + column: "average monthly charges", "median tenure"
    spans = find_mentions(t, schema)
    for word, agg in sorted(AGG_WORDS.items(), key=lambda kv: -len(kv[0])):
        m = re.search(rf"\b{word}\s+(?:of\s+|number of\s+)?(?:the\s+)?([a-z0-9 _\-]+?)(?=$|[,?.;]|\s(?:by|per|for|in|"
                      rf"during|where|across|among|with|over|from|since|vs|and|between|of|last|next|each)\b|\s*$)", t)
        if m and any(a <= m.start() + 1 < b for a, b, _ in spans):
            m = None  # the aggregate word is part of a column name ("TotalCharges")
        if m:
            phrase = m.group(1).strip()
            if word == "total" and re.match(r"(revenue|sales|profit|income|turnover)\b", phrase):
                break
            if re.match(r"(order value|revenue per|basket)", phrase):
                break
            col, it = resolve_column(phrase, schema, roles=("numeric", "money", "percent", "flag", "id", "date"),
                                     what="numeric column", required=False)
            if col is None:
                if re.match(r"(number|count)\b", phrase) or phrase in ("", "value"):
                    break
                from .vocab import unknown_column

                raise unknown_column(phrase, schema, what="numeric column", roles=("numeric", "money", "percent"))
            if it:
                interp.append(it)
            if col.role == "flag":
                if agg == "sum":
                    from .schema import flag_sql

                    return Metric(name=f"{col.name}_count", label=f"number of {col.label}", unit="count",
                                  sql=f"SUM({flag_sql(col.name)})", columns=[col.name], agg="sum")
                return flag_rate_metric(col)
            return column_metric(col, agg)
    # business vocabulary
    if re.search(r"\b(aov|average order value|average basket|basket size|avg order value)\b", t):
        sql, cols, it = find_revenue(schema)
        interp.append(it)
        order = find_entity(schema, "order") or find_entity(schema, "invoice") or find_entity(schema, "transaction")
        denom = f"COUNT(DISTINCT {qi(order.name)})" if order else "COUNT(*)"
        interp.append(Interpretation(term="order", chosen=order.name if order else "rows",
                                     reason=f"orders counted as distinct {order.name}" if order else "no order id; each row counted as one order"))
        return Metric(name="aov", label="average order value", sql=f"{sql} / NULLIF({denom}, 0)", unit="money",
                      columns=cols, agg="ratio", additive=False)
    if re.search(r"\b(arpu|average revenue per (user|customer|account|subscriber))\b", t):
        monthly = next((c for c in schema.by_role("money") if "monthly" in c.words or "month" in c.words), None)
        if monthly:
            interp.append(Interpretation(term="ARPU", chosen=f"AVG({monthly.name})",
                                         reason=f"ARPU taken as the average of the monthly charge column {monthly.name}"))
            return Metric(name="arpu", label="ARPU (monthly)", sql=f"AVG({qi(monthly.name)})", unit="money",
                          columns=[monthly.name], agg="avg", additive=False)
        return _per_customer(schema, interp, "arpu", "ARPU")
    if re.search(r"\b(ltv|clv|lifetime value|customer lifetime value)\b", t):
        return _per_customer(schema, interp, "ltv", "lifetime value per customer")
    if re.search(r"\b(margin|margins)\b", t):
        mcol = next((c for c in schema.columns if "margin" in c.words and c.role in ("percent", "numeric", "money")), None)
        if mcol is not None and mcol.role == "percent":
            return column_metric(mcol, "avg")
        p_sql, p_cols = _profit_sql(schema, interp)
        r_sql, r_cols, it = find_revenue(schema)
        interp.append(it)
        return Metric(name="margin", label="profit margin", sql=f"{p_sql} / NULLIF({r_sql}, 0)", unit="rate",
                      columns=p_cols + r_cols, agg="ratio", additive=False)
    if re.search(r"\b(" + "|".join(PROFIT_WORDS) + r")\b", t) and not re.search(r"\bnet (revenue|sales)\b", t):
        sql, cols = _profit_sql(schema, interp)
        return Metric(name="profit", label="profit", sql=sql, unit="money", columns=cols, agg="sum")
    m = re.search(r"\b(" + "|".join(REVENUE_WORDS) + r")\b", t)
    if m:
        sql, cols, it = find_revenue(schema, m.group(1))
        interp.append(it)
        return Metric(name="revenue" if m.group(1).startswith("rev") else singular(m.group(1)), label=m.group(1),
                      sql=sql, unit="money", columns=cols, agg="sum")
    m = re.search(r"\b(how many|number of|count of|count|# of|no\. of|volume of)\s*([a-z ]*)", t)
    if not m:
        event_words = {"orders", "transactions", "signups", "sign ups", "subscriptions", "registrations",
                       "purchases", "bookings", "customers", "users", "records", "rows", "tickets", "visits", "sessions"}
        event_words |= {w + "s" for c in schema.by_role("date") for w in c.words if w not in ("date", "time", "at", "on")}
        m2 = re.search(r"\b(" + "|".join(sorted(event_words, key=len, reverse=True)) + r")\b", t)
        if m2:
            m = re.search(r"()(" + re.escape(m2.group(1)) + r")", t)
    if m:
        words = tokens(m.group(2)) if m else tokens(t)
        for w in words:
            if w in STOP or w in ("unique", "distinct", "different", "individual", "total", "all"):
                continue
            ent = find_entity(schema, w)
            if ent is not None and ent.role in ("id", "text", "categorical"):
                return Metric(name=f"{w}s", label=f"number of {w}s", sql=f"COUNT(DISTINCT {qi(ent.name)})",
                              unit="count", columns=[ent.name], agg="count_distinct")
            if ent is None:
                break
        return Metric(name="count", label="number of rows" if not m or not m.group(2).strip() else
                      f"number of {m.group(2).split()[0]}", sql="COUNT(*)", unit="count", agg="count")
    if re.search(r"\b(cost|costs|spend|expenses?)\b", t):
        c = next((c for c in schema.columns if set(c.words) & set(COST_WORDS) and c.role in ("money", "numeric")), None)
        if c:
            return column_metric(c, "sum")
    # a flag column with rate/share words, or a plain numeric column
    cands = [c for _, _, c in (mentions or find_mentions(t, schema)) if c.name not in exclude]
    for c in cands:
        if c.role == "flag":
            return flag_rate_metric(c)
    for c in cands:
        if c.role in ("numeric", "money", "percent"):
            agg = "sum" if c.role == "money" and not re.search(r"\b(monthly|rate|price|per)\b", c.label) else "avg"
            interp.append(Interpretation(term=c.label, chosen=f"{agg.upper()}({c.name})",
                                         reason=f"no aggregate named; used {'the total' if agg == 'sum' else 'the average'} "
                                                f"of {c.name} ({c.role})"))
            return column_metric(c, agg)
    if strict:
        col, it = resolve_column(text, schema, roles=("numeric", "money", "percent", "flag"), what="metric")
        assert col is not None  # required=True raises instead of returning None
        if it:
            interp.append(it)
        return flag_rate_metric(col) if col.role == "flag" else column_metric(col, "sum" if col.role == "money" else "avg")
    return None


def _per_customer(schema: Schema, interp: list[Interpretation], name: str, label: str) -> Metric:
    sql, cols, it = find_revenue(schema)
    interp.append(it)
    cust = find_entity(schema, "customer") or find_entity(schema, "user") or find_entity(schema, "account")
    if cust is None:
        raise BadInputError(f"{label} needs a customer id column", field="question",
                            hint=f"id columns: {', '.join(c.name for c in schema.by_role('id')) or 'none'}")
    interp.append(Interpretation(term=name, chosen=f"{sql} / COUNT(DISTINCT {cust.name})",
                                 reason=f"{label} = total revenue / distinct {cust.name}"))
    return Metric(name=name, label=label, sql=f"{sql} / NULLIF(COUNT(DISTINCT {qi(cust.name)}), 0)", unit="money",
                  columns=cols + [cust.name], agg="ratio", additive=False)


def _profit_sql(schema: Schema, interp: list[Interpretation]) -> tuple[str, list[str]]:
    pcol = next((c for c in schema.columns if set(c.words) & {"profit", "profits", "earnings"} and
                 c.role in ("money", "numeric")), None)
    if pcol:
        return f"SUM({qi(pcol.name)})", [pcol.name]
    cost = next((c for c in schema.columns if set(c.words) & set(COST_WORDS) and c.role in ("money", "numeric")), None)
    if cost is None:
        raise BadInputError("no profit column, and no cost column to compute it from", field="question",
                            hint=f"money columns: {', '.join(c.name for c in schema.by_role('money')) or 'none'}")
    r_sql, r_cols, it = find_revenue(schema)
    interp.append(Interpretation(term="profit", chosen=f"{r_cols[0]} - {cost.name}",
                                 reason=f"no profit column; profit = {it.chosen} - {cost.name}"))
    return f"({r_sql} - SUM({qi(cost.name)}))", r_cols + [cost.name]


def _target_filters(q: _Q, schema: Schema, interp: list[Interpretation]) -> list[Filter]:
    """'churned customers' / 'customers who left' -> target = yes; 'retained customers' -> target = no."""
    tcol = next((c for c in schema.columns if c.is_target), None)
    if tcol is None:
        return []
    asks_rate = re.search(r"\b(rate|how many|number of|count|percent|percentage|share|proportion|drives?|drivers?|"
                          r"explain\w*|why|factors?)\b", q.text)
    yes = re.search(r"\b(churned|churners|who (?:have )?(?:churned|left|cancell?ed)|lost customers|"
                    r"(?:lost|lose|losing) (?:to|from|through|due to|because of) (?:churn\w*|attrition))\b", q.text)
    no = re.search(r"\b(?:(?:non-?churned|retained|loyal|staying|remaining) customers|who (?:stayed|did not churn|"
                   r"didn't churn|have not churned))\b", q.text)
    if no:
        q.consume(no.start(), no.end())
        return [Filter(column=tcol.name, op="=", value=False, phrase=f"{tcol.label} = no")]
    if yes and not asks_rate:
        q.consume(yes.start(), yes.end())
        return [Filter(column=tcol.name, op="=", value=True, phrase=f"{tcol.label} = yes")]
    return []


def _numeric_filters(q: _Q, schema: Schema, mentions: list) -> list[Filter]:
    out: list[Filter] = []
    ops = "|".join(re.escape(w) for w, _ in NUM_OPS)
    for m in re.finditer(rf"(?:\b|\s)({ops})\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?)\s*(%|k\b|m\b)?", q.text):
        before = q.text[: m.start()]
        col = None
        for s, e, c in reversed(mentions):
            filler = {"is", "are", "was", "with", "whose", "has", "have", "of", "than", "the"}
            if e <= m.start() + 1 and set(before[e:].split()) <= filler:
                col = c
                break
            if e <= m.start() + 1 and len(before[e:].split()) <= 2 and c.role in ("numeric", "money", "percent"):
                col = c
                break
        if col is None or col.role not in ("numeric", "money", "percent", "flag"):
            continue
        op = dict(NUM_OPS)[m.group(1)]
        val = float(m.group(2).replace(",", ""))
        if m.group(3) == "k":
            val *= 1000
        elif m.group(3) == "m":
            val *= 1_000_000
        out.append(Filter(column=col.name, op=op, value=int(val) if val.is_integer() else val, phrase=m.group(0).strip()))
        q.consume(m.start(), m.end())
    return out


def _value_filters(q: _Q, schema: Schema, group_by: list[str], interp: list[Interpretation]) -> list[Filter]:
    """Category values named in the question ('month-to-month customers', 'in the West region')."""
    hits: dict[str, list[tuple[ColumnInfo, str, int, int]]] = {}
    for c in schema.columns:
        if c.role not in ("categorical", "flag") or c.name in group_by:
            continue
        for v in c.top_values:
            lv = v.lower().strip()
            if lv in GENERIC_VALUES or len(lv) < 2:
                continue
            for m in re.finditer(rf"(?<![a-z0-9]){re.escape(lv)}(?![a-z0-9])", q.text):
                hits.setdefault(lv, []).append((c, v, m.start(), m.end()))
    # longest values first so 'fiber optic' beats 'fiber'
    used: list[tuple[int, int]] = []
    by_col: dict[str, list[Any]] = {}
    for lv in sorted(hits, key=len, reverse=True):
        options = hits[lv]
        s, e = options[0][2], options[0][3]
        if any(not (e <= a or s >= b) for a, b in used):
            continue
        cols = list(dict.fromkeys(o[0].name for o in options))
        pick = options[0]
        if len(cols) > 1:
            named = [o for o in options if any(w in q.orig for w in o[0].words)]
            pick = named[0] if named else options[0]
            interp.append(Interpretation(term=lv, chosen=pick[0].name, ambiguous=not named,
                                         alternatives=[c for c in cols if c != pick[0].name],
                                         reason=f"{lv!r} is a value of {len(cols)} columns; filtered on {pick[0].name}"))
        used.append((s, e))
        by_col.setdefault(pick[0].name, []).append(pick[1])
        q.consume(s, e)
    # flag columns named as a population: 'among senior citizens', 'for customers with dependents'
    for c in schema.columns:
        if c.role != "flag" or c.is_target or c.name in group_by or c.name in by_col:
            continue
        fm = re.search(r"\b(?:among|for|of|with|who are|who have|that are|having)\s+(?:customers\s+with\s+|the\s+)?"
                       + mention_pattern(c).pattern, q.text)
        if fm:
            q.consume(fm.start(), fm.end())
            by_col[c.name] = [True]
    out = []
    for col, vals in by_col.items():
        out.append(Filter(column=col, op="=" if len(vals) == 1 else "in", value=vals[0] if len(vals) == 1 else vals,
                          phrase=_label(schema, col) if vals == [True] else " / ".join(vals)))
    return out


def _parse_horizon(ql: str) -> tuple[int, str]:
    m = re.search(r"next\s+(\d+|two|three|four|five|six|twelve)?\s*(day|week|month|quarter|year)s?", ql)
    words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "twelve": 12}
    if not m:
        m2 = re.search(r"(\d+)\s+(day|week|month|quarter|year)s?\s+(ahead|out|forward)", ql)
        if m2:
            return int(m2.group(1)), m2.group(2)
        return 3, "month"
    n = m.group(1)
    n = int(words.get(n, n)) if n else 1
    unit = m.group(2)
    if unit == "quarter":
        return 3 * n, "month"
    if unit == "year":
        return 12 * n, "month"
    return n, unit


def _parse_periods(q: _Q, drange: tuple[datetime, datetime] | None) -> tuple[Period | None, Period | None]:
    """Years, quarters, months, 'last N months', ISO ranges; 'A vs B' gives a comparison period."""
    found: list[Period] = []
    text = q.text
    latest = drange[1] if drange else datetime.now()
    pats = [
        (r"\bbetween\s+(\d{4}-\d{2}-\d{2})\s+and\s+(\d{4}-\d{2}-\d{2})\b", "range"),
        (r"\b(?:q([1-4])\s*(?:of\s*)?(\d{4})|(\d{4})\s*q([1-4]))\b", "quarter"),
        (r"\bq([1-4])\b", "quarter_noyear"),
        (r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s*(\d{4})\b", "month_year"),
        (r"\b(?:in|of|during|for|vs\.?|versus|and|than|to|with|from)\s+(" + "|".join(
            m for m in sorted(MONTHS, key=len, reverse=True) if len(m) > 3 or m in ("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "oct", "nov", "dec")) + r")\b", "month"),
        (r"\b(?:last|past|previous)\s+(\d+)?\s*(day|week|month|quarter|year)s?\b", "last"),
        (r"\b(19\d{2}|20\d{2})\b", "year"),
    ]
    for pat, kind in pats:
        for m in re.finditer(pat, text):
            p = None
            if kind == "range":
                a, b = datetime.fromisoformat(m.group(1)), datetime.fromisoformat(m.group(2))
                p = Period(start=a, end=b.replace(hour=0) + __import__("datetime").timedelta(days=1), label=f"{m.group(1)} to {m.group(2)}")
            elif kind == "quarter":
                qn = int(m.group(1) or m.group(4))
                y = int(m.group(2) or m.group(3))
                s = datetime(y, 3 * qn - 2, 1)
                p = Period(start=s, end=_add_months(s, 3), label=f"Q{qn} {y}")
            elif kind == "quarter_noyear":
                qn = int(m.group(1))
                y = latest.year if latest.month >= 3 * qn - 2 else latest.year - 1
                s = datetime(y, 3 * qn - 2, 1)
                p = Period(start=s, end=_add_months(s, 3), label=f"Q{qn} {y}")
            elif kind == "month_year":
                mo = MONTHS[m.group(1)]
                s = datetime(int(m.group(2)), mo, 1)
                p = Period(start=s, end=_add_months(s, 1), label=s.strftime("%B %Y"))
            elif kind == "month":
                mo = MONTHS[m.group(1)]
                y = latest.year if latest.month >= mo else latest.year - 1
                s = datetime(y, mo, 1)
                p = Period(start=s, end=_add_months(s, 1), label=s.strftime("%B %Y"))
                q.consume(m.start(1), m.end(1))
                found.append(p)
                text = q.text
                continue
            elif kind == "last":
                n = int(m.group(1) or 1)
                unit = m.group(2)
                end = latest + __import__("datetime").timedelta(days=1)
                end = end.replace(hour=0, minute=0, second=0, microsecond=0)
                if unit == "day":
                    start = end - __import__("datetime").timedelta(days=n)
                elif unit == "week":
                    start = end - __import__("datetime").timedelta(weeks=n)
                else:
                    months = n * {"month": 1, "quarter": 3, "year": 12}[unit]
                    start = _add_months(end.replace(day=1), -months + (0 if end.day == 1 else 1)) if False else \
                        _add_months(end.replace(day=1), -months)
                    if end.day != 1:
                        start = _add_months(end.replace(day=1), -months + 1)
                        end = _add_months(end.replace(day=1), 1)
                p = Period(start=start, end=end, label=f"last {n} {unit}{'s' if n > 1 else ''}")
            elif kind == "year":
                y = int(m.group(1))
                p = Period(start=datetime(y, 1, 1), end=datetime(y + 1, 1, 1), label=str(y))
            if p:
                found.append(p)
                q.consume(m.start(), m.end())
                text = q.text
    if not found:
        return None, None
    found.sort(key=lambda p: p.start)
    if len(found) >= 2:
        # 'March vs February': the later period is the one asked about, the earlier the baseline
        return found[-1], found[0]
    return found[0], None


def _previous_period(p: Period) -> Period:
    months = (p.end.year - p.start.year) * 12 + p.end.month - p.start.month
    if p.start.day == 1 and p.end.day == 1 and months >= 1:
        s = _add_months(p.start, -months)
        label = s.strftime("%B %Y") if months == 1 else (f"Q{(s.month - 1) // 3 + 1} {s.year}" if months == 3 else
                                                         (str(s.year) if months == 12 else f"{s:%Y-%m-%d} to {p.start:%Y-%m-%d}"))
        return Period(start=s, end=p.start, label=label)
    span = p.end - p.start
    return Period(start=p.start - span, end=p.start, label=f"{(p.start - span):%Y-%m-%d} to {p.start:%Y-%m-%d}")
