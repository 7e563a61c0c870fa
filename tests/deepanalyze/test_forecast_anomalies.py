"""Forecasting and anomaly detection on series with known structure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from genesis_agents.agents.deepanalyze.anomalies import detect
from genesis_agents.agents.deepanalyze.forecast import forecast, min_points
from genesis_agents.infrastructure.errors import BadInputError


def _months(n: int, start_year: int = 2019) -> list[str]:
    return [f"{start_year + i // 12}-{1 + i % 12:02d}-01" for i in range(n)]


def test_seasonal_series_picks_seasonal_model_and_beats_naive():
    rng = np.random.default_rng(0)
    n = 60
    y = [1000 + 10 * i + 200 * math.sin(2 * math.pi * i / 12) + rng.normal(0, 15) for i in range(n)]
    f = forecast(y, _months(n), grain="month", horizon=6)
    assert f["backtest"]["chosen"] == "ets_seasonal"
    assert f["backtest"]["beats_naive"] is True
    truth = [1000 + 10 * i + 200 * math.sin(2 * math.pi * i / 12) for i in range(n, n + 6)]
    inside = sum(row["lower"] <= t <= row["upper"] for row, t in zip(f["forecast"], truth))
    assert inside >= 5  # 95% intervals: at most one miss in six
    err = np.mean([abs(row["forecast"] - t) for row, t in zip(f["forecast"], truth)])
    assert err < 0.03 * np.mean(truth)
    assert f["forecast"][0]["period"] == "2024-01-01"


def test_backtest_reports_every_candidate_and_picks_min_mae():
    y = [100 + 3 * i for i in range(24)]
    f = forecast(y, _months(24), grain="month", horizon=3)
    ok = [m for m in f["backtest"]["models"] if "mae" in m]
    assert len(ok) >= 3
    assert f["backtest"]["chosen_mae"] == min(m["mae"] for m in ok)
    assert f["forecast"][0]["forecast"] == pytest.approx(100 + 3 * 24, rel=0.02)


def test_min_points_rule():
    assert min_points(3) == 10 and min_points(12) == 28
    with pytest.raises(BadInputError, match="need at least 28"):
        forecast([1.0] * 20, _months(20), grain="month", horizon=12)


def test_anomaly_found_and_noise_left_alone():
    rng = np.random.default_rng(3)
    y = list(rng.poisson(50, 365).astype(float))
    periods = [f"d{i}" for i in range(365)]
    quiet = detect(y, periods, grain="day")
    assert len(quiet["anomalies"]) <= 2
    y[200] = 140.0
    loud = detect(y, periods, grain="day")
    assert loud["anomalies"][0]["period"] == "d200" and loud["anomalies"][0]["direction"] == "high"
    assert loud["method"].startswith("stl")


def test_anomaly_too_few_points():
    with pytest.raises(BadInputError, match="need at least 8"):
        detect([1.0, 2.0, 3.0], ["a", "b", "c"], grain="month")
