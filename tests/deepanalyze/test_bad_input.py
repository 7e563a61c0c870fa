"""Bad input never crashes and never yields a made-up number: each case is a typed, named error."""

from __future__ import annotations

import pytest
from genesis_agents.agents.deepanalyze import analyze
from genesis_agents.infrastructure.errors import BadInputError, GenesisError, NotFoundError

from .conftest import write_csv


def test_missing_file(tmp_path):
    with pytest.raises(NotFoundError) as ei:
        analyze(tmp_path / "nope.csv", "total revenue")
    assert ei.value.field == "input" and "does not exist" in ei.value.message


def test_unsupported_type(tmp_path):
    p = tmp_path / "table.pdf"
    p.write_bytes(b"%PDF-1.4")
    with pytest.raises(BadInputError, match="unsupported file type"):
        analyze(p, "total revenue")


def test_binary_content_is_unreadable_encoding(tmp_path):
    p = tmp_path / "blob.csv"
    p.write_bytes(b"a,b\n" + bytes(range(256)) * 20)
    with pytest.raises(BadInputError) as ei:
        analyze(p, "how many rows")
    assert ei.value.field in ("input", "encoding")


def test_undecodable_with_explicit_encoding(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("name,amount\nJos\u00e9,3\n".encode("utf-8"))
    from genesis_agents.agents.deepanalyze import AnalyzeOptions

    with pytest.raises(BadInputError) as ei:
        analyze(p, "total amount", options=AnalyzeOptions(encoding="ascii"))
    assert ei.value.field == "encoding"


def test_latin1_file_is_read_and_reported(tmp_path):
    p = tmp_path / "legacy.csv"
    rows = [{"city": c, "sales": s} for c, s in [("Zürich", 10), ("Köln", 20), ("Málaga", 30), ("Zürich", 5)] * 10]
    write_csv(rows, p, encoding="cp1252")
    a = analyze(p, "total sales by city")
    got = {r["city"]: r["value"] for r in a.data["result"]["table"]}
    assert got == {"Zürich": 150, "Köln": 200, "Málaga": 300}
    assert a.data["source"]["encoding"] != "utf-8"
    assert any("not UTF-8" in n for n in a.data["notes"])


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(BadInputError, match="empty"):
        analyze(p, "total revenue")


def test_header_only(tmp_path):
    p = tmp_path / "header.csv"
    p.write_text("region,revenue\n")
    with pytest.raises(BadInputError, match="no rows|empty"):
        analyze(p, "total revenue")


def test_unknown_group_column_lists_close_matches(sales_csv):
    with pytest.raises(BadInputError) as ei:
        analyze(sales_csv, "revenue by regoin")
    err = ei.value
    assert err.field == "question" and "regoin" in err.message
    assert "region" in err.details["close_matches"]
    assert "close matches: region" in str(err)


def test_unknown_metric_column_lists_close_matches(sales_csv):
    with pytest.raises(BadInputError) as ei:
        analyze(sales_csv, "average quantaty by region")
    assert "quantity" in ei.value.details["close_matches"]


def test_non_numeric_values_counted_and_reported(tmp_path):
    rows = [{"region": "A" if i % 2 else "B", "amount": str(i)} for i in range(1, 41)]
    rows[3]["amount"] = "n/a"
    rows[7]["amount"] = "unknown"
    rows[9]["amount"] = ""
    p = write_csv(rows, tmp_path / "dirty.csv")
    a = analyze(p, "total amount by region")
    assert a.data["data_quality"]["amount"]["non_numeric"] == 2  # blanks are missing, not errors
    got = {r["region"]: r["value"] for r in a.data["result"]["table"]}
    assert got["A"] == sum(i for i in range(1, 41, 2) if i not in (4, 8, 10))
    assert got["B"] == sum(i for i in range(2, 41, 2) if i not in (4, 8, 10))
    assert any("2 value(s) are not numbers" in w for w in a.data["warnings"])
    assert "2 value(s) are not numbers" in a.text


def test_too_few_points_to_forecast(tmp_path):
    rows = [{"month": f"2024-{m:02d}-01", "sales": 100 + m} for m in range(1, 7)]
    p = write_csv(rows, tmp_path / "short.csv")
    with pytest.raises(BadInputError) as ei:
        analyze(p, "forecast sales for the next 3 months")
    assert "have 6" in ei.value.message and "need at least 10" in ei.value.message
    assert ei.value.details["need"] == 10


def test_period_without_date_column(telco):
    with pytest.raises(BadInputError, match="no date column"):
        analyze(telco, "churn rate in 2019")


def test_empty_question(sales_csv):
    with pytest.raises(BadInputError, match="empty"):
        analyze(sales_csv, "   ")


def test_churn_question_without_target(sales_csv):
    with pytest.raises(BadInputError, match="churn"):
        analyze(sales_csv, "churn rate by region")


def test_filter_matching_nothing_is_not_a_number(tmp_path):
    rows = [{"region": "A", "price": 3.0}] * 5 + [{"region": "B", "price": 4.0}] * 5
    p = write_csv(rows, tmp_path / "t.csv")
    a = analyze(p, "average price for customers with price over 100")
    assert a.data["answer"]["value"] is None and a.data["result"]["n"] == 0
    assert "No rows match" in a.text


def test_errors_are_genesis_errors_with_dict(tmp_path):
    with pytest.raises(GenesisError) as ei:
        analyze(tmp_path / "x.parquet", "total")
    d = ei.value.to_dict()
    assert d["code"] == "not_found" and d["field"] == "input"
