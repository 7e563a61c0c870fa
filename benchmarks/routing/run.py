"""Routing benchmark: HALO router vs. a nearest-card baseline, on the held-out split, plus unseen cards.

    python benchmarks/routing/run.py [--split test] [--unseen] [--calibration FILE] [--out FILE]

Measured in one run, on the same requests:
- ``halo``: ``HaloRouter`` with no rules (capability matching from the cards alone, calibrated threshold);
- ``baseline_nearest``: the card whose embedding of description + examples is most similar (never rejects);
- ``baseline_threshold``: the same, rejecting when the best cosine is below a threshold chosen on the
  *tune* split (so the baseline gets the same chance to detect out-of-scope requests);
- ``halo_alt_cards``/``baseline_*_alt_cards``: the same requests routed against ``cards_alt.yaml`` — a
  differently-worded card set with other agent names that was never used for tuning;
- with ``--unseen``: the same against ``cards_unseen.yaml``, a third card set kept for a final check.
Metrics: ranking top-1 (the router's best-scored card, accepted or not: the ceiling for the next metric),
in-scope top-1 accuracy (rejecting an in-scope request counts as wrong), out-of-scope rejection,
macro-F1 over agents + "unassigned", overall accuracy, calibration of the router's top probability
(Brier score, expected calibration error over 10 bins), and p50/p95 decision latency (request embedding
included; card embeddings are computed once up front, as in a running service).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

import bench_data
import numpy as np
from genesis_agents.infrastructure.contracts import AgentCard, Subtask, Task
from genesis_agents.infrastructure.embeddings import default_embedder
from genesis_agents.infrastructure.routing import Calibration, HaloRouter
from sklearn.metrics import f1_score

UNASSIGNED = "unassigned"


def metrics(gold: list[str], pred: list[str], lat_ms: list[float], ranked: list[str] | None = None) -> dict:
    """``ranked``: the best-scored card per request whether accepted or not (ranking quality alone)."""
    ins = [(g, p) for g, p in zip(gold, pred) if g != UNASSIGNED]
    oos = [(g, p) for g, p in zip(gold, pred) if g == UNASSIGNED]
    labels = sorted(set(gold))
    extra = {}
    if ranked is not None:
        hits = [g == r for g, r in zip(gold, ranked) if g != UNASSIGNED]
        extra["ranking_top1"] = round(sum(hits) / max(1, len(hits)), 4)
    return {
        **extra,
        "in_scope_top1": round(sum(g == p for g, p in ins) / max(1, len(ins)), 4),
        "oos_rejection": round(sum(p == UNASSIGNED for _, p in oos) / max(1, len(oos)), 4),
        "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
        "overall_accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4),
        "latency_p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
        "latency_p95_ms": round(float(np.percentile(lat_ms, 95)), 3),
        "n_in_scope": len(ins),
        "n_out_of_scope": len(oos),
    }


class NearestCard:
    """Baseline: cosine between the request and one embedding of each card's description + examples."""

    def __init__(self, cards: list[AgentCard], threshold: float | None = None) -> None:
        self.emb = default_embedder()
        self.names = [c.name for c in cards]
        texts = [c.description + " " + " ".join(e for s in c.skills for e in s.examples) for c in cards]
        self.matrix = self.emb.embed(texts)
        self.threshold = threshold

    def best(self, text: str) -> tuple[str, float]:
        sims = self.matrix @ self.emb.embed([text])[0]
        i = int(np.argmax(sims))
        return self.names[i], float(sims[i])

    def route(self, text: str) -> str:
        name, sim = self.best(text)
        return UNASSIGNED if self.threshold is not None and sim < self.threshold else name


def tune_baseline_threshold(cards: list[AgentCard]) -> float:
    """Best balanced (in-scope accuracy + OOS rejection) threshold on the tune split."""
    base = NearestCard(cards)
    rows = bench_data.dataset("tune")
    best = [(base.best(r["text"]), r["label"]) for r in rows]
    scored = []
    for thr in np.arange(0.0, 0.8, 0.01):
        ins = [(n, s, lab) for (n, s), lab in best if lab is not None]
        oos = [s for (n, s), lab in best if lab is None]
        acc = sum(n == lab and s >= thr for n, s, lab in ins) / len(ins)
        rej = sum(s < thr for s in oos) / len(oos)
        scored.append((0.5 * acc + 0.5 * rej, float(thr)))
    return max(scored)[1]


