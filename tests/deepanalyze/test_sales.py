"""Question forms on a generated sales table whose answers are known by construction."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from genesis_agents.agents.deepanalyze import analyze


def _sum(rows, key="_revenue", pred=lambda r: True):
    return sum(r[key] if key.startswith("_") else float(r[key]) for r in rows if pred(r))


def test_schema_inference(sales_csv):
    a = analyze(sales_csv, "describe the data")
    s = {c["name"]: c for c in a.data["schema"]}
    assert s["order_date"]["role"] == "date" and s["order_date"]["day_first"] is True
    assert s["order_date"]["date_format"] == "%d/%m/%Y"
    assert s["revenue"]["role"] == "money" and s["order_id"]["role"] == "id"
    assert s["region"]["role"] == "categorical"


def test_total_revenue(sales_csv, sales_data):
    a = analyze(sales_csv, "total revenue")
    assert a.data["answer"]["value"] == pytest.approx(_sum(sales_data))
    assert not [i for i in a.data["interpretation"] if i["ambiguous"]]


def test_revenue_in_year(sales_csv, sales_data):
    a = analyze(sales_csv, "What was our revenue in 2023?")
    assert a.data["answer"]["value"] == pytest.approx(_sum(sales_data, pred=lambda r: r["_date"].year == 2023))


def test_revenue_in_quarter(sales_csv, sales_data):
    a = analyze(sales_csv, "revenue in Q1 2023")
    exp = _sum(sales_data, pred=lambda r: date(2023, 1, 1) <= r["_date"] < date(2023, 4, 1))
    assert a.data["answer"]["value"] == pytest.approx(exp)


def test_revenue_between_dates(sales_csv, sales_data):
    a = analyze(sales_csv, "revenue between 2022-06-01 and 2022-06-30")
    exp = _sum(sales_data, pred=lambda r: date(2022, 6, 1) <= r["_date"] <= date(2022, 6, 30))
    assert a.data["answer"]["value"] == pytest.approx(exp)


def test_revenue_by_region(sales_csv, sales_data):
    a = analyze(sales_csv, "revenue by region")
    exp = defaultdict(float)
    for r in sales_data:
        exp[r["region"]] += r["_revenue"]
    got = {r["region"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(dict(exp))
    assert sum(r["share"] for r in a.data["result"]["table"]) == pytest.approx(1.0)


def test_monthly_revenue_by_region_for_year(sales_csv, sales_data):
    a = analyze(sales_csv, "monthly revenue by region for 2022")
    res = a.data["result"]
    assert res["grain"] == "month" and len(res["table"]) == 12
    exp = _sum(sales_data, pred=lambda r: r["region"] == "North" and r["_date"].year == 2022 and r["_date"].month == 5)
    may = next(t for t in res["table"] if t["period"].startswith("2022-05"))
    assert may["North"] == pytest.approx(exp)


def test_monthly_revenue_series(sales_csv, sales_data):
    a = analyze(sales_csv, "monthly revenue")
    res = a.data["result"]
    assert res["points"] == 24
    exp = _sum(sales_data, pred=lambda r: r["_date"].year == 2023 and r["_date"].month == 7)
    assert next(t for t in res["table"] if t["period"].startswith("2023-07"))["value"] == pytest.approx(exp)
    assert a.data["chart_data"]["labels"][0].startswith("2022-01")
    assert len(a.data["chart_data"]["values"]) == 24


def test_quarterly_orders(sales_csv, sales_data):
    a = analyze(sales_csv, "number of orders per quarter")
    res = a.data["result"]
    q1 = sum(1 for r in sales_data if r["_date"] < date(2022, 4, 1))
    assert res["grain"] == "quarter" and res["table"][0]["value"] == q1


def test_top_customers_by_profit(sales_csv, sales_data):
    a = analyze(sales_csv, "top 3 customers by profit")
    prof = defaultdict(float)
    for r in sales_data:
        prof[r["customer"]] += r["_revenue"] - r["cost"]
    best = sorted(prof.items(), key=lambda kv: -kv[1])[:3]
    got = [(r["customer"], r["value"]) for r in a.data["result"]["table"]]
    assert [g[0] for g in got] == [b[0] for b in best]
    assert [g[1] for g in got] == pytest.approx([b[1] for b in best])
    assert any("profit" in i["term"] for i in a.data["interpretation"])  # profit = revenue - cost, said so


def test_bottom_products_by_quantity(sales_csv, sales_data):
    a = analyze(sales_csv, "bottom 1 product by quantity")
    q = defaultdict(int)
    for r in sales_data:
        q[r["product"]] += r["quantity"]
    assert a.data["answer"]["segment"] == min(q, key=q.get)


def test_margin_by_product(sales_csv, sales_data):
    a = analyze(sales_csv, "profit margin by product")
    got = {r["product"]: r["value"] for r in a.data["result"]["table"]}
    for p in ("Widget", "Gadget", "Gizmo"):
        rev = _sum(sales_data, pred=lambda r, p=p: r["product"] == p)
        cost = sum(r["cost"] for r in sales_data if r["product"] == p)
        assert got[p] == pytest.approx((rev - cost) / rev)
    assert got["Gizmo"] == pytest.approx(0.55, abs=1e-3)


def test_aov_by_region(sales_csv, sales_data):
    a = analyze(sales_csv, "average order value by region")
    got = {r["region"]: r["value"] for r in a.data["result"]["table"]}
    west = [r["_revenue"] for r in sales_data if r["region"] == "West"]
    assert got["West"] == pytest.approx(sum(west) / len(west))


def test_filter_two_values(sales_csv, sales_data):
    a = analyze(sales_csv, "revenue for widget in the west region")
    exp = _sum(sales_data, pred=lambda r: r["product"] == "Widget" and r["region"] == "West")
    assert a.data["answer"]["value"] == pytest.approx(exp)


def test_average_quantity(sales_csv, sales_data):
    a = analyze(sales_csv, "average quantity per order for gizmo")
    q = [r["quantity"] for r in sales_data if r["product"] == "Gizmo"]
    assert a.data["answer"]["value"] == pytest.approx(sum(q) / len(q))


def test_last_n_months(sales_csv, sales_data):
    a = analyze(sales_csv, "how many orders in the last 3 months")
    assert a.data["answer"]["value"] == sum(1 for r in sales_data if r["_date"] >= date(2023, 10, 1))


def test_what_changed_in_march(sales_csv, sales_data):
    a = analyze(sales_csv, "what changed in March 2023?")
    res = a.data["result"]
    mar = _sum(sales_data, pred=lambda r: r["_date"].year == 2023 and r["_date"].month == 3)
    feb = _sum(sales_data, pred=lambda r: r["_date"].year == 2023 and r["_date"].month == 2)
    assert res["current"]["value"] == pytest.approx(mar) and res["baseline"]["value"] == pytest.approx(feb)
    assert res["delta"] == pytest.approx(mar - feb)
    top = res["drivers"][0]
    assert top["dimension"] == "region" and top["segments"][0]["segment"] == "West"  # the planted spike


def test_compare_years(sales_csv, sales_data):
    a = analyze(sales_csv, "compare 2023 vs 2022 revenue")
    res = a.data["result"]
    y23 = _sum(sales_data, pred=lambda r: r["_date"].year == 2023)
    y22 = _sum(sales_data, pred=lambda r: r["_date"].year == 2022)
    assert res["pct_change"] == pytest.approx((y23 - y22) / y22)
    assert res["current"]["period"] == "2023" and res["baseline"]["period"] == "2022"


def test_mom_growth(sales_csv, sales_data):
    a = analyze(sales_csv, "month over month revenue growth")
    dec = _sum(sales_data, pred=lambda r: r["_date"].year == 2023 and r["_date"].month == 12)
    nov = _sum(sales_data, pred=lambda r: r["_date"].year == 2023 and r["_date"].month == 11)
    assert a.data["result"]["latest_growth"] == pytest.approx((dec - nov) / nov)
    dec22 = _sum(sales_data, pred=lambda r: r["_date"].year == 2022 and r["_date"].month == 12)
    assert a.data["result"]["latest"]["yoy"] == pytest.approx((dec - dec22) / dec22)


def test_yoy_growth(sales_csv, sales_data):
    a = analyze(sales_csv, "year over year sales growth")
    y23 = _sum(sales_data, pred=lambda r: r["_date"].year == 2023)
    y22 = _sum(sales_data, pred=lambda r: r["_date"].year == 2022)
    assert a.data["result"]["grain"] == "year"
    assert a.data["answer"]["value"] == pytest.approx((y23 - y22) / y22)


def test_forecast_next_quarter(sales_csv):
    a = analyze(sales_csv, "forecast next quarter's revenue")
    f = a.data["result"]["forecast"]
    assert f["horizon"] == 3 and f["grain"] == "month" and len(f["forecast"]) == 3
    assert f["forecast"][0]["period"] == "2024-01-01"
    bt = f["backtest"]
    ok = [m for m in bt["models"] if "mae" in m]
    assert bt["chosen"] == min(ok, key=lambda m: m["mae"])["model"]
    for row in f["forecast"]:
        assert row["lower"] < row["forecast"] < row["upper"]
    # the series trends up by about 0.2% a day; the forecast must continue near the last level
    last = a.data["result"]["history"][-1]["value"]
    assert 0.8 * last < f["forecast"][0]["forecast"] < 1.25 * last


def test_forecast_horizon_weeks(sales_csv):
    a = analyze(sales_csv, "predict revenue for the next 8 weeks")
    f = a.data["result"]["forecast"]
    assert f["grain"] == "week" and f["horizon"] == 8


def test_anomalies_find_planted_spike(sales_csv):
    a = analyze(sales_csv, "find anomalies in daily revenue")
    an = a.data["result"]["anomalies"]["anomalies"]
    assert an and an[0]["period"] == "2023-03-15" and an[0]["direction"] == "high"


def test_cohort_retention(sales_csv, sales_data):
    a = analyze(sales_csv, "cohort retention of customers")
    res = a.data["result"]
    assert res["kind"] == "activity" and res["entity"] == "customer"
    first = {}
    for r in sorted(sales_data, key=lambda r: r["_date"]):
        first.setdefault(r["customer"], r["_date"].replace(day=1))
    jan = [c for c, d in first.items() if d == date(2022, 1, 1)]
    assert res["table"][0]["size"] == len(jan)
    active_feb = {r["customer"] for r in sales_data if r["_date"].replace(day=1) == date(2022, 2, 1)}
    assert res["table"][0]["m1"] == pytest.approx(len(set(jan) & active_feb) / len(jan))


def test_drivers_of_revenue(sales_csv):
    a = analyze(sales_csv, "what drives revenue")
    top = a.data["result"]["drivers"][0]
    assert top["column"] in ("product", "quantity", "cost")
    assert {d["column"] for d in a.data["result"]["drivers"]} >= {"product", "region"}


def test_best_selling_and_bought_the_most(sales_csv, sales_data):
    a = analyze(sales_csv, "best selling product")
    q = defaultdict(int)
    for r in sales_data:
        q[r["product"]] += r["quantity"]
    assert a.data["answer"]["segment"] == max(q, key=q.get) and a.data["answer"]["value"] == max(q.values())
    b = analyze(sales_csv, "which customer bought the most")
    rev = defaultdict(float)
    for r in sales_data:
        rev[r["customer"]] += r["_revenue"]
    assert b.data["answer"]["segment"] == max(rev, key=rev.get)
