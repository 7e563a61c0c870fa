"""Generate the DeepAnalyze demo table: a seeded, synthetic telco-like customer churn table.

Every value is drawn from simple, documented rules (our own data, Apache-2.0 like the project), so the
effects an analysis should find are known: month-to-month contracts, fiber optic, electronic checks and
short tenure raise churn; charges depend on the service.

    python examples/make_churn_data.py [--rows 5000] [--seed 7] [--out examples/data/churn.csv]
"""

from __future__ import annotations

import argparse
import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

CONTRACTS = {"Month-to-month": 0.55, "One year": 0.25, "Two year": 0.20}
INTERNET = {"DSL": 0.35, "Fiber optic": 0.45, "No": 0.20}
PAYMENT = {"Electronic check": 0.34, "Mailed check": 0.22, "Bank transfer (automatic)": 0.22,
           "Credit card (automatic)": 0.22}
REGIONS = {"North": 0.3, "South": 0.25, "East": 0.25, "West": 0.2}
BASE_CHURN = {"Month-to-month": 0.40, "One year": 0.12, "Two year": 0.03}
INTERNET_LIFT = {"DSL": 0.85, "Fiber optic": 1.35, "No": 0.45}
PAYMENT_LIFT = {"Electronic check": 1.3, "Mailed check": 0.9, "Bank transfer (automatic)": 0.8,
                "Credit card (automatic)": 0.8}
PRICE = {"DSL": 55.0, "Fiber optic": 85.0, "No": 22.0}
END = date(2024, 12, 31)
START = date(2020, 1, 1)


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([table[k] for k in keys])
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def generate(rows: int = 5000, seed: int = 7) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    contract = _pick(rng, CONTRACTS, rows)
    internet = _pick(rng, INTERNET, rows)
    payment = _pick(rng, PAYMENT, rows)
    region = _pick(rng, REGIONS, rows)
    senior = (rng.random(rows) < 0.16).astype(int)
    span = (END - START).days
    # more recent signups are more frequent (a growing business)
    offsets = (np.sqrt(rng.random(rows)) * span).astype(int)
    out = []
    for i in range(rows):
        signup = START + timedelta(days=int(offsets[i]))
        months_open = max(1, (END.year - signup.year) * 12 + END.month - signup.month)
        p = BASE_CHURN[contract[i]] * INTERNET_LIFT[internet[i]] * PAYMENT_LIFT[payment[i]] * (1.25 if senior[i] else 1.0)
        p *= 1.3 if months_open < 12 else (0.8 if months_open > 36 else 1.0)
        churned = rng.random() < min(p, 0.95)
        tenure = int(rng.integers(1, months_open + 1)) if churned else months_open
        monthly = round(PRICE[internet[i]] + rng.normal(0, 8) + (10 if contract[i] == "Two year" else 0), 2)
        monthly = max(monthly, 15.0)
        total = round(monthly * tenure * float(rng.uniform(0.97, 1.03)), 2)
        out.append({
            "customer_id": f"C{100000 + i}",
            "signup_date": signup.isoformat(),
            "region": region[i],
            "contract": contract[i],
            "internet_service": internet[i],
            "payment_method": payment[i],
            "senior_citizen": int(senior[i]),
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total,
            "churn": "Yes" if churned else "No",
        })
    return out


def write_csv(rows: list[dict[str, object]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "churn.csv")
    a = ap.parse_args()
    p = write_csv(generate(a.rows, a.seed), a.out)
    print(f"wrote {a.rows} rows to {p} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