def clear_request_cache() -> None:
    """Forget embedded requests so every system pays for embedding each request (fair latency)."""
    default_embedder().clear_cache()


def calibration_quality(conf: list[tuple[float, bool]], bins: int = 10) -> dict[str, float]:
    """Brier score and expected calibration error of the top candidate's probability vs. being right."""
    p = np.array([c for c, _ in conf])
    y = np.array([1.0 if ok else 0.0 for _, ok in conf])
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        m = (p >= lo) & (p < hi) if b < bins - 1 else (p >= lo) & (p <= hi)
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return {"brier": round(float(np.mean((p - y) ** 2)), 4), "ece": round(float(ece), 4)}


CONFIDENCE: dict[str, list[tuple[float, bool]]] = {}


def run_router(router: HaloRouter, cards: list[AgentCard], rows: list[dict], label_map: dict[str, str]
               ) -> tuple[list[str], list[str], list[float], list[dict], list[str]]:
    router.route_sync(Subtask(id="warm", text="warm up"), Task(text="warm up"), cards)  # card embeddings
    clear_request_cache()
    gold, pred, lat, misses, ranked = [], [], [], [], []

    async def go() -> None:
        for r in rows:
            sub = Subtask(id=r["id"], text=r["text"])
            t0 = time.perf_counter()
            d = await router.route(sub, Task(text=r["text"]), cards)
            lat.append((time.perf_counter() - t0) * 1000)
            g = label_map.get(r["label"], r["label"]) if r["label"] else UNASSIGNED
            p = d.agent or UNASSIGNED
            gold.append(g)
            pred.append(p)
            ranked.append(d.alternatives[0].agent if d.alternatives else UNASSIGNED)
            if d.alternatives:
                top = d.alternatives[0]
                CONFIDENCE.setdefault(cards[0].name, []).append((top.score, top.agent == g))
            if g != p:
                misses.append({"id": r["id"], "text": r["text"], "gold": g, "pred": p, "score": d.score})

    asyncio.run(go())
    return gold, pred, lat, misses, ranked


def router_overhead(router: HaloRouter, cards: list[AgentCard], rows: list[dict]) -> dict[str, float]:
    """Decision latency with the request embedding already cached: the router's own cost."""
    default_embedder().embed([r["text"] for r in rows])
    lat = []

    async def go() -> None:
        for r in rows:
            t0 = time.perf_counter()
            await router.route(Subtask(id=r["id"], text=r["text"]), Task(text=r["text"]), cards)
            lat.append((time.perf_counter() - t0) * 1000)

    asyncio.run(go())
    return {"p50": round(float(np.percentile(lat, 50)), 3), "p95": round(float(np.percentile(lat, 95)), 3)}


