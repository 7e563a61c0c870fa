"""Fit the router's capability calibration on the *tune* split only, and write it into the package.

    python benchmarks/routing/tune.py [--augment 6] [--dry-run]

The model is a logistic regression over card-agnostic features (no feature names an agent), so it
transfers to card sets it never saw. To keep it from assuming rich cards, it is fitted on the tune split
routed against ``cards.yaml`` *and* against ``--augment`` randomly thinned copies of it (one skill, one to
three examples per card — as terse as real third-party cards). The acceptance threshold is the one with the
best in-scope top-1 accuracy among those that reject at least ``OOS_TARGET`` of the out-of-scope requests,
pooled over all those card sets. A further thinned set with an unused seed is reported as a check.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import bench_data
import numpy as np
from genesis_agents.infrastructure.contracts import AgentCard
from genesis_agents.infrastructure.embeddings import default_embedder
from genesis_agents.infrastructure.routing.capability import (
    CALIBRATION_FILE,
    FEATURES,
    Calibration,
    CapabilityIndex,
)
from sklearn.linear_model import LogisticRegression

OOS_TARGET = 0.88
CHECK_SEED = 999


def thinned(cards: list[AgentCard], seed: int) -> list[AgentCard]:
    """A terse copy of the card set: per card one skill (first description), 1-3 random examples."""
    rng = random.Random(seed)
    out = []
    for c in cards:
        examples = [e for s in c.skills for e in s.examples]
        keep = rng.sample(examples, min(len(examples), rng.randint(1, 3))) if examples else []
        first = c.skills[0].model_copy(update={"examples": keep}) if c.skills else None
        out.append(c.model_copy(update={"skills": [first] if first else []}))
    return out


def features(cards: list[AgentCard], rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    neutral = Calibration(weights={f: 0.0 for f in FEATURES}, bias=0.0, threshold=0.5)
    index = CapabilityIndex(cards, embedder=default_embedder(), calibration=neutral)
    X, y = [], []
    for row in rows:
        feats = dict(index.features_for_training(row["text"]))
        for c in cards:  # fixed card order, so rows can be regrouped per request
            X.append([feats[c.name][f] for f in FEATURES])
            y.append(1 if c.name == row["label"] else 0)
    return np.array(X), np.array(y)


def evaluate(probs: np.ndarray, y: np.ndarray, rows: list[dict], n_cards: int, thr: float) -> tuple[float, float]:
    ok_in = ok_out = n_in = n_out = 0
    for q, row in enumerate(rows):
        p = probs[q * n_cards:(q + 1) * n_cards]
        top = int(np.argmax(p))
        if row["label"] is None:
            n_out += 1
            ok_out += p[top] < thr
        else:
            n_in += 1
            ok_in += p[top] >= thr and y[q * n_cards + top] == 1
    return ok_in / n_in, ok_out / n_out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--augment", type=int, default=6, help="number of thinned card sets added to training")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write calibration.json")
    args = ap.parse_args()
    cards = bench_data.cards()
    rows = bench_data.dataset("tune")
    sets = [("cards.yaml", cards)] + [(f"thinned-{s}", thinned(cards, s)) for s in range(args.augment)]
    data = [(name, *features(cs, rows)) for name, cs in sets]
    X = np.concatenate([d[1] for d in data])
    y = np.concatenate([d[2] for d in data])
    model = LogisticRegression(C=10.0, max_iter=5000).fit(X, y)
    n_cards = len(cards)
    best = (-1.0, 0.5)
    for thr in np.arange(0.05, 0.95, 0.01):
        accs = [evaluate(model.predict_proba(Xs)[:, 1], ys, rows, n_cards, thr) for _, Xs, ys in data]
        top1 = float(np.mean([a for a, _ in accs]))
        rej = float(np.mean([r for _, r in accs]))
        score = top1 if rej >= OOS_TARGET else -1.0
        if score > best[0] + 1e-9:
            best = (score, float(thr))
    thr = round(best[1], 2)
    report = {}
    Xc, yc = features(thinned(cards, CHECK_SEED), rows)
    for name, Xs, ys in data[:2] + [(f"thinned-{CHECK_SEED} (not fitted on)", Xc, yc)]:
        a, r = evaluate(model.predict_proba(Xs)[:, 1], ys, rows, n_cards, thr)
        report[name] = {"in_scope_top1": round(a, 4), "oos_rejection": round(r, 4)}
    cal = Calibration(weights={f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0])},
                      bias=round(float(model.intercept_[0]), 4), threshold=thr,
                      fitted_on=(f"benchmarks/routing tune split ({len(rows)} requests) x cards.yaml "
                                 f"+ {args.augment} thinned copies ({n_cards} cards each)"))
    if not args.dry_run:
        CALIBRATION_FILE.write_text(json.dumps(cal.model_dump(), indent=2) + "\n")
    print(json.dumps({"calibration": cal.model_dump(), "tune_split": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
