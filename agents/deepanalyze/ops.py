"""Analysis operations, executed as SQL in DuckDB over the cleaned table ``t``.

Each operation takes the plan and returns a plain dict (JSON-ready): the numbers, the SQL that produced
them, and a ``chart`` spec. No number is produced anywhere else: the narrative, the charts and the memory
findings all read these dicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from genesis_agents.infrastructure.errors import BadInputError

from .plan import AnalysisPlan, Metric, Period
from .schema import Schema, flag_sql, qi

MAX_GROUPS = 50
MAX_SERIES = 8


def jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat() if (v.hour or v.minute or v.second) else v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if hasattr(v, "item"):
        return jsonable(v.item())
    if isinstance(v, (int, str, bool)) or v is None:
        return v
    return str(v)


def records(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [{n: jsonable(v) for n, v in zip(names, row)} for row in cur.fetchall()]


def where_sql(plan: AnalysisPlan, period: Period | None = None, *, use_period: bool = True) -> str:
    conds = [f.sql() for f in plan.filters]
    p = period if period is not None else (plan.period if use_period else None)
    if p is not None and plan.date_column:
        d = qi(plan.date_column)
        conds.append(f"{d} >= TIMESTAMP '{p.start:%Y-%m-%d %H:%M:%S}' AND {d} < TIMESTAMP '{p.end:%Y-%m-%d %H:%M:%S}'")
    return (" WHERE " + " AND ".join(f"({c})" for c in conds)) if conds else ""


def _metric(plan: AnalysisPlan) -> Metric:
    if plan.metric is None:
        raise BadInputError("the question names no metric", field="question")
    return plan.metric


def date_col(plan: AnalysisPlan) -> str:
    """The plan's date column, quoted; time operations are only planned when one exists."""
    if not plan.date_column:
        raise BadInputError("this question needs a date column, and the table has none", field="question")
    return qi(plan.date_column)


def _bucket(plan: AnalysisPlan, grain: str) -> str:
    return f"date_trunc('{grain}', {date_col(plan)})"


def auto_grain(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, *, min_points: int = 12) -> str:
    lo, hi = con.execute(f"SELECT min({date_col(plan)}), max({date_col(plan)}) FROM t"
                         f"{where_sql(plan)}").fetchall()[0]
    if lo is None:
        return "month"
    days = (hi - lo).days if hasattr(hi - lo, "days") else 0
    if days <= 120:
        return "day"
    if days <= 365 * 1.5 and days / 7 >= min_points:
        return "week" if days < 300 else "month"
    if days > 365 * 12:
        return "year"
    return "month"


# ------------------------------------------------------------------------------------------ operations