def run_baseline(base: NearestCard, rows: list[dict], label_map: dict[str, str]) -> tuple[list, list, list]:
    clear_request_cache()
    gold, pred, lat = [], [], []
    for r in rows:
        t0 = time.perf_counter()
        p = base.route(r["text"])
        lat.append((time.perf_counter() - t0) * 1000)
        gold.append(label_map.get(r["label"], r["label"]) if r["label"] else UNASSIGNED)
        pred.append(p)
    return gold, pred, lat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=["test", "tune"])
    ap.add_argument("--out", default=str(bench_data.HERE / "results.json"))
    ap.add_argument("--unseen", action="store_true",
                    help="also route against cards_unseen.yaml (a third card set kept for one final check)")
    ap.add_argument("--calibration", default=None,
                    help="route with this calibration file instead of the packaged one (e.g. an older fit)")
    args = ap.parse_args()
    rows = bench_data.dataset(args.split)
    cards = bench_data.cards()
    alt_cards = bench_data.cards("cards_alt.yaml")
    alt_map = bench_data.alt_label_map()
    router = HaloRouter(rules=None, calibration=Calibration.load(args.calibration) if args.calibration else None)
    load_before = os.getloadavg()
    results: dict = {"split": args.split, "n_requests": len(rows), "n_cards": len(cards),
                     "threshold": router.calibration.threshold, "calibration_model": router.calibration.model,
                     "calibration_file": args.calibration or "infrastructure/routing/calibration.json", "python": platform.python_version(),
                     "machine": platform.machine(), "systems": {}}

    thr = tune_baseline_threshold(cards)
    g, p, lat, misses, ranked = run_router(router, cards, rows, {})
    results["systems"]["halo"] = metrics(g, p, lat, ranked)
    results["halo_misses"] = misses
    results["halo_calibration"] = calibration_quality(CONFIDENCE[cards[0].name])
    results["halo_router_overhead_ms"] = router_overhead(router, cards, rows)
    g, p, lat = run_baseline(NearestCard(cards), rows, {})
    results["systems"]["baseline_nearest"] = metrics(g, p, lat)
    g, p, lat = run_baseline(NearestCard(cards, thr), rows, {})
    results["systems"]["baseline_threshold"] = {**metrics(g, p, lat), "threshold": round(thr, 2)}

    def other_card_set(tag: str, set_cards: list[AgentCard], label_map: dict[str, str]) -> None:
        """The same requests over another card set: HALO and both baselines."""
        g, p, lat, misses, ranked = run_router(router, set_cards, rows, label_map)
        results["systems"][f"halo_{tag}_cards"] = metrics(g, p, lat, ranked)
        results[f"halo_{tag}_misses"] = misses
        results[f"halo_{tag}_calibration"] = calibration_quality(CONFIDENCE[set_cards[0].name])
        g, p, lat = run_baseline(NearestCard(set_cards), rows, label_map)
        results["systems"][f"baseline_nearest_{tag}_cards"] = metrics(g, p, lat)
        g, p, lat = run_baseline(NearestCard(set_cards, thr), rows, label_map)
        results["systems"][f"baseline_threshold_{tag}_cards"] = metrics(g, p, lat)

    other_card_set("alt", alt_cards, alt_map)
    if args.unseen:
        other_card_set("unseen", bench_data.cards("cards_unseen.yaml"),
                       bench_data.alt_label_map("cards_unseen_map.json"))

    h, b = results["systems"]["halo"], results["systems"]["baseline_nearest"]
    bt = results["systems"]["baseline_threshold"]
    results["goals"] = {
        "in_scope_top1>=0.90": h["in_scope_top1"] >= 0.90,
        "oos_rejection>=0.85": h["oos_rejection"] >= 0.85,
        "p95<=20ms": h["latency_p95_ms"] <= 20.0,
        "overall_accuracy>=baseline_nearest+10pt": h["overall_accuracy"] >= b["overall_accuracy"] + 0.10,
        "macro_f1>=baseline_threshold+10pt": h["macro_f1"] >= bt["macro_f1"] + 0.10,
    }
    results["load_average_1m"] = {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2),
                                  "cpus": os.cpu_count()}
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    header = f"{'system':32} {'top1':>6} {'oos_rej':>8} {'macroF1':>8} {'overall':>8} {'p50ms':>7} {'p95ms':>7}"
    print(f"split={args.split} requests={len(rows)} cards={len(cards)}")
    print(header)
    for name, m in results["systems"].items():
        print(f"{name:32} {m['in_scope_top1']:6.3f} {m['oos_rejection']:8.3f} {m['macro_f1']:8.3f} "
              f"{m['overall_accuracy']:8.3f} {m['latency_p50_ms']:7.2f} {m['latency_p95_ms']:7.2f}")
    print("halo ranking top-1 (best card, accepted or not):",
          {k: v["ranking_top1"] for k, v in results["systems"].items() if "ranking_top1" in v})
    print("calibration of the top probability (Brier, ECE):", results["halo_calibration"],
          "alt cards:", results["halo_alt_calibration"],
          "unseen cards:", results.get("halo_unseen_calibration"))
    print("router overhead without the request embedding (ms):", results["halo_router_overhead_ms"])
    print("load average (1 min) before/after:", results["load_average_1m"])
    print("goals:", json.dumps(results["goals"]))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
