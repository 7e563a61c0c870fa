"""Fit the router's capability calibration on the *tune* split only, and write it into the package.

    python benchmarks/routing/tune.py            # writes infrastructure/routing/calibration.json

The model is a logistic regression over card-agnostic features (no feature names an agent), so it
transfers to card sets it never saw. The acceptance threshold is the one with the best in-scope top-1
accuracy among those that reject at least ``OOS_TARGET`` of the out-of-scope requests of the tune split.
"""

from __future__ import annotations

import json
import sys

import bench_data
import numpy as np
from genesis_agents.infrastructure.embeddings import default_embedder
from genesis_agents.infrastructure.routing.capability import (
    CALIBRATION_FILE,
    FEATURES,
    Calibration,
    CapabilityIndex,
)
from sklearn.linear_model import LogisticRegression

OOS_TARGET = 0.88


def main() -> int:
    cards = bench_data.cards()
    rows = bench_data.dataset("tune")
    neutral = Calibration(weights={f: 0.0 for f in FEATURES}, bias=0.0, threshold=0.5)
    index = CapabilityIndex(cards, embedder=default_embedder(), calibration=neutral)
    X, y, groups = [], [], []
    for n, row in enumerate(rows):
        for agent, feats in index.features_for_training(row["text"]):
            X.append([feats[f] for f in FEATURES])
            y.append(1 if agent == row["label"] else 0)
            groups.append(n)
    X_arr, y_arr = np.array(X), np.array(y)
    model = LogisticRegression(C=10.0, max_iter=2000).fit(X_arr, y_arr)
    probs = model.predict_proba(X_arr)[:, 1]
    n_cards = len(cards)
    best = (-1.0, 0.5)
    for thr in np.arange(0.05, 0.95, 0.01):
        ok_in = ok_out = n_in = n_out = 0
        for q, row in enumerate(rows):
            p = probs[q * n_cards:(q + 1) * n_cards]
            labels = y_arr[q * n_cards:(q + 1) * n_cards]
            top = int(np.argmax(p))
            if row["label"] is None:
                n_out += 1
                ok_out += p[top] < thr
            else:
                n_in += 1
                ok_in += p[top] >= thr and labels[top] == 1
        score = ok_in / n_in if ok_out / n_out >= OOS_TARGET else -1.0
        if score > best[0] + 1e-9:
            best = (score, float(thr))
    cal = Calibration(weights={f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0])},
                      bias=round(float(model.intercept_[0]), 4), threshold=round(best[1], 2),
                      fitted_on=f"benchmarks/routing tune split ({len(rows)} requests, {n_cards} cards)")
    CALIBRATION_FILE.write_text(json.dumps(cal.model_dump(), indent=2) + "\n")
    print(json.dumps({"calibration": cal.model_dump(), "tune_in_scope_top1_at_threshold": round(best[0], 4)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
