"""Narrative and findings, built only from the computed result dicts (every number is formatted from
them; nothing is typed in by hand or by a model). An LLM may rephrase the narrative, but its text is
accepted only if every number in it appears in the deterministic one (see ``numbers_supported``)."""

from __future__ import annotations

import re
from typing import Any

from .fmt import fmt, pct
from .plan import AnalysisPlan


def _scope(plan: AnalysisPlan) -> str:
    parts = [f.phrase or f"{f.column} {f.op} {f.value}" for f in plan.filters]
    if plan.period and plan.operation not in ("compare",):
        parts.append(plan.period.label)
    return (" (" + ", ".join(str(p) for p in parts) + ")") if parts else ""


def _seg(row: dict[str, Any], dims: list[str]) -> str:
    return " / ".join(str(row.get(d)) for d in dims)


def findings_for(plan: AnalysisPlan, r: dict[str, Any]) -> list[dict[str, Any]]:
    """Compact, JSON-ready key facts: {text, segment, metric, value, unit}."""
    m = plan.metric
    label, unit = (m.label, m.unit) if m else ("value", "number")
    out: list[dict[str, Any]] = []

    def add(segment: str, metric: str, value: Any, u: str, text: str) -> None:
        out.append({"segment": segment, "metric": metric, "value": value, "unit": u, "text": text})

    op = plan.operation
    if op == "aggregate" and r.get("value") is not None:
        seg = _scope(plan).strip(" ()") or "all rows"
        add(seg, label, r["value"], unit, f"{label} for {seg}: {fmt(r['value'], unit)}")
    elif op in ("group", "rank", "sql") and r.get("table"):
        dims = plan.group_by or [k for k in r["table"][0] if k not in ("value", "n", "share", "vs_overall")][:1]
        for row in r["table"][:5]:
            if "value" not in row:
                break
            seg = _seg(row, dims)
            add(seg, label, row["value"], unit, f"{label} for {seg}: {fmt(row['value'], unit)}")
    elif op == "timeseries" and r.get("max"):
        add(str(r["max"]["period"]), label, r["max"]["value"], unit,
            f"highest {label} per {r['grain']}: {fmt(r['max']['value'], unit)} in {r['max']['period']}")
        add(str(r["min"]["period"]), label, r["min"]["value"], unit,
            f"lowest {label} per {r['grain']}: {fmt(r['min']['value'], unit)} in {r['min']['period']}")
    elif op == "growth":
        lt = r["latest"]
        add(str(lt["period"]), f"{label} growth", lt["growth"], "ratio",
            f"{label} growth in {lt['period']}: {pct(lt['growth'])} ({r['grain']}-over-{r['grain']})")
    elif op == "compare":
        add(r["current"]["period"], f"{label} change vs {r['baseline']['period']}", r["delta"], unit,
            f"{label} {r['current']['period']}: {fmt(r['current']['value'], unit)} vs {fmt(r['baseline']['value'], unit)} "
            f"in {r['baseline']['period']} ({pct(r['pct_change'])})")
        if r["drivers"]:
            d = r["drivers"][0]
            s = d["segments"][0]
            add(f"{d['dimension']}={s['segment']}", f"{label} change", s["delta"], unit,
                f"largest move: {d['dimension']} {s['segment']} changed by {fmt(s['delta'], unit)}")
    elif op == "drivers":
        for d in r["drivers"][:3]:
            if d["kind"] == "categorical":
                s = d["top_segment"]
                add(f"{d['column']}={s['segment']}", label, s["value"], unit,
                    f"{d['column']} = {s['segment']}: {label} {fmt(s['value'], unit)} vs {fmt(r['overall'], unit)} "
                    f"overall (strength {d['strength']:.2f})")
            else:
                add(d["column"], f"correlation with {label}", d["correlation"], "number",
                    f"{d['column']} correlates with {label}: r = {d['correlation']:.2f}")
    elif op == "distribution" and r["stats"]["n"]:
        add(r["column"], f"median {r['column']}", r["stats"]["median"], unit,
            f"median {r['column']}: {fmt(r['stats']['median'], unit)}")
    elif op == "correlation":
        add(f"{r['x']} ~ {r['y']}", "pearson correlation", r["pearson"], "number",
            f"correlation between {r['x']} and {r['y']}: r = {fmt(r['pearson'])} ({r['strength']})")
    elif op == "forecast":
        f = r["forecast"]
        add(f"next {f['horizon']} {f['grain']}s", f"forecast {label}", f["total_forecast"], unit,
            f"forecast {label} for the next {f['horizon']} {f['grain']}(s): {fmt(f['total_forecast'], unit)} "
            f"({f['model']}, backtest MAE {fmt(f['backtest']['chosen_mae'], unit)})")
    elif op == "anomalies":
        for a in r["anomalies"]["anomalies"][:5]:
            add(str(a["period"]), f"{label} anomaly", a["value"], unit,
                f"unusual {label} in {a['period']}: {fmt(a['value'], unit)} (expected about {fmt(a['expected'], unit)})")
    elif op == "cohort" and r.get("table"):
        if r["kind"] == "activity":
            for k in ("m1", "m3"):
                v = r["average_retention"].get(k)
                if v is not None:
                    add(f"month {k[1:]}", "average cohort retention", v, "rate",
                        f"average retention after {k[1:]} month(s): {fmt(v, 'rate')}")
        else:
            best = max((x for x in r["table"] if x["value"] is not None), key=lambda x: x["value"], default=None)
            if best:
                add(str(best["cohort"]), label, best["value"], unit,
                    f"best cohort: {best['cohort']} with {label} {fmt(best['value'], unit)}")
    return out