def op_aggregate(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    m = _metric(plan)
    sql = f"SELECT {m.sql} AS value, COUNT(*) AS n FROM t{where_sql(plan)}"
    row = records(con, sql)[0]
    out: dict[str, Any] = {"value": row["value"], "n": row["n"], "sql": sql}
    if m.unit == "rate" and m.agg == "rate":
        col = m.columns[0]
        pos = con.execute(f"SELECT count(*) FILTER (WHERE {flag_sql(col)} = 1), count({flag_sql(col)}) "
                          f"FROM t{where_sql(plan)}").fetchall()[0]
        out["positives"], out["counted"] = int(pos[0]), int(pos[1])
    if row["n"] == 0:
        out["empty"] = True
    out["chart"] = None
    return out


def op_group(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema, *, limit: int = MAX_GROUPS) -> dict[str, Any]:
    m = _metric(plan)
    dims = [qi(g) for g in plan.group_by]
    order = f"value {'ASC' if plan.order == 'asc' else 'DESC'} NULLS LAST"
    n_limit = plan.top_n or limit
    sel_dims = ", ".join(dims)
    sql = (f"SELECT {sel_dims}, {m.sql} AS value, COUNT(*) AS n FROM t{where_sql(plan)} "
           f"GROUP BY ALL ORDER BY {order}, {sel_dims} LIMIT {n_limit}")
    rows = records(con, sql)
    total_groups = con.execute(f"SELECT count(*) FROM (SELECT {sel_dims} FROM t{where_sql(plan)} GROUP BY ALL)").fetchall()[0][0]
    overall = records(con, f"SELECT {m.sql} AS value, COUNT(*) AS n FROM t{where_sql(plan)}")[0]
    for r in rows:
        r["value"] = r.pop("value")
        if m.additive and overall["value"]:
            r["share"] = (r["value"] or 0) / overall["value"]
        elif not m.additive and overall["value"]:
            r["vs_overall"] = (r["value"] or 0) / overall["value"] if r["value"] is not None else None
    out = {"table": rows, "groups": int(total_groups), "truncated": total_groups > len(rows) and plan.top_n is None,
           "overall": overall["value"], "n": overall["n"], "sql": sql}
    labels = [" / ".join(str(r[g]) for g in plan.group_by) for r in rows]
    out["chart"] = {"kind": "barh" if max((len(x) for x in labels), default=0) > 12 or len(labels) > 8 else "bar",
                    "labels": labels, "values": [r["value"] for r in rows], "title": _title(plan),
                    "x_label": " / ".join(plan.group_by), "y_label": m.label, "unit": m.unit}
    return out


def series(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, grain: str, period: Period | None = None,
           *, use_period: bool = True, group: str | None = None) -> list[dict[str, Any]]:
    m = _metric(plan)
    b = _bucket(plan, grain)
    g = f", {qi(group)} AS grp" if group else ""
    where = where_sql(plan, period, use_period=use_period)
    extra = f"{' AND' if where else ' WHERE'} {date_col(plan)} IS NOT NULL"
    sql = f"SELECT {b} AS period{g}, {m.sql} AS value, COUNT(*) AS n FROM t{where}{extra} GROUP BY ALL ORDER BY 1"
    return records(con, sql)


def fill_series(rows: list[dict[str, Any]], grain: str, *, zero: bool) -> list[dict[str, Any]]:
    """Insert missing periods (zero for sums/counts, None for ratios) so spacing is regular."""
    if not rows:
        return rows
    import pandas as pd

    freq = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}[grain]
    idx = pd.date_range(pd.Timestamp(rows[0]["period"]), pd.Timestamp(rows[-1]["period"]), freq=freq)
    have = {pd.Timestamp(r["period"]): r for r in rows}
    out = []
    for ts in idx:
        r = have.get(ts)
        out.append(r if r else {"period": jsonable(ts.to_pydatetime()), "value": 0.0 if zero else None, "n": 0})
    return out


