"""Answers on the real telco churn table, checked against sums computed here with the csv module."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict

import pytest
from genesis_agents.agents.deepanalyze import analyze


@pytest.fixture(scope="module")
def rows(telco):
    with telco.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(v: str) -> float | None:
    try:
        return float(v)
    except ValueError:
        return None


def _churn_by(rows, col):
    tot, yes = defaultdict(int), defaultdict(int)
    for r in rows:
        tot[r[col]] += 1
        yes[r[col]] += r["Churn"] == "Yes"
    return {k: yes[k] / tot[k] for k in tot}


def test_churn_rate_by_contract_type(telco, rows):
    a = analyze(telco, "churn rate by contract type")
    exp = _churn_by(rows, "Contract")
    got = {r["Contract"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(exp)
    assert a.data["answer"]["segment"] == "Month-to-month"
    assert got["Month-to-month"] == pytest.approx(1655 / 3875)
    assert "42.7%" in a.text  # the narrative number comes from the data


def test_overall_churn_rate(telco, rows):
    a = analyze(telco, "What is the churn rate?")
    assert a.data["answer"]["value"] == pytest.approx(sum(r["Churn"] == "Yes" for r in rows) / len(rows))
    assert a.data["result"]["positives"] == 1869


def test_how_many_customers(telco, rows):
    a = analyze(telco, "how many customers do we have")
    assert a.data["answer"]["value"] == len({r["customerID"] for r in rows}) == 7043


def test_how_many_churned(telco, rows):
    a = analyze(telco, "how many customers churned")
    assert a.data["answer"]["value"] == sum(r["Churn"] == "Yes" for r in rows)


def test_average_monthly_charges_by_payment_method(telco, rows):
    a = analyze(telco, "average monthly charges by payment method")
    groups = defaultdict(list)
    for r in rows:
        groups[r["PaymentMethod"]].append(float(r["MonthlyCharges"]))
    got = {r["PaymentMethod"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx({k: statistics.mean(v) for k, v in groups.items()})


def test_revenue_ambiguity_is_reported(telco, rows):
    a = analyze(telco, "total revenue")
    exp = sum(v for r in rows if (v := _num(r["TotalCharges"])) is not None)
    assert a.data["answer"]["value"] == pytest.approx(exp)
    it = next(i for i in a.data["interpretation"] if i["term"] == "revenue")
    assert it["chosen"] == "TotalCharges" and "MonthlyCharges" in it["alternatives"] and it["ambiguous"]
    assert "TotalCharges" in a.text and "MonthlyCharges" in a.text


def test_non_numeric_values_counted(telco, rows):
    a = analyze(telco, "average total charges")
    bad = sum(_num(r["TotalCharges"]) is None for r in rows)
    assert bad == 11
    assert a.data["data_quality"]["TotalCharges"]["non_numeric"] == bad
    assert any("11 value(s) are not numbers" in w for w in a.data["warnings"])
    vals = [v for r in rows if (v := _num(r["TotalCharges"])) is not None]
    assert a.data["answer"]["value"] == pytest.approx(statistics.mean(vals))


def test_highest_churn_payment_method(telco, rows):
    a = analyze(telco, "which payment method has the highest churn rate")
    exp = _churn_by(rows, "PaymentMethod")
    best = max(exp, key=exp.get)
    assert a.data["operation"] == "rank"
    assert a.data["answer"]["segment"] == best == "Electronic check"
    assert len(a.data["result"]["table"]) == 1


def test_lowest_churn_internet_service(telco, rows):
    a = analyze(telco, "which internet service has the lowest churn rate")
    exp = _churn_by(rows, "InternetService")
    assert a.data["answer"]["segment"] == min(exp, key=exp.get)


def test_filter_by_category_value(telco, rows):
    a = analyze(telco, "churn rate for fiber optic customers")
    sub = [r for r in rows if r["InternetService"] == "Fiber optic"]
    assert a.data["answer"]["value"] == pytest.approx(sum(r["Churn"] == "Yes" for r in sub) / len(sub))


def test_flag_population_filter(telco, rows):
    a = analyze(telco, "churn rate among senior citizens")
    sub = [r for r in rows if r["SeniorCitizen"] == "1"]
    assert a.data["answer"]["value"] == pytest.approx(sum(r["Churn"] == "Yes" for r in sub) / len(sub))


def test_numeric_filter_and_group(telco, rows):
    a = analyze(telco, "churn rate by payment method for customers with tenure over 60 months")
    sub = [r for r in rows if int(r["tenure"]) > 60]
    got = {r["PaymentMethod"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx(_churn_by(sub, "PaymentMethod"))


def test_median_with_filter(telco, rows):
    a = analyze(telco, "median tenure of customers with monthly charges above 70")
    sub = [int(r["tenure"]) for r in rows if float(r["MonthlyCharges"]) > 70]
    assert a.data["answer"]["value"] == pytest.approx(statistics.median(sub))


def test_top_n_customers(telco, rows):
    a = analyze(telco, "top 5 customers by total charges")
    vals = sorted(((v, r["customerID"]) for r in rows if (v := _num(r["TotalCharges"])) is not None), reverse=True)[:5]
    got = [(r["value"], r["customerID"]) for r in a.data["result"]["table"]]
    assert [g[1] for g in got] == [v[1] for v in vals]
    assert [g[0] for g in got] == pytest.approx([v[0] for v in vals])


def test_two_dimensional_group(telco, rows):
    a = analyze(telco, "number of customers by gender and partner")
    cnt = defaultdict(int)
    for r in rows:
        cnt[(r["gender"], r["Partner"])] += 1
    got = {(r["gender"], r["Partner"]): r["value"] for r in a.data["result"]["table"]}
    assert got == cnt


def test_retention_rate_by_contract(telco, rows):
    a = analyze(telco, "retention rate by contract")
    got = {r["Contract"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx({k: 1 - v for k, v in _churn_by(rows, "Contract").items()})


def test_arpu_by_internet_service(telco, rows):
    a = analyze(telco, "ARPU by internet service")
    groups = defaultdict(list)
    for r in rows:
        groups[r["InternetService"]].append(float(r["MonthlyCharges"]))
    got = {r["InternetService"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx({k: statistics.mean(v) for k, v in groups.items()})
    assert any("ARPU" in i["term"] for i in a.data["interpretation"])


def test_drivers_of_churn(telco):
    a = analyze(telco, "what drives churn?")
    d = a.data["result"]["drivers"]
    assert d[0]["column"] == "Contract"
    assert d[0]["top_segment"]["segment"] == "Month-to-month"
    assert all(0 <= x["strength"] <= 1 for x in d)
    tenure = next(x for x in d if x["column"] == "tenure")
    assert tenure["correlation"] < 0  # longer tenure, less churn


def test_correlation(telco, rows):
    a = analyze(telco, "correlation between tenure and monthly charges")
    x = [float(r["tenure"]) for r in rows]
    y = [float(r["MonthlyCharges"]) for r in rows]
    assert a.data["result"]["pearson"] == pytest.approx(statistics.correlation(x, y))


def test_describe(telco):
    a = analyze(telco, "summarize this table")
    roles = {c["column"]: c["role"] for c in a.data["result"]["columns"]}
    assert roles["customerID"] == "id" and roles["Churn"] == "flag" and roles["Contract"] == "categorical"
    assert roles["TotalCharges"] == "money"
    assert next(s for s in a.data["schema"] if s["name"] == "Churn")["target"] is True


def test_forecast_needs_dates(telco):
    from genesis_agents.infrastructure.errors import BadInputError

    with pytest.raises(BadInputError, match="date column"):
        analyze(telco, "forecast next quarter's revenue")


def test_percentage_of_customers_with_value(telco, rows):
    a = analyze(telco, "what percentage of customers are on month-to-month contracts")
    assert a.data["answer"]["value"] == pytest.approx(sum(r["Contract"] == "Month-to-month" for r in rows) / len(rows))
    assert a.data["metric"]["unit"] == "rate"


def test_share_by_group(telco, rows):
    a = analyze(telco, "share of customers with fiber optic by contract")
    got = {r["Contract"]: r["value"] for r in a.data["result"]["table"]}
    for k, v in got.items():
        sub = [r for r in rows if r["Contract"] == k]
        assert v == pytest.approx(sum(r["InternetService"] == "Fiber optic" for r in sub) / len(sub))


def test_churned_customers_as_population(telco, rows):
    a = analyze(telco, "average tenure of churned customers")
    ten = [int(r["tenure"]) for r in rows if r["Churn"] == "Yes"]
    assert a.data["answer"]["value"] == pytest.approx(statistics.mean(ten))
    b = analyze(telco, "average monthly charges of retained customers")
    mc = [float(r["MonthlyCharges"]) for r in rows if r["Churn"] == "No"]
    assert b.data["answer"]["value"] == pytest.approx(statistics.mean(mc))


def test_by_value_is_a_filter_not_a_dimension(telco, rows):
    a = analyze(telco, "what is the churn rate for customers paying by electronic check")
    sub = [r for r in rows if r["PaymentMethod"] == "Electronic check"]
    assert a.data["operation"] == "aggregate"
    assert a.data["answer"]["value"] == pytest.approx(sum(r["Churn"] == "Yes" for r in sub) / len(sub))


def test_compare_segments_without_periods(telco, rows):
    a = analyze(telco, "compare churn between DSL and fiber optic customers")
    assert a.data["operation"] == "group" and a.data["plan"]["group_by"] == ["InternetService"]
    got = {r["InternetService"]: r["value"] for r in a.data["result"]["table"]}
    exp = _churn_by(rows, "InternetService")
    assert got == pytest.approx({k: exp[k] for k in ("DSL", "Fiber optic")})


def test_yes_no_question_groups_by_the_named_column(telco, rows):
    a = analyze(telco, "Are senior citizens more likely to churn?")
    got = {r["SeniorCitizen"]: r["value"] for r in a.data["result"]["table"]}
    assert got == pytest.approx({int(k): v for k, v in _churn_by(rows, "SeniorCitizen").items()})


def test_revenue_lost_to_churn(telco, rows):
    a = analyze(telco, "how much revenue did we lose to churn")
    exp = sum(v for r in rows if r["Churn"] == "Yes" and (v := _num(r["TotalCharges"])) is not None)
    assert a.data["answer"]["value"] == pytest.approx(exp)


def test_compare_with_nothing_to_compare(telco):
    from genesis_agents.infrastructure.errors import BadInputError

    with pytest.raises(BadInputError, match="nothing to compare"):
        analyze(telco, "compare churn rate")


def test_distribution(telco, rows):
    a = analyze(telco, "distribution of tenure")
    ten = sorted(int(r["tenure"]) for r in rows)
    st = a.data["result"]["stats"]
    assert st["median"] == pytest.approx(statistics.median(ten)) and st["min"] == 0 and st["max"] == 72
    assert sum(h["n"] for h in a.data["result"]["histogram"]) == len(ten)
    assert len(a.data["chart_data"]["values"]) == 10


def test_distribution_by_group(telco, rows):
    a = analyze(telco, "spread of monthly charges by contract")
    got = {r["Contract"]: r["median"] for r in a.data["result"]["table"]}
    for k, v in got.items():
        assert v == pytest.approx(statistics.median(float(r["MonthlyCharges"]) for r in rows if r["Contract"] == k))
    assert "Two year: median" in a.text
