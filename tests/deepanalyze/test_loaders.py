"""Every input format yields the same answer; schema inference reads dates, money and percentages."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pandas as pd
import pytest
from genesis_agents.agents.deepanalyze import AnalyzeOptions, analyze
from genesis_agents.infrastructure.errors import BadInputError, NotFoundError

from .conftest import write_csv

ROWS = [{"order_date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", "region": ["North", "South", "East"][i % 3],
         "amount": round(10 + i * 1.5, 2), "churned": "Yes" if i % 4 == 0 else "No"} for i in range(120)]
TOTAL_NORTH = sum(r["amount"] for r in ROWS if r["region"] == "North")


def _check(a):
    got = {r["region"]: r["value"] for r in a.data["result"]["table"]}
    assert got["North"] == pytest.approx(TOTAL_NORTH)


def test_csv(tmp_path):
    _check(analyze(write_csv(ROWS, tmp_path / "t.csv"), "total amount by region"))


def test_tsv(tmp_path):
    p = tmp_path / "t.tsv"
    pd.DataFrame(ROWS).to_csv(p, sep="\t", index=False)
    _check(analyze(p, "total amount by region"))


def test_parquet(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame(ROWS).to_parquet(p)
    _check(analyze(p, "total amount by region"))


def test_excel_with_sheet_choice(tmp_path):
    p = tmp_path / "t.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame(ROWS).to_excel(xw, sheet_name="orders", index=False)
        pd.DataFrame([{"x": 1}]).to_excel(xw, sheet_name="notes", index=False)
    a = analyze(p, "total amount by region")
    _check(a)
    assert a.data["source"]["table"] == "orders" and any("sheets" in n for n in a.data["notes"])
    b = analyze(p, "how many rows", options=AnalyzeOptions(table="notes"))
    assert b.data["answer"]["value"] == 1


def test_jsonl_and_json(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in ROWS))
    _check(analyze(p, "total amount by region"))
    q = tmp_path / "t.json"
    q.write_text(json.dumps(ROWS))
    _check(analyze(q, "total amount by region"))


def test_sqlite_file_and_url(tmp_path):
    p = tmp_path / "shop.db"
    with sqlite3.connect(p) as con:
        pd.DataFrame(ROWS).to_sql("orders", con, index=False)
    _check(analyze(p, "total amount by region"))
    _check(analyze(f"sqlite:///{p}", "total amount by region"))
    with pytest.raises(NotFoundError, match="orderz"):
        analyze(p, "total amount", options=AnalyzeOptions(table="orderz"))


def test_duckdb_file(tmp_path):
    p = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(p))
    con.register("df", pd.DataFrame(ROWS))
    con.execute("CREATE TABLE orders AS SELECT * FROM df")
    con.close()
    _check(analyze(p, "total amount by region"))


def test_inline_records():
    _check(analyze(ROWS, "total amount by region"))


def test_day_first_dates_money_and_percent(tmp_path):
    rows = [{"date": f"{d:02d}/{m:02d}/2023", "price": f"€{1000 + d * 10:,.2f}", "discount": f"{d % 20}%"}
            for m in range(1, 13) for d in (1, 13, 25)]
    a = analyze(write_csv(rows, tmp_path / "eu.csv"), "describe")
    s = {c["name"]: c for c in a.data["schema"]}
    assert s["date"]["role"] == "date" and s["date"]["day_first"] is True
    assert s["price"]["role"] == "money" and s["discount"]["role"] == "percent"
    b = analyze(tmp_path / "eu.csv", "total price in march 2023")
    assert b.data["answer"]["value"] == pytest.approx(1010 + 1130 + 1250)
    c = analyze(tmp_path / "eu.csv", "average discount")
    assert c.data["answer"]["value"] == pytest.approx(sum(d % 20 for d in (1, 13, 25)) / 3)


def test_month_first_dates(tmp_path):
    rows = [{"day": f"{m:02d}/{d:02d}/2023", "units": 1} for m in range(1, 13) for d in (5, 20)]
    a = analyze(write_csv(rows, tmp_path / "us.csv"), "total units in february")
    s = {c["name"]: c for c in a.data["schema"]}
    assert s["day"]["day_first"] is False
    assert a.data["answer"]["value"] == 2


def test_cache_reuses_unchanged_file_and_reloads_changed(tmp_path):
    import os

    p = write_csv(ROWS, tmp_path / "c.csv")
    a = analyze(p, "total amount by region")
    b = analyze(p, "how many rows")
    assert b.data["source"]["cached"] is True and "load_s" not in b.data["timings"]
    assert b.data["answer"]["value"] == len(ROWS)
    write_csv(ROWS + ROWS, p)
    os.utime(p, ns=(os.stat(p).st_atime_ns, os.stat(p).st_mtime_ns + 10**9))
    c = analyze(p, "how many rows")
    assert c.data["source"]["cached"] is False and c.data["answer"]["value"] == 2 * len(ROWS)
    d = analyze(p, "how many rows", options=AnalyzeOptions(cache=False))
    assert d.data["source"]["cached"] is False
    _check(a)


def test_sqlalchemy_url(tmp_path):
    pytest.importorskip("sqlalchemy", reason="SQLAlchemy URLs need the optional sqlalchemy package")
    p = tmp_path / "crm.db"
    with sqlite3.connect(p) as con:
        pd.DataFrame(ROWS).to_sql("orders", con, index=False)
        pd.DataFrame([{"x": 1}]).to_sql("other", con, index=False)
    url = f"sqlite+pysqlite:///{p}"
    with pytest.raises(BadInputError, match="several tables"):
        analyze(url, "total amount by region")
    a = analyze(url, "total amount by region", options=AnalyzeOptions(table="orders"))
    _check(a)
    assert a.data["source"]["kind"] == "sql"


def test_resolve_source_from_upstream(tmp_path):
    from pathlib import Path

    from genesis_agents.agents.deepanalyze import resolve_source
    from genesis_agents.infrastructure.contracts import AgentContext, AgentResult, Artifact, Task

    class Ctx(AgentContext):  # the contract's minimal implementation: only ``upstream`` is read
        def __init__(self, upstream):
            self.upstream = upstream

        memory = llm = artifact_dir = cancelled = None

        async def delegate(self, task, *, agent=None, inputs=()):
            raise NotImplementedError

        def emit(self, message="", *, progress=None, **data):
            pass

        def add_usage(self, usage):
            pass

    p = write_csv(ROWS, tmp_path / "up.csv")
    up = {"s1": AgentResult(text="made a table", artifacts=[Artifact.from_path(p)])}
    src, _ = resolve_source(Task(text="total amount by region"), Ctx(up))
    assert Path(src) == p.resolve()
    rows_up = {"s1": AgentResult(data={"rows": ROWS})}
    src2, label2 = resolve_source(Task(text="total amount by region"), Ctx(rows_up))
    assert src2 == ROWS and label2 == "upstream s1"
    with pytest.raises(BadInputError, match="no table"):
        resolve_source(Task(text="total amount"), Ctx({}))