def op_timeseries(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    grain = plan.grain or auto_grain(con, plan)
    m = _metric(plan)
    if plan.group_by:
        top = records(con, f"SELECT {qi(plan.group_by[0])} AS g, {m.sql} AS v FROM t{where_sql(plan)} GROUP BY 1 "
                           f"ORDER BY 2 DESC NULLS LAST LIMIT {MAX_SERIES}")
        keep = [r["g"] for r in top]
        rows = series(con, plan, grain, group=plan.group_by[0])
        rows = [r for r in rows if r["grp"] in keep]
        periods = sorted({r["period"] for r in rows})
        table = [{"period": p, **{str(g): next((r["value"] for r in rows if r["period"] == p and r["grp"] == g), None)
                                  for g in keep}} for p in periods]
        return {"grain": grain, "table": table, "series_names": [str(k) for k in keep],
                "sql": f"-- per {plan.group_by[0]}, grain {grain}",
                "chart": {"kind": "multiline", "labels": periods, "series": {str(g): [t[str(g)] for t in table] for g in keep},
                          "values": [], "title": _title(plan, grain), "x_label": grain, "y_label": m.label, "unit": m.unit}}
    rows = fill_series(series(con, plan, grain), grain, zero=m.additive)
    vals = [r["value"] for r in rows]
    nums = [v for v in vals if v is not None]
    out = {"grain": grain, "table": rows, "points": len(rows),
           "total": sum(nums) if m.additive else None,
           "max": max(rows, key=lambda r: -math.inf if r["value"] is None else r["value"]) if nums else None,
           "min": min(rows, key=lambda r: math.inf if r["value"] is None else r["value"]) if nums else None,
           "sql": f"SELECT {_bucket(plan, grain)} AS period, {m.sql} AS value FROM t{where_sql(plan)} GROUP BY 1 ORDER BY 1",
           "chart": {"kind": "line", "labels": [r["period"] for r in rows], "values": vals, "title": _title(plan, grain),
                     "x_label": grain, "y_label": m.label, "unit": m.unit}}
    return out


def op_growth(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    grain = plan.grain or "month"
    m = _metric(plan)
    rows = fill_series(series(con, plan, grain), grain, zero=m.additive)
    if len(rows) < 2:
        raise BadInputError(f"growth needs at least 2 {grain}s of data, found {len(rows)}", field="question",
                            hint="widen the period or use a finer grain")
    prev = None
    for r in rows:
        v = r["value"]
        r["growth"] = (v - prev) / abs(prev) if (prev not in (None, 0) and v is not None) else None
        prev = v
    # year-over-year at sub-year grains: compare with the same period a year before
    lag = {"month": 12, "quarter": 4, "week": 52}.get(grain)
    if lag and len(rows) > lag:
        for i, r in enumerate(rows):
            base = rows[i - lag]["value"] if i >= lag else None
            r["yoy"] = (r["value"] - base) / abs(base) if (base not in (None, 0) and r["value"] is not None) else None
    gs = [r["growth"] for r in rows if r["growth"] is not None]
    first, last = rows[0]["value"], rows[-1]["value"]
    n_per = len(rows) - 1
    cagr = ((last / first) ** (1 / n_per) - 1) if first and last and first > 0 and last > 0 else None
    # a partial last period (data ends mid-period) would show a fake drop; flag it
    partial = is_partial(con, plan, grain, rows)
    return {"grain": grain, "table": rows, "latest": rows[-1], "previous": rows[-2],
            "latest_growth": rows[-1]["growth"], "average_growth": (sum(gs) / len(gs)) if gs else None,
            "compound_growth": cagr, "partial_last_period": partial,
            "sql": f"SELECT {_bucket(plan, grain)} AS period, {m.sql} AS value FROM t{where_sql(plan)} GROUP BY 1 ORDER BY 1",
            "chart": {"kind": "bar", "labels": [r["period"] for r in rows[1:]],
                      "values": [None if r["growth"] is None else 100 * r["growth"] for r in rows[1:]],
                      "title": f"{m.label}: {grain}-over-{grain} growth (%)", "x_label": grain,
                      "y_label": "growth %", "unit": "percent"}}


def is_partial(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, grain: str, rows: list[dict[str, Any]]) -> bool:
    """The last period is cut short: the data ends before the period does *and* it has clearly fewer rows
    than the periods before it (monthly data dated on the 1st is complete, a half month of daily rows is not)."""
    if len(rows) < 3 or not _partial_last(con, plan, grain):
        return False
    prev = sorted(r.get("n", 0) for r in rows[-7:-1])
    return rows[-1].get("n", 0) < 0.6 * prev[len(prev) // 2]


def _partial_last(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, grain: str) -> bool:
    hi = con.execute(f"SELECT max({date_col(plan)}) FROM t{where_sql(plan)}").fetchall()[0][0]
    if hi is None:
        return False
    nxt = con.execute(f"SELECT date_trunc('{grain}', ?::TIMESTAMP) + INTERVAL 1 {grain}", [hi]).fetchall()[0][0]
    return (nxt - hi).days > 1 if grain != "day" else False


def op_compare(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    m = _metric(plan)
    cur_p, base_p = plan.period, plan.compare_to
    if cur_p is None:
        # 'what changed recently': the latest complete month vs the one before
        hi = con.execute(f"SELECT max({date_col(plan)}) FROM t").fetchall()[0][0] if plan.date_column else None
        if hi is None:
            return op_group(con, plan, schema) if plan.group_by else op_aggregate(con, plan, schema)
        from .parser import _add_months, _previous_period

        start = datetime(hi.year, hi.month, 1)
        cur_p = Period(start=start, end=_add_months(start, 1), label=start.strftime("%B %Y"))
        plan.period = cur_p
    if base_p is None:
        from .parser import _previous_period

        base_p = _previous_period(cur_p)
        plan.compare_to = base_p
    q = f"SELECT {m.sql} AS value, COUNT(*) AS n FROM t"
    cur = records(con, q + where_sql(plan, cur_p))[0]
    base = records(con, q + where_sql(plan, base_p))[0]
    delta = None if cur["value"] is None or base["value"] is None else cur["value"] - base["value"]
    pct = delta / abs(base["value"]) if delta is not None and base["value"] else None
    dims = plan.group_by or [c.name for c in schema.columns if c.role in ("categorical", "flag")
                             and 1 < c.n_distinct <= 30 and c.name not in (m.columns or [])][:12]
    drivers = []
    for dim in dims:
        seg_sql = f"SELECT {qi(dim)} AS segment, {m.sql} AS value, COUNT(*) AS n FROM t{{}} GROUP BY 1"
        a = {r["segment"]: r for r in records(con, seg_sql.format(where_sql(plan, cur_p)))}
        b = {r["segment"]: r for r in records(con, seg_sql.format(where_sql(plan, base_p)))}
        segs = []
        for s in set(a) | set(b):
            va = (a.get(s) or {}).get("value")
            vb = (b.get(s) or {}).get("value")
            va = 0.0 if va is None and m.additive else va
            vb = 0.0 if vb is None and m.additive else vb
            if va is None or vb is None:
                continue
            d = va - vb
            segs.append({"segment": jsonable(s), "current": va, "baseline": vb, "delta": d,
                         "contribution": (d / delta) if (m.additive and delta) else None,
                         "n_current": (a.get(s) or {}).get("n", 0), "n_baseline": (b.get(s) or {}).get("n", 0)})
        segs.sort(key=lambda r: -abs(r["delta"]))
        if segs:
            drivers.append({"dimension": dim, "segments": segs[:5], "top_abs_delta": abs(segs[0]["delta"])})
    drivers.sort(key=lambda d: -d["top_abs_delta"])
    return {"current": {"period": cur_p.label, **cur}, "baseline": {"period": base_p.label, **base},
            "delta": delta, "pct_change": pct, "drivers": drivers[:5],
            "sql": q + where_sql(plan, cur_p),
            "chart": {"kind": "bar", "labels": [base_p.label, cur_p.label], "values": [base["value"], cur["value"]],
                      "title": f"{m.label}: {cur_p.label} vs {base_p.label}", "x_label": "period",
                      "y_label": m.label, "unit": m.unit}}


def op_drivers(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    """Rank columns by how strongly they are associated with the target (rate) or metric.

    Binary target: Cramér's V for categories (sqrt(chi2/N)), |point-biserial r| for numbers. Numeric
    metric: correlation ratio (eta) for categories, |Pearson r| for numbers. Both lie in [0, 1].
    """
    m = _metric(plan)
    w = where_sql(plan)
    is_rate = m.unit == "rate" and m.agg == "rate"
    if not is_rate and (len(m.columns) != 1 or m.agg not in ("sum", "avg", "median")):
        raise BadInputError(f"driver analysis needs a Yes/No target or a single numeric column, not {m.label!r}",
                            field="question")
    tcol = m.columns[0]
    y = flag_sql(tcol) if is_rate else qi(tcol)
    overall_row = con.execute(f"SELECT AVG({y}), COUNT({y}), VAR_POP({y}) FROM t{w}").fetchall()[0]
    overall, n_all, var_all = overall_row
    if not n_all:
        raise BadInputError("no rows with a value for the target", field="question")
    results: list[dict[str, Any]] = []
    for c in schema.columns:
        if c.name in m.columns or c.role in ("id", "text", "date") or c.n_distinct <= 1:
            continue
        if c.role in ("categorical", "flag") and c.n_distinct <= 60:
            rows = records(con, f"SELECT {qi(c.name)} AS segment, AVG({y}) AS value, COUNT({y}) AS n FROM t{w}"
                                f"{' AND' if w else ' WHERE'} {y} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC")
            rows = [r for r in rows if r["segment"] is not None]
            if len(rows) < 2:
                continue
            between = sum(r["n"] * (r["value"] - overall) ** 2 for r in rows) / n_all
            if is_rate:
                denom = overall * (1 - overall)
                strength = math.sqrt(between / denom) if denom > 0 else 0.0
                measure = "cramers_v"
            else:
                strength = math.sqrt(between / var_all) if var_all else 0.0
                measure = "eta"
            for r in rows:
                r["lift"] = r["value"] / overall if overall else None
            results.append({"column": c.name, "kind": "categorical", "measure": measure, "strength": strength,
                            "segments": rows[:10], "top_segment": rows[0]})
        elif c.role in ("numeric", "money", "percent"):
            cr = con.execute(f"SELECT corr({qi(c.name)}, {y}), AVG({qi(c.name)}) FILTER (WHERE {y} = 1), "
                             f"AVG({qi(c.name)}) FILTER (WHERE {y} = 0) FROM t{w}").fetchall()[0]
            if cr[0] is None or (isinstance(cr[0], float) and math.isnan(cr[0])):
                continue
            entry: dict[str, Any] = {"column": c.name, "kind": "numeric", "measure": "pearson_r",
                                     "strength": abs(cr[0]), "correlation": cr[0]}
            if is_rate:
                entry["mean_if_target"], entry["mean_if_not"] = cr[1], cr[2]
            results.append(entry)
    results.sort(key=lambda d: -float(d["strength"]))
    top = results[:10]
    return {"target": tcol, "metric": m.label, "overall": overall, "n": n_all, "drivers": top,
            "sql": f"-- per column: SELECT col, AVG({y}), COUNT(*) FROM t{w} GROUP BY col",
            "chart": {"kind": "barh", "labels": [d["column"] for d in top], "values": [d["strength"] for d in top],
                      "title": f"What is associated with {m.label}", "x_label": "association strength (0-1)",
                      "y_label": "column", "unit": "number"}}


def op_correlation(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    a, b = plan.columns[:2]

    def val(c: str) -> str:
        ci = schema.get(c)
        return flag_sql(c) if ci and ci.role == "flag" else qi(c)

    w = where_sql(plan)
    sql = (f"SELECT corr({val(a)}, {val(b)}) AS pearson, count(*) AS n FROM t{w}"
           f"{' AND' if w else ' WHERE'} {val(a)} IS NOT NULL AND {val(b)} IS NOT NULL")
    r = records(con, sql)[0]
    sp = con.execute(f"SELECT corr(ra, rb) FROM (SELECT rank() OVER (ORDER BY {val(a)}) AS ra, "
                     f"rank() OVER (ORDER BY {val(b)}) AS rb FROM t{w}{' AND' if w else ' WHERE'} "
                     f"{val(a)} IS NOT NULL AND {val(b)} IS NOT NULL)").fetchall()[0][0]
    pts = records(con, f"SELECT {val(a)} AS x, {val(b)} AS y FROM t{w} USING SAMPLE 2000 ROWS (reservoir, 7)")
    strength = abs(r["pearson"] or 0)
    word = "strong" if strength >= 0.6 else "moderate" if strength >= 0.3 else "weak"
    return {"x": a, "y": b, "pearson": r["pearson"], "spearman": sp, "n": r["n"], "strength": word, "sql": sql,
            "chart": {"kind": "scatter", "labels": [p["x"] for p in pts], "values": [p["y"] for p in pts],
                      "title": f"{a} vs {b}", "x_label": a, "y_label": b, "unit": "number"}}


def op_distribution(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema, *, bins: int = 10
                    ) -> dict[str, Any]:
    """Quantiles and an equal-width histogram of one numeric column (per group when grouped)."""
    col = qi(plan.columns[0])
    w = where_sql(plan)
    cond = f"{' AND' if w else ' WHERE'} {col} IS NOT NULL"
    sql = (f"SELECT count({col}) AS n, min({col}) AS min, quantile_cont({col}, 0.1) AS p10, "
           f"quantile_cont({col}, 0.25) AS p25, median({col}) AS median, quantile_cont({col}, 0.75) AS p75, "
           f"quantile_cont({col}, 0.9) AS p90, max({col}) AS max, avg({col}) AS mean, stddev_samp({col}) AS std "
           f"FROM t{w}{cond}")
    stats = records(con, sql)[0]
    if not stats["n"]:
        return {"column": plan.columns[0], "stats": stats, "histogram": [], "sql": sql, "chart": None}
    lo, hi = float(stats["min"]), float(stats["max"])
    width = (hi - lo) / bins if hi > lo else 1.0
    rows = records(con, f"SELECT least(CAST(floor(({col} - {lo!r}) / {width!r}) AS INTEGER), {bins - 1}) AS b, "
                        f"count(*) AS n FROM t{w}{cond} GROUP BY 1 ORDER BY 1")
    counts = {r["b"]: r["n"] for r in rows}
    hist = [{"from": lo + i * width, "to": lo + (i + 1) * width, "n": counts.get(i, 0)} for i in range(bins)]
    unit = plan.metric.unit if plan.metric else "number"
    out: dict[str, Any] = {}
    if plan.group_by:
        dims = ", ".join(qi(g) for g in plan.group_by)
        out["table"] = records(con, f"SELECT {dims}, count({col}) AS n, quantile_cont({col}, 0.25) AS p25, "
                                    f"median({col}) AS median, quantile_cont({col}, 0.75) AS p75, avg({col}) AS mean "
                                    f"FROM t{w}{cond} GROUP BY ALL ORDER BY median DESC LIMIT {MAX_GROUPS}")
    return {**out, "column": plan.columns[0], "stats": stats, "histogram": hist, "sql": sql,
            "chart": {"kind": "bar", "labels": [f"{h['from']:,.4g}-{h['to']:,.4g}" for h in hist],
                      "values": [h["n"] for h in hist], "title": f"Distribution of {plan.columns[0]}",
                      "x_label": plan.columns[0], "y_label": "rows", "unit": "count", "value_unit": unit}}


def op_cohort(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema, *, max_age: int = 12) -> dict[str, Any]:
    if not plan.date_column:
        raise BadInputError("cohort retention needs a date column", field="question")
    d = qi(plan.date_column)
    w = where_sql(plan, use_period=False)
    ent = plan.entity
    multi = False
    if ent:
        n, nd = con.execute(f"SELECT count(*), count(DISTINCT {qi(ent)}) FROM t{w}").fetchall()[0]
        multi = n > nd * 1.05
    if multi and ent:
        e = qi(ent)
        base = f"SELECT {e} AS e, date_trunc('month', {d}) AS m FROM t{w}{' AND' if w else ' WHERE'} {d} IS NOT NULL"
        sql = (f"WITH a AS ({base}), f AS (SELECT e, min(m) AS cohort FROM a GROUP BY e), "
               f"act AS (SELECT DISTINCT a.e, f.cohort, date_diff('month', f.cohort, a.m) AS age FROM a JOIN f USING (e)) "
               f"SELECT cohort, age, count(*) AS active FROM act WHERE age <= {max_age} GROUP BY ALL ORDER BY 1, 2")
        rows = records(con, sql)
        sizes = {r["cohort"]: r["active"] for r in rows if r["age"] == 0}
        matrix: dict[str, dict[int, float | None]] = {}
        for r in rows:
            matrix.setdefault(r["cohort"], {})[r["age"]] = r["active"] / sizes[r["cohort"]] if sizes.get(r["cohort"]) else None
        table = [{"cohort": c, "size": sizes.get(c, 0), **{f"m{a}": v.get(a) for a in range(max_age + 1)}}
                 for c, v in matrix.items()]
        ages = [f"m{a}" for a in range(max_age + 1)]
        avg = {a: (sum(r[a] for r in table if r[a] is not None) / max(1, sum(r[a] is not None for r in table))) for a in ages}
        return {"kind": "activity", "entity": ent, "table": table, "average_retention": avg, "sql": sql,
                "chart": {"kind": "heatmap", "labels": [r["cohort"] for r in table], "values": [],
                          "matrix": [[r[a] for a in ages] for r in table], "columns": ages,
                          "title": "Retention by monthly cohort", "x_label": "months since first activity",
                          "y_label": "cohort", "unit": "rate"}}
    m = _metric(plan)
    grain = plan.grain or "month"
    sql = (f"SELECT date_trunc('{grain}', {d}) AS cohort, {m.sql} AS value, COUNT(*) AS size FROM t{w}"
           f"{' AND' if w else ' WHERE'} {d} IS NOT NULL GROUP BY 1 ORDER BY 1")
    rows = records(con, sql)
    return {"kind": "signup", "metric": m.label, "table": rows, "sql": sql,
            "chart": {"kind": "line", "labels": [r["cohort"] for r in rows], "values": [r["value"] for r in rows],
                      "title": f"{m.label} by {grain}ly signup cohort", "x_label": "cohort", "y_label": m.label,
                      "unit": m.unit}}


def op_describe(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, schema: Schema) -> dict[str, Any]:
    cols = []
    for c in schema.columns:
        entry: dict[str, Any] = {"column": c.name, "role": c.role, "distinct": c.n_distinct, "missing": c.n_null}
        if c.role in ("numeric", "money", "percent"):
            r = records(con, f"SELECT min({qi(c.name)}) AS min, avg({qi(c.name)}) AS mean, median({qi(c.name)}) AS median, "
                             f"max({qi(c.name)}) AS max, sum({qi(c.name)}) AS sum FROM t")[0]
            entry.update(r)
        elif c.role in ("categorical", "flag"):
            entry["top"] = c.top_values[:5]
        elif c.role == "date":
            r = records(con, f"SELECT min({qi(c.name)}) AS min, max({qi(c.name)}) AS max FROM t")[0]
            entry.update(r)
        if c.non_numeric:
            entry["non_numeric"] = c.non_numeric
        cols.append(entry)
    return {"rows": schema.rows, "columns": cols, "sql": "DESCRIBE t", "chart": None}


def _title(plan: AnalysisPlan, grain: str | None = None) -> str:
    m = plan.metric.label if plan.metric else "value"
    parts = [m[:1].upper() + m[1:]]
    if grain:
        parts.append(f"per {grain}")
    if plan.group_by:
        parts.append("by " + ", ".join(plan.group_by))
    if plan.period:
        parts.append(f"({plan.period.label})")
    return " ".join(parts)


OPERATIONS: dict[str, Callable[..., dict[str, Any]]] = {"aggregate": op_aggregate, "group": op_group, "rank": op_group, "timeseries": op_timeseries,
              "growth": op_growth, "compare": op_compare, "drivers": op_drivers, "correlation": op_correlation,
              "cohort": op_cohort, "describe": op_describe, "distribution": op_distribution}