def narrate(plan: AnalysisPlan, r: dict[str, Any], *, notes: list[str], warnings: list[str]) -> str:
    m = plan.metric
    label, unit = (m.label, m.unit) if m else ("value", "number")
    op = plan.operation
    lines: list[str] = []
    scope = _scope(plan)
    if op == "aggregate":
        if r.get("n") == 0:
            lines.append(f"No rows match{scope}, so {label} cannot be computed.")
        else:
            lines.append(f"{label[:1].upper() + label[1:]}{scope}: {fmt(r['value'], unit)} over {fmt(r['n'], 'count')} rows.")
            if "positives" in r:
                lines.append(f"{fmt(r['positives'], 'count')} of {fmt(r['counted'], 'count')} rows are flagged.")
    elif op in ("group", "rank"):
        rows = r["table"]
        if not rows:
            lines.append(f"No rows match{scope}.")
        else:
            top = rows[0]
            how = "lowest" if plan.order == "asc" else "highest"
            lines.append(f"{label[:1].upper() + label[1:]} by {', '.join(plan.group_by)}{scope}: {how} is "
                         f"{_seg(top, plan.group_by)} at {fmt(top['value'], unit)}"
                         + (f", {fmt(rows[-1]['value'], unit)} for {_seg(rows[-1], plan.group_by)} at the other end" if len(rows) > 1 else "")
                         + f"; overall {fmt(r['overall'], unit)}.")
            for row in rows[1:5]:
                lines.append(f"- {_seg(row, plan.group_by)}: {fmt(row['value'], unit)} ({fmt(row['n'], 'count')} rows)")
            if r.get("truncated"):
                lines.append(f"Showing {len(rows)} of {r['groups']} groups.")
    elif op == "timeseries":
        if r.get("series_names"):
            lines.append(f"{label} per {r['grain']} for the top {len(r['series_names'])} {plan.group_by[0]} values "
                         f"({', '.join(r['series_names'])}) over {len(r['table'])} periods{scope}.")
        elif r.get("max"):
            lines.append(f"{label[:1].upper() + label[1:]} per {r['grain']}{scope} over {r['points']} periods"
                         + (f", total {fmt(r['total'], unit)}" if r.get("total") is not None else "") + ".")
            lines.append(f"Highest: {fmt(r['max']['value'], unit)} in {r['max']['period']}; lowest: "
                         f"{fmt(r['min']['value'], unit)} in {r['min']['period']}.")
    elif op == "growth":
        lt, pv = r["latest"], r["previous"]
        lines.append(f"{label[:1].upper() + label[1:]} was {fmt(lt['value'], unit)} in {lt['period']} vs "
                     f"{fmt(pv['value'], unit)} in {pv['period']}: {pct(lt['growth'])} {r['grain']}-over-{r['grain']}.")
        if r.get("average_growth") is not None:
            lines.append(f"Average {r['grain']}ly growth over {len(r['table']) - 1} steps: {pct(r['average_growth'])}"
                         + (f"; compound {pct(r['compound_growth'])} per {r['grain']}." if r.get("compound_growth") is not None else "."))
        if lt.get("yoy") is not None:
            lines.append(f"Year over year ({lt['period']}): {pct(lt['yoy'])}.")
        if r.get("partial_last_period"):
            lines.append(f"Note: the last {r['grain']} ({lt['period']}) is incomplete in the data.")
    elif op == "compare":
        c, b = r["current"], r["baseline"]
        lines.append(f"{label[:1].upper() + label[1:]} in {c['period']}: {fmt(c['value'], unit)} vs {fmt(b['value'], unit)} "
                     f"in {b['period']} (change {fmt(r['delta'], unit)}, {pct(r['pct_change'])}).")
        for d in r["drivers"][:3]:
            segs = "; ".join(f"{s['segment']} {fmt(s['baseline'], unit)} -> {fmt(s['current'], unit)}" for s in d["segments"][:3])
            lines.append(f"- by {d['dimension']}: {segs}")
    elif op == "drivers":
        lines.append(f"Overall {label}: {fmt(r['overall'], unit)} over {fmt(r['n'], 'count')} rows. Strongest associations:")
        for d in r["drivers"][:5]:
            if d["kind"] == "categorical":
                s = d["top_segment"]
                lines.append(f"- {d['column']} (strength {d['strength']:.2f}): highest for {s['segment']} at "
                             f"{fmt(s['value'], unit)} ({fmt(s['n'], 'count')} rows)")
            else:
                lines.append(f"- {d['column']} (r = {d['correlation']:.2f})")
        lines.append("Associations are not proof of cause.")
    elif op == "correlation":
        lines.append(f"Correlation between {r['x']} and {r['y']}: Pearson r = {fmt(r['pearson'])}, Spearman = "
                     f"{fmt(r['spearman'])} over {fmt(r['n'], 'count')} rows ({r['strength']}).")
    elif op == "forecast":
        f = r["forecast"]
        rows = f["forecast"]
        lines.append(f"Forecast of {label} for the next {f['horizon']} {f['grain']}(s): {fmt(f['total_forecast'], unit)} in total "
                     f"({', '.join(fmt(x['forecast'], unit) for x in rows[:6])}{', ...' if len(rows) > 6 else ''}).")
        lines.append(f"{int(100 * f['interval'])}% interval for {rows[0]['period']}: {fmt(rows[0]['lower'], unit)} to "
                     f"{fmt(rows[0]['upper'], unit)}.")
        bt = f["backtest"]
        lines.append(f"Model {f['model']} chosen by backtest on the last {bt['holdout_points']} {f['grain']}(s): MAE "
                     f"{fmt(bt['chosen_mae'], unit)} vs {fmt(bt['naive']['mae'], unit)} for the {bt['naive']['model']} forecast.")
    elif op == "anomalies":
        a = r["anomalies"]
        if not a["anomalies"]:
            lines.append(f"No unusual {r['grain']}s in {label} over {a['points']} periods (robust z > {a['threshold']}).")
        else:
            lines.append(f"{len(a['anomalies'])} unusual {r['grain']}(s) in {label} over {a['points']} periods ({a['method']}):")
            for x in a["anomalies"][:5]:
                lines.append(f"- {x['period']}: {fmt(x['value'], unit)} vs about {fmt(x['expected'], unit)} expected "
                             f"(z = {x['z']:.1f}, {x['direction']})")
    elif op == "cohort":
        if r["kind"] == "activity":
            ar = r["average_retention"]
            lines.append(f"{len(r['table'])} monthly cohorts of {r['entity']}. Average retention: month 1 "
                         f"{fmt(ar.get('m1'), 'rate')}, month 3 {fmt(ar.get('m3'), 'rate')}.")
        else:
            lines.append(f"{label[:1].upper() + label[1:]} by signup cohort across {len(r['table'])} cohorts.")
    elif op == "distribution":
        st = r["stats"]
        if not st["n"]:
            lines.append(f"No values of {r['column']}{scope}.")
        else:
            lines.append(f"{r['column']}{scope} over {fmt(st['n'], 'count')} values: median {fmt(st['median'], unit)}, "
                         f"middle half {fmt(st['p25'], unit)} to {fmt(st['p75'], unit)}, range {fmt(st['min'], unit)} "
                         f"to {fmt(st['max'], unit)}, mean {fmt(st['mean'], unit)}.")
            for row in r.get("table", [])[:6]:
                lines.append(f"- {_seg(row, plan.group_by)}: median {fmt(row['median'], unit)} "
                             f"({fmt(row['p25'], unit)} to {fmt(row['p75'], unit)}, {fmt(row['n'], 'count')} values)")
    elif op == "describe":
        lines.append(f"The table has {fmt(r['rows'], 'count')} rows and {len(r['columns'])} columns: "
                     + ", ".join(f"{c['column']} ({c['role']})" for c in r["columns"][:20]) + ".")
    elif op == "sql":
        rows = r.get("table", [])
        lines.append(f"The query returned {len(rows)} row(s)." + (f" First: {rows[0]}" if rows else ""))
    for n in notes:
        lines.append(f"Note: {n}")
    for w in warnings:
        lines.append(f"Warning: {w}")
    return "\n".join(lines)


_NUM = re.compile(r"-?\d[\d,]*\.?\d*")


def numbers_supported(candidate: str, reference: str) -> bool:
    """True when every number in ``candidate`` also appears in ``reference`` (used to vet LLM prose)."""
    ref = {n.replace(",", "").rstrip(".") for n in _NUM.findall(reference)}
    return all(n.replace(",", "").rstrip(".") in ref for n in _NUM.findall(candidate))
