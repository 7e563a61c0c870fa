"""Forecasting with prediction intervals: statsmodels ETS and ARIMA, the model picked by backtest error.

The last ``horizon`` points are held out, every candidate is fitted on the rest and scored (MAE, with
RMSE/MAPE reported); the winner is refitted on all points and forecasts with its own intervals. A naive
(last value / seasonal naive) forecast is scored too, so the user sees whether modelling beat the obvious.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from genesis_agents.infrastructure.errors import BadInputError

SEASON = {"day": 7, "week": 52, "month": 12, "quarter": 4, "year": 1}


def min_points(horizon: int) -> int:
    """Points needed to forecast ``horizon`` steps with a backtest of the same length."""
    return max(8, 2 * horizon + 4)


def _candidates(n_train: int, season: int) -> dict[str, Callable[[np.ndarray], Any]]:
    import pandas as pd
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    def series(y: np.ndarray) -> pd.Series:  # ETS prediction intervals need an indexed series
        return pd.Series(np.asarray(y, dtype=float))

    c: dict[str, Callable[[np.ndarray], Any]] = {
        "ets_level": lambda y: ETSModel(series(y), error="add").fit(disp=False),
        "ets_damped_trend": lambda y: ETSModel(series(y), error="add", trend="add", damped_trend=True).fit(disp=False),
        "arima_0_1_1": lambda y: ARIMA(y, order=(0, 1, 1)).fit(),
        "arima_1_1_1": lambda y: ARIMA(y, order=(1, 1, 1)).fit(),
    }
    # heuristic initial states: ~50x faster than estimating 2 + season initial values by likelihood
    if season > 1 and n_train >= max(2 * season + 2, 10 + 2 * (season // 2)):
        c["ets_seasonal"] = lambda y: ETSModel(series(y), error="add", trend="add", damped_trend=True, seasonal="add",
                                               seasonal_periods=season,
                                               initialization_method="heuristic").fit(disp=False)
    return c


def _predict(res: Any, n: int, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if hasattr(res, "get_forecast") and not hasattr(res, "simulate_ets") and "ETS" not in type(res).__name__:
        f = res.get_forecast(h).summary_frame(alpha=alpha)
        return f["mean"].to_numpy(), f["mean_ci_lower"].to_numpy(), f["mean_ci_upper"].to_numpy()
    f = res.get_prediction(start=n, end=n + h - 1).summary_frame(alpha=alpha)
    return f["mean"].to_numpy(), f["pi_lower"].to_numpy(), f["pi_upper"].to_numpy()


def _scores(actual: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    err = actual - pred
    mape = float(np.mean(np.abs(err / actual))) if np.all(actual != 0) else None
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(math.sqrt(np.mean(err**2))), "mape": mape}


def _naive(train: np.ndarray, h: int, season: int) -> np.ndarray:
    if season > 1 and len(train) >= season:
        last = train[-season:]
        return np.array([last[i % season] for i in range(h)], dtype=float)
    return np.repeat(train[-1], h).astype(float)


def forecast(values: list[float | None], periods: list[str], *, grain: str, horizon: int,
             alpha: float = 0.05) -> dict[str, Any]:
    """Forecast ``horizon`` steps after ``periods``; returns forecast, intervals and the backtest table."""
    import pandas as pd

    if horizon < 1:
        raise BadInputError("forecast horizon must be at least 1", field="horizon")
    y = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    if np.isnan(y).any():
        y = pd.Series(y).interpolate(limit_direction="both").to_numpy()
    need = min_points(horizon)
    if len(y) < need or np.isnan(y).all():
        raise BadInputError(
            f"too few points to forecast {horizon} {grain}(s): have {len(y)} {grain}ly points, need at least {need}",
            field="data", hint=f"give at least {need} {grain}s of history or ask for a shorter horizon",
            have=len(y), need=need)
    season = SEASON.get(grain, 1)
    train, test = y[:-horizon], y[-horizon:]
    backtest: list[dict[str, Any]] = []
    # tiny models: BLAS threads only add contention (10x slower on a busy 2-core machine)
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        for name, fit in _candidates(len(train), season).items():
            try:
                res = fit(train)
                pred, _, _ = _predict(res, len(train), horizon, alpha)
                if not np.all(np.isfinite(pred)):
                    continue
                backtest.append({"model": name, **_scores(test, pred)})
            except Exception as exc:  # noqa: BLE001 - a candidate that cannot be fitted is reported, not fatal
                backtest.append({"model": name, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
        naive: dict[str, Any] = {"model": "seasonal_naive" if season > 1 and len(train) >= season else "naive",
                 **_scores(test, _naive(train, horizon, season))}
        ok = [b for b in backtest if "mae" in b]
        if not ok:
            raise BadInputError("no forecasting model could be fitted to this series", field="data")
        best = min(ok, key=lambda b: b["mae"])
        res = _candidates(len(y), season)[best["model"]](y)
        mean, lo, hi = _predict(res, len(y), horizon, alpha)
    freq = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}[grain]
    future = pd.date_range(pd.Timestamp(periods[-1]), periods=horizon + 1, freq=freq)[1:]
    rows = [{"period": ts.date().isoformat(), "forecast": float(m), "lower": float(a), "upper": float(b)}
            for ts, m, a, b in zip(future, mean, lo, hi)]
    return {"model": best["model"], "grain": grain, "horizon": horizon, "interval": 1 - alpha,
            "forecast": rows, "total_forecast": float(np.sum(mean)),
            "backtest": {"holdout_points": horizon, "models": backtest, "naive": naive, "chosen": best["model"],
                         "chosen_mae": best["mae"], "beats_naive": bool(best["mae"] <= (naive["mae"] or 0.0))},
            "history_points": len(y)}
