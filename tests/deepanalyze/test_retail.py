"""A retail table shaped like the classic 'superstore' export: spaced/hyphenated column names, US dates,
fractional discounts, line items with repeated order ids. Answers recomputed here with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from genesis_agents.agents.deepanalyze import analyze


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 3000
    d = pd.to_datetime("2016-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    df = pd.DataFrame({
        "Row ID": range(1, n + 1), "Order ID": [f"CA-{i}" for i in rng.integers(0, 1500, n)],
        "Order Date": d.strftime("%m/%d/%Y"), "Ship Mode": rng.choice(["Standard Class", "First Class", "Same Day"], n),
        "Customer Name": rng.choice([f"Name {i}" for i in range(300)], n),
        "Segment": rng.choice(["Consumer", "Corporate", "Home Office"], n),
        "Region": rng.choice(["West", "East", "Central", "South"], n),
        "Category": rng.choice(["Furniture", "Office Supplies", "Technology"], n),
        "Sub-Category": rng.choice(["Chairs", "Phones", "Binders", "Tables", "Paper"], n),
        "Sales": np.round(rng.gamma(2, 100, n), 2), "Quantity": rng.integers(1, 10, n),
        "Discount": rng.choice([0, 0.1, 0.2, 0.5], n), "Profit": np.round(rng.normal(20, 50, n), 2)})
    p = tmp_path_factory.mktemp("store") / "superstore.csv"
    df.to_csv(p, index=False)
    df["date"] = d
    return p, df


def test_group_by_a_stop_word_named_column(store):
    p, df = store
    a = analyze(p, "total sales by category")
    got = {r["Category"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(df.groupby("Category")["Sales"].sum().to_dict())


def test_hyphenated_column(store):
    p, df = store
    a = analyze(p, "profit by sub-category in 2018")
    sub = df[df["date"].dt.year == 2018]
    got = {r["Sub-Category"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(sub.groupby("Sub-Category")["Profit"].sum().to_dict())


def test_fraction_discount_is_a_rate(store):
    p, df = store
    a = analyze(p, "average discount by segment")
    assert a.data["metric"]["unit"] == "rate"
    got = {r["Segment"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(df.groupby("Segment")["Discount"].mean().to_dict())
    assert "%" in a.text


def test_superlative_without_by(store):
    p, df = store
    a = analyze(p, "lowest profit category")
    assert a.data["answer"]["segment"] == df.groupby("Category")["Profit"].sum().idxmin()


def test_distinct_customers_by_name(store):
    p, df = store
    a = analyze(p, "number of unique customers by region")
    got = {r["Region"]: r["value"] for r in a.data["result"]["table"]}
    assert got == df.groupby("Region")["Customer Name"].nunique().to_dict()


def test_average_per_order_is_total_over_orders(store):
    p, df = store
    a = analyze(p, "average sales per order")
    assert a.data["answer"]["value"] == pytest.approx(df["Sales"].sum() / df["Order ID"].nunique())
    assert any("per order" in i["term"] for i in a.data["interpretation"])


def test_us_dates_and_quarter_comparison(store):
    p, df = store
    a = analyze(p, "compare Q4 2019 vs Q4 2018 sales")
    r = a.data["result"]
    q4 = lambda y: df[(df["date"] >= f"{y}-10-01") & (df["date"] < f"{y + 1}-01-01")]["Sales"].sum()
    assert r["current"]["value"] == pytest.approx(q4(2019)) and r["baseline"]["value"] == pytest.approx(q4(2018))


def test_quarterly_series_per_category(store):
    p, df = store
    a = analyze(p, "quarterly profit by category")
    r = a.data["result"]
    assert r["grain"] == "quarter" and set(r["series_names"]) == {"Furniture", "Office Supplies", "Technology"}
    q1 = df[(df["date"] < "2016-04-01") & (df["Category"] == "Technology")]["Profit"].sum()
    assert r["table"][0]["Technology"] == pytest.approx(q1)


@pytest.fixture(scope="module")
def invoices(tmp_path_factory):
    """Line items shaped like the UCI 'Online Retail' export: no revenue column, US dates with times,
    numeric invoice numbers repeated across lines, customer ids with blanks."""
    rng = np.random.default_rng(5)
    n = 5000
    d = pd.to_datetime("2010-12-01") + pd.to_timedelta(rng.integers(0, 373 * 24 * 60, n), unit="min")
    df = pd.DataFrame({
        "InvoiceNo": rng.integers(536365, 538000, n),
        "Description": rng.choice(["WHITE HANGING HEART", "WHITE METAL LANTERN", "GLASS STAR"], n),
        "Quantity": rng.integers(1, 24, n), "InvoiceDate": [f"{x.month}/{x.day}/{x.year} {x.hour}:{x.minute:02d}" for x in d],
        "UnitPrice": np.round(rng.uniform(0.5, 10, n), 2),
        "CustomerID": np.where(rng.random(n) < 0.1, np.nan, rng.integers(12000, 13000, n)),
        "Country": rng.choice(["United Kingdom", "France", "EIRE"], n)})
    p = tmp_path_factory.mktemp("retail") / "online_retail.csv"
    df.to_csv(p, index=False)
    df["date"] = d
    df["rev"] = df["Quantity"] * df["UnitPrice"]
    return p, df


def test_revenue_from_price_times_quantity_and_product_synonym(invoices):
    p, df = invoices
    a = analyze(p, "top 2 products by revenue")
    exp = df.groupby("Description")["rev"].sum().sort_values(ascending=False).head(2)
    got = [(r["Description"], r["value"]) for r in a.data["result"]["table"]]
    assert [g[0] for g in got] == list(exp.index)
    assert [g[1] for g in got] == pytest.approx(list(exp.values))
    assert any("UnitPrice x Quantity" in i["reason"] for i in a.data["interpretation"])


def test_numeric_ids_and_us_datetimes(invoices):
    p, df = invoices
    a = analyze(p, "how many customers")
    assert a.data["answer"]["value"] == df["CustomerID"].nunique()
    s = {c["name"]: c for c in a.data["schema"]}
    assert s["InvoiceNo"]["role"] == "id" and s["InvoiceDate"]["date_format"] == "%m/%d/%Y %H:%M"
    b = analyze(p, "average order value in december 2010")
    dec = df[(df["date"] >= "2010-12-01") & (df["date"] < "2011-01-01")]
    assert b.data["answer"]["value"] == pytest.approx(dec["rev"].sum() / dec["InvoiceNo"].nunique())


def test_bank_style_exited_target(tmp_path):
    rng = np.random.default_rng(2)
    n = 2000
    df = pd.DataFrame({"CustomerId": range(n), "Geography": rng.choice(["France", "Spain", "Germany"], n),
                       "NumOfProducts": rng.integers(1, 4, n), "IsActiveMember": rng.integers(0, 2, n),
                       "Balance": np.round(rng.uniform(0, 1e5, n), 2), "Exited": rng.integers(0, 2, n)})
    p = tmp_path / "bank.csv"
    df.to_csv(p, index=False)
    a = analyze(p, "exit rate by number of products")
    got = {r["NumOfProducts"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(df.groupby("NumOfProducts")["Exited"].mean().to_dict())
    b = analyze(p, "churn rate for active members")
    assert b.data["answer"]["value"] == pytest.approx(df[df["IsActiveMember"] == 1]["Exited"].mean())
    c = analyze(p, "average balance of churned customers")
    assert c.data["answer"]["value"] == pytest.approx(df[df["Exited"] == 1]["Balance"].mean())
