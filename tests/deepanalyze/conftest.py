"""Fixtures: the telco table (read in place from ../shared, never copied) and generated tables whose
answers are known by construction."""

from __future__ import annotations

import csv
import os

# Small statsmodels fits get ~10x slower when OpenBLAS threads spin on a busy 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from datetime import date, timedelta
from pathlib import Path

import pytest

TELCO = Path(os.environ.get("GENESIS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")) \
    / "business" / "telco_customer_churn.csv"


@pytest.fixture(scope="session")
def telco() -> Path:
    if not TELCO.is_file():
        pytest.skip(f"telco churn table not found at {TELCO} (it lives in ../shared/data/business, not in the repo)")
    return TELCO


REGIONS = ["North", "South", "East", "West"]
PRODUCTS = ["Widget", "Gadget", "Gizmo"]


def sales_rows() -> list[dict]:
    """Deterministic orders: 2 years of daily orders, 4 regions x 3 products, fixed prices.

    Every number is a closed-form function of the day index, so tests can recompute answers in Python.
    """
    rows = []
    start = date(2022, 1, 1)
    oid = 0
    for d in range(730):
        day = start + timedelta(days=d)
        for ri, region in enumerate(REGIONS):
            for pi, product in enumerate(PRODUCTS):
                if (d + ri + pi) % 3:  # two of three combinations sell each day
                    continue
                oid += 1
                qty = 1 + (d + 2 * ri + pi) % 5
                price = [10.0, 25.0, 40.0][pi]
                revenue = qty * price * (1 + 0.002 * d)  # slow upward trend
                if day == date(2023, 3, 15) and region == "West":
                    revenue *= 20  # a known spike
                cost = round(revenue * (0.6 if product != "Gizmo" else 0.45), 2)
                rows.append({"order_id": f"O{oid:06d}", "order_date": day.strftime("%d/%m/%Y"),
                             "customer": f"cust{(d * 7 + ri * 3 + pi) % 97:03d}", "region": region,
                             "product": product, "quantity": qty, "revenue": f"${revenue:,.2f}",
                             "cost": cost})
    return rows


def write_csv(rows: list[dict], path: Path, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="session")
def sales_data() -> list[dict]:
    rows = sales_rows()
    for r in rows:
        r["_revenue"] = float(r["revenue"].replace("$", "").replace(",", ""))
        dd, mm, yy = r["order_date"].split("/")
        r["_date"] = date(int(yy), int(mm), int(dd))
    return rows


@pytest.fixture(scope="session")
def sales_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(sales_rows(), tmp_path_factory.mktemp("sales") / "sales.csv")


@pytest.fixture(scope="session")
def churn_csv() -> Path:
    return Path(__file__).resolve().parents[2] / "examples" / "data" / "churn.csv"
