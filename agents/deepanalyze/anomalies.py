"""Anomaly detection on a time series: robust z-scores of STL residuals (or of a rolling-median residual).

On pure noise (Poisson counts) it flags about 0-1 point in 300 at the default threshold 3.5.

Medians and the MAD keep one spike from hiding another; STL removes trend and seasonality first when the
series is long enough (two full seasons), so a normal Monday dip is not an anomaly.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from genesis_agents.infrastructure.errors import BadInputError

SEASON = {"day": 7, "week": 52, "month": 12, "quarter": 4, "year": 1}
MIN_POINTS = 8


def detect(values: list[float | None], periods: list[str], *, grain: str, threshold: float = 3.5) -> dict[str, Any]:
    import pandas as pd

    y = pd.Series([np.nan if v is None else float(v) for v in values], dtype=float)
    if y.notna().sum() < MIN_POINTS:
        raise BadInputError(f"too few points for anomaly detection: have {int(y.notna().sum())} {grain}ly points, "
                            f"need at least {MIN_POINTS}", field="data", have=int(y.notna().sum()), need=MIN_POINTS)
    y = y.interpolate(limit_direction="both")
    season = SEASON.get(grain, 1)
    method = "rolling_median"
    if season > 1 and len(y) >= 2 * season + 1:
        from statsmodels.tsa.seasonal import STL
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")
            # a stiff seasonal smoother and the non-robust fit keep residuals at the true noise level; the
            # robust fit down-weights spikes so well that ordinary noise then looks anomalous
            res = STL(y.to_numpy(), period=season, seasonal=2 * season + 1, robust=False).fit()
        expected = res.trend + res.seasonal
        method = f"stl(period={season})"
    else:
        expected = y.rolling(5, center=True, min_periods=1).median().to_numpy()
    resid = y.to_numpy() - expected
    med = np.median(resid)
    mad = np.median(np.abs(resid - med))
    scale = 1.4826 * mad if mad > 0 else 1.2533 * np.mean(np.abs(resid - med))
    z = (resid - med) / scale if scale > 0 else np.zeros_like(resid)
    found: list[dict[str, Any]] = [
        {"period": periods[i], "value": float(y.iloc[i]), "expected": float(expected[i]), "z": float(z[i]),
         "direction": "high" if z[i] > 0 else "low"} for i in range(len(y)) if abs(z[i]) > threshold]
    found.sort(key=lambda a: -abs(float(a["z"])))
    return {"method": method, "threshold": threshold, "points": len(y), "anomalies": found,
            "expected": [float(e) for e in expected]}
