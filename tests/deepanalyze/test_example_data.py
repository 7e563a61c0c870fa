"""The flagship demo table: seeded, small, and carrying the effects it documents."""

from __future__ import annotations

import csv
import runpy
import sys
from pathlib import Path

import pytest
from genesis_agents.agents.deepanalyze import analyze

ROOT = Path(__file__).resolve().parents[2]


def test_generator_is_seeded_and_matches_committed_file(tmp_path, churn_csv, monkeypatch):
    out = tmp_path / "churn.csv"
    monkeypatch.setattr(sys, "argv", ["make_churn_data.py", "--out", str(out)])
    runpy.run_path(str(ROOT / "examples" / "make_churn_data.py"), run_name="__main__")
    assert out.read_bytes() == churn_csv.read_bytes()
    assert churn_csv.stat().st_size < 1_000_000


def test_documented_effects_are_found(churn_csv):
    a = analyze(churn_csv, "what drives churn")
    top = a.data["result"]["drivers"][0]
    assert top["column"] == "contract" and top["top_segment"]["segment"] == "Month-to-month"


def test_signup_cohorts_and_monthly_signups(churn_csv):
    with churn_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    a = analyze(churn_csv, "retention by signup cohort")
    res = a.data["result"]
    assert res["kind"] == "signup"
    jan24 = [r for r in rows if r["signup_date"].startswith("2024-01")]
    got = next(r for r in res["table"] if r["cohort"].startswith("2024-01"))
    assert got["value"] == pytest.approx(sum(r["churn"] == "No" for r in jan24) / len(jan24))
    b = analyze(churn_csv, "number of signups per month in 2023")
    assert sum(r["value"] for r in b.data["result"]["table"]) == sum(r["signup_date"].startswith("2023") for r in rows)


def test_forecast_signups_with_backtest(churn_csv):
    a = analyze(churn_csv, "forecast signups for the next 3 months")
    f = a.data["result"]["forecast"]
    assert len(f["forecast"]) == 3 and f["backtest"]["holdout_points"] == 3
    assert "backtest" in a.text and f["model"] in a.text


def test_dashboard_artifacts(churn_csv, tmp_path):
    a = analyze(churn_csv, "churn rate by payment method", artifact_dir=tmp_path)
    names = {p.name for p in a.artifacts}
    assert "dashboard.html" in names and any(n.endswith(".png") for n in names)
    assert any(n.startswith("trend_") for n in names)  # the dated table gets a trend panel
