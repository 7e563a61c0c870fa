"""Fit the router's capability calibration on the *tune* split only, and write it into the package.

    python benchmarks/routing/tune.py [--augment 12] [--model softmax] [--l2 0.01] [--dry-run]
    python benchmarks/routing/tune.py --cv 5 [--augment 12]   # cross-validated estimate on the tune split
                                                            # (saves cv_results.json; calibration untouched)

The model is linear over card-agnostic features (no feature names an agent), so it transfers to card sets
it never saw. ``softmax`` (the default) is a conditional logit: for every request the cards' scores and a
"none of them" option of score 0 go through one softmax, and the fit maximises the probability of the right
card (or of "none" for an out-of-scope request). It therefore learns what separates the right card from its
close competitors *and* when no card is good enough, in one model. ``logistic`` is the older independent
per-card model, kept for comparison.

To keep the model from assuming rich cards, it is fitted on the tune split routed against ``cards.yaml``
*and* against ``--augment`` randomly thinned copies of it (one skill, one to three examples per card — as
terse as real third-party cards). The acceptance threshold is the one with the best in-scope top-1 accuracy
among those that reject at least ``--oos-target`` of the out-of-scope requests, averaged over those card
sets. A further thinned set with an unused seed is reported as a check.

``--cv K`` splits the tune requests into K folds; for each fold it fits the model *and* picks the threshold
on the other folds only, then scores the held-out fold (on ``cards.yaml``, the first thinned copy and the
check copy). The pooled out-of-fold numbers are what design choices were compared on; the test split is
never read here.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

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
from genesis_agents.infrastructure.routing.lexicon import Lexicon, default_lexicon
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

OOS_TARGET = 0.90
CHECK_SEED = 999

Design = tuple[str, np.ndarray, list[int | None]]
"""(card set name, features [requests, cards, features], index of the right card or None per request)."""


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


def load_lexicon(spec: str | None) -> Lexicon:
    """``None``: the shipped glossary; ``"none"``: no glossary (the ``gloss_cos`` feature is always 0);
    otherwise a glossary file (for ablations)."""
    if spec is None:
        return default_lexicon()
    if spec == "none":
        return Lexicon({})
    return Lexicon.load(spec)


def features(name: str, cards: list[AgentCard], rows: list[dict], lexicon: Lexicon | None = None) -> Design:
    """Feature tensor of every (request, card) pair, cards in file order."""
    neutral = Calibration(weights={f: 0.0 for f in FEATURES}, bias=0.0, threshold=0.5)
    index = CapabilityIndex(cards, embedder=default_embedder(), calibration=neutral, lexicon=lexicon)
    names = [c.name for c in cards]
    X = np.zeros((len(rows), len(cards), len(FEATURES)))
    gold: list[int | None] = []
    for q, row in enumerate(rows):
        feats = dict(index.features_for_training(row["text"]))
        for j, c in enumerate(cards):
            X[q, j] = [feats[c.name][f] for f in FEATURES]
        gold.append(names.index(row["label"]) if row["label"] else None)
    return name, X, gold


def fit_softmax(designs: list[Design], l2: float) -> tuple[np.ndarray, float]:
    """Conditional logit with a "none" option of score 0; L2 penalty ``l2 * |w|^2`` (bias unpenalised)."""
    X = np.concatenate([d[1] for d in designs])                     # [n, cards, k]
    gold = [g for d in designs for g in d[2]]
    n, m, k = X.shape
    target = np.zeros((n, m + 1))
    for q, g in enumerate(gold):
        target[q, m if g is None else g] = 1.0

    def loss(wb: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = wb[:k], wb[k]
        z = np.concatenate([X @ w + b, np.zeros((n, 1))], axis=1)  # [n, cards + 1]
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        resid = (p - target)[:, :m]                                 # d(-loglik)/d(score) per card
        grad_w = np.einsum("nm,nmk->k", resid, X) + 2 * l2 * w
        return float(-(target * logp).sum() + l2 * w @ w), np.append(grad_w, resid.sum())

    res = minimize(loss, np.zeros(k + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return res.x[:k], float(res.x[k])


def fit_logistic(designs: list[Design], c: float) -> tuple[np.ndarray, float]:
    """The older per-card model: every (request, card) pair is one independent example."""
    X = np.concatenate([d[1].reshape(-1, d[1].shape[2]) for d in designs])
    y = np.concatenate([[1 if j == g else 0 for g in d[2] for j in range(d[1].shape[1])] for d in designs])
    model = LogisticRegression(C=c, max_iter=5000).fit(X, y)
    return model.coef_[0], float(model.intercept_[0])


def calibration(w: np.ndarray, b: float, thr: float, model: str, group_logit: float = 0.0,
                fitted_on: str = "") -> Calibration:
    return Calibration(weights={f: round(float(x), 4) for f, x in zip(FEATURES, w)}, bias=round(b, 4),
                       threshold=round(thr, 2), model=model, group_logit=group_logit, fitted_on=fitted_on)


def probabilities(cal: Calibration, X: np.ndarray) -> np.ndarray:
    """[requests, cards] probabilities, computed exactly as the router does."""
    return np.array([cal.probabilities([dict(zip(FEATURES, map(float, row))) for row in per_req])
                     for per_req in X])


def evaluate(P: np.ndarray, gold: list[int | None], thr: float, cal: Calibration) -> tuple[float, float]:
    """(in-scope top-1 with rejection counted wrong, out-of-scope rejection) at threshold ``thr``, accepting
    as the router does (``Calibration.acceptance``)."""
    top = P.argmax(axis=1)
    best = np.array([cal.acceptance(list(row)) for row in P])
    ins = [best[q] >= thr and top[q] == g for q, g in enumerate(gold) if g is not None]
    oos = [best[q] < thr for q, g in enumerate(gold) if g is None]
    return float(np.mean(ins)), float(np.mean(oos))


def pick_threshold(cal: Calibration, designs: list[Design], oos_target: float) -> float:
    probs = [(probabilities(cal, X), gold) for _, X, gold in designs]
    best = (-1.0, 0.5)
    for thr in np.arange(0.05, 0.95, 0.01):
        accs = [evaluate(P, gold, thr, cal) for P, gold in probs]
        top1 = float(np.mean([a for a, _ in accs]))
        rej = float(np.mean([r for _, r in accs]))
        score = top1 if rej >= oos_target else -1.0
        if score > best[0] + 1e-9:
            best = (score, float(thr))
    return round(best[1], 2)


def fit(designs: list[Design], model: str, l2: float, oos_target: float, group_logit: float = 0.0,
        fitted_on: str = "") -> Calibration:
    w, b = fit_softmax(designs, l2) if model == "softmax" else fit_logistic(designs, 1.0 / max(l2, 1e-9))
    cal = calibration(w, b, 0.5, model, group_logit, fitted_on)
    return cal.model_copy(update={"threshold": pick_threshold(cal, designs, oos_target)})


def subset(d: Design, idx: np.ndarray) -> Design:
    return d[0], d[1][idx], [d[2][i] for i in idx]


def cross_validate(designs: list[Design], check: Design, folds: int, model: str, l2: float,
                   oos_target: float, group_logit: float = 0.0) -> dict:
    """Out-of-fold in-scope top-1, ranking top-1 and OOS rejection; model and threshold fitted per fold."""
    n = len(designs[0][2])
    order = np.random.RandomState(0).permutation(n)
    parts = np.array_split(order, folds)
    shown = {d[0]: d for d in [designs[0], designs[1] if len(designs) > 1 else designs[0], check]}
    hits: dict[str, dict[str, list[bool]]] = {k: {"in": [], "rank": [], "oos": []} for k in shown}
    thresholds = []
    for f in range(folds):
        test_idx = parts[f]
        train_idx = np.concatenate([parts[j] for j in range(folds) if j != f])
        cal = fit([subset(d, train_idx) for d in designs], model, l2, oos_target, group_logit)
        thresholds.append(cal.threshold)
        for name, d in shown.items():
            _, X, gold = subset(d, test_idx)
            P = probabilities(cal, X)
            for q, g in enumerate(gold):
                ok_top = cal.acceptance(list(P[q])) >= cal.threshold
                if g is None:
                    hits[name]["oos"].append(not ok_top)
                else:
                    hits[name]["rank"].append(int(P[q].argmax()) == g)
                    hits[name]["in"].append(ok_top and int(P[q].argmax()) == g)
    return {"folds": folds, "model": model, "l2": l2, "oos_target": oos_target, "group_logit": group_logit,
            "thresholds": thresholds,
            "out_of_fold": {k: {"in_scope_top1": round(float(np.mean(v["in"])), 4),
                                "ranking_top1": round(float(np.mean(v["rank"])), 4),
                                "oos_rejection": round(float(np.mean(v["oos"])), 4)} for k, v in hits.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--augment", type=int, default=12, help="number of thinned card sets added to training")
    ap.add_argument("--model", choices=["softmax", "logistic"], default="softmax")
    ap.add_argument("--l2", type=float, default=0.01, help="L2 penalty on the weights (logistic: C = 1/l2)")
    ap.add_argument("--oos-target", type=float, default=OOS_TARGET,
                    help="minimum mean out-of-scope rejection when picking the threshold")
    ap.add_argument("--group-logit", type=float, default=0.1,
                    help="softmax: accept on the probability of the cards within this many logits of the best")
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold cross-validation only (no write)")
    ap.add_argument("--cv-out", default=str(bench_data.HERE / "cv_results.json"), help="where --cv saves JSON")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write calibration.json")
    ap.add_argument("--lexicon", default=None, metavar="FILE|none",
                    help="--cv only: use this glossary instead of the shipped one ('none': no glossary)")
    args = ap.parse_args()
    if args.cv == 1 or args.cv < 0:
        ap.error("--cv needs at least 2 folds")
    if args.lexicon is not None and not args.cv:
        ap.error("--lexicon is for --cv ablations; the fitted calibration always uses the shipped glossary")
    lexicon = load_lexicon(args.lexicon)
    cards = bench_data.cards()
    rows = bench_data.dataset("tune")
    sets = [("cards.yaml", cards)] + [(f"thinned-{s}", thinned(cards, s)) for s in range(args.augment)]
    designs = [features(name, cs, rows, lexicon) for name, cs in sets]
    check = features(f"thinned-{CHECK_SEED} (not fitted on)", thinned(cards, CHECK_SEED), rows, lexicon)
    if args.cv:
        result = {"augment": args.augment, "lexicon": args.lexicon or "shipped",
                  **cross_validate(designs, check, args.cv, args.model, args.l2, args.oos_target,
                                   args.group_logit)}
        Path(args.cv_out).write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        print(f"saved {args.cv_out}")
        return 0
    n_cards = len(cards)
    cal = fit(designs, args.model, args.l2, args.oos_target, args.group_logit,
              fitted_on=(f"benchmarks/routing tune split ({len(rows)} requests) x cards.yaml + {args.augment} "
                         f"thinned copies ({n_cards} cards each); {args.model}, l2={args.l2}, "
                         f"oos_target={args.oos_target}, group_logit={args.group_logit}; glossary lexicon.yaml "
                         f"({len(default_lexicon().definitions)} definitions)"))
    report = {}
    for name, X, gold in designs[:2] + [check]:
        a, r = evaluate(probabilities(cal, X), gold, cal.threshold, cal)
        report[name] = {"in_scope_top1": round(a, 4), "oos_rejection": round(r, 4)}
    if not args.dry_run:
        CALIBRATION_FILE.write_text(json.dumps(cal.model_dump(), indent=2) + "\n")
    print(json.dumps({"calibration": cal.model_dump(), "tune_split_in_sample": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
