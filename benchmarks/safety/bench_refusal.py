"""Refusal-detector benchmark (response side of over-refusal detection), printed and saved as JSON.

Three sets, none of them the held-out XSTest split:

- ``fresh_responses.yaml``: hand-written (request, response, label) items in varied styles (full refusals,
  partial refusals - decline then generalities, lecture instead of answer, redirect without answering,
  "as an AI ..." then a refusal - compliance with a caveat, plain compliance) for benign and harmful
  requests. Never trained on and never used to pick thresholds: an evaluation set only.
- the XSTest *calibration* split (prompt id % 5 in {3, 4}), scored **out of fold**: each completion by a
  refusal model trained without its prompt's completions (``refusal_out_of_fold``), so the numbers are
  honest even though the shipped model trains on this split;
- ``agent_answers.yaml``: benign answers in the style of business-automation agents; the share read as
  refusals (a regression check: it was written to verify a fix, see its note).

    python benchmarks/safety/bench_refusal.py [--out benchmarks/safety/results/refusal_eval.json] [--retrain]

``--retrain`` trains the refusal model from the current code and seed data (keeping the bundle's request
model) and re-runs the threshold calibration, instead of evaluating the shipped bundle as it is; this is how
a change is measured before the bundle is rebuilt. The baseline measured in the same run is the phrase-only
detector (``refusal_cues``: any refusal phrase in the first two sentences), the floor any model must beat.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent


def _prf(pred: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    from genesis_agents.safety.evaluation import prf

    return prf([bool(p) for p in pred], [bool(t) for t in truth])


def _auc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    from genesis_agents.safety.evaluation import _auc as auc

    return auc(scores, truth)


def _block(p_ref: np.ndarray, refusal: np.ndarray, safe: np.ndarray, p_unsafe: np.ndarray, th: Any,
           phrase_only: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, Any]:
    """Refusal accuracy/F1 at the refusal threshold, over-refusal F1 with the request model's probabilities
    and with the true request labels (the response side alone), and the phrase-only baseline."""
    pred = p_ref >= th.refusal
    or_truth = safe & refusal
    return {
        "n": len(p_ref), "refusals": int(refusal.sum()),
        "refusal_accuracy": round(float((pred == refusal).mean()), 4),
        "refusal_auc": _auc(p_ref, refusal),
        "refusal": _prf(pred, refusal),
        "accuracy_by_group": {k: round(float((pred[m] == refusal[m]).mean()), 4) for k, m in groups.items()
                              if m.any()},
        "over_refusal": _prf((p_ref >= th.over_refusal_refusal) & (p_unsafe < th.benign_request), or_truth),
        "over_refusal_with_true_prompt_labels": _prf((p_ref >= th.over_refusal_refusal) & safe, or_truth),
        "baseline_phrase_only": {"refusal_accuracy": round(float((phrase_only == refusal).mean()), 4),
                                 "refusal": _prf(phrase_only, refusal),
                                 "over_refusal_with_true_prompt_labels": _prf(phrase_only & safe, or_truth)},
    }


def fresh_eval(models: Any, embedder: Any) -> dict[str, Any]:
    from genesis_agents.safety.detectors import refusal_cues

    items = yaml.safe_load((HERE / "fresh_responses.yaml").read_text())["items"]
    texts = [it["response"] for it in items]
    requests = [it["request"] for it in items]
    p_ref = models.refusal.p_refusal(texts)
    p_unsafe = models.request.p_unsafe(embedder.embed(requests), requests)
    refusal = np.array([it["label"] == "refusal" for it in items])
    safe = np.array([bool(it["safe"]) for it in items])
    styles = np.array([it["style"] for it in items])
    groups = {s: styles == s for s in ("full_refusal", "partial_refusal", "caveat_compliance", "plain_compliance")}
    phrase = np.array([refusal_cues(t).first_sentences > 0 for t in texts])
    return _block(p_ref, refusal, safe, p_unsafe, models.thresholds, phrase, groups)


def agent_answers_eval(models: Any) -> dict[str, Any]:
    """Benign agent-style answers (``agent_answers.yaml``): how many read as refusals (all should not)."""
    doc = yaml.safe_load((HERE / "agent_answers.yaml").read_text())
    p_ref = models.refusal.p_refusal(doc["answers"])
    flagged = p_ref >= models.thresholds.over_refusal_refusal
    return {"answers": len(doc["answers"]), "read_as_refusal": int(flagged.sum()),
            "rate": round(float(flagged.mean()), 4), "max_p_refusal": round(float(p_ref.max()), 4),
            "flagged": [t for t, f in zip(doc["answers"], flagged, strict=True) if f]}


def calibration_oof_eval(models: Any, embedder: Any) -> dict[str, Any]:
    from genesis_agents.safety import datasets
    from genesis_agents.safety.classifiers import refusal_out_of_fold
    from genesis_agents.safety.detectors import refusal_cues

    prompts = datasets.xstest_prompts("calibration")
    ptexts = [p.prompt for p in prompts]
    pu = dict(zip([p.id for p in prompts], models.request.p_unsafe(embedder.embed(ptexts), ptexts)))
    comps = datasets.xstest_completions("calibration")
    oof = refusal_out_of_fold()
    p_ref = np.array([oof.get((c.model, c.prompt_id), 0.0) for c in comps])
    refusal = np.array([c.refusal for c in comps])
    safe = np.array([c.safe_prompt for c in comps])
    p_unsafe = np.array([pu[c.prompt_id] for c in comps])
    labels = np.array([c.label for c in comps])
    model = np.array([c.model for c in comps])
    groups = {"full_refusal": labels == "full_refusal", "partial_refusal": labels == "partial_refusal",
              "full_compliance": labels == "full_compliance", "gpt4": model == "gpt4", "llama2": model == "llama2"}
    phrase = np.array([bool(c.completion.strip()) and refusal_cues(c.completion).first_sentences > 0
                       for c in comps])
    return _block(p_ref, refusal, safe, p_unsafe, models.thresholds, phrase, groups)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "refusal_eval.json")
    parser.add_argument("--retrain", action="store_true",
                        help="train the refusal model from the current code and seed data and recalibrate")
    args = parser.parse_args()

    from genesis_agents.infrastructure.embeddings import default_embedder
    from genesis_agents.infrastructure.errors import ConfigError
    from genesis_agents.safety.classifiers import (
        SHIPPED_BUNDLE,
        SafetyModels,
        calibrate,
        train_models,
        train_refusal_model,
    )

    started = time.perf_counter()
    embedder = default_embedder()
    if args.retrain:
        try:
            models = SafetyModels.load(SHIPPED_BUNDLE)
            models.refusal = train_refusal_model()
            calibrate(models, embedder)
        except ConfigError:  # the shipped bundle predates the current features: train everything (~1 min)
            models = train_models(embedder)
    else:
        models = SafetyModels.load(SHIPPED_BUNDLE)
    report = {
        "model": "retrained from current code and seed data" if args.retrain else str(SHIPPED_BUNDLE.name),
        "thresholds": models.thresholds.__dict__,
        "fresh_responses": fresh_eval(models, embedder),
        "calibration_out_of_fold": calibration_oof_eval(models, embedder),
        "agent_answers": agent_answers_eval(models),
        "calibration_meta": models.meta.get("calibration"),
        "command": "python benchmarks/safety/bench_refusal.py " + " ".join(sys.argv[1:]),
    }
    report["wall_s"] = round(time.perf_counter() - started, 1)
    for name in ("fresh_responses", "calibration_out_of_fold"):
        r = report[name]
        print(f"{name}: refusal acc {r['refusal_accuracy']:.3f} AUC {r['refusal_auc']} "
              f"P/R/F1 {r['refusal']['precision']:.3f}/{r['refusal']['recall']:.3f}/{r['refusal']['f1']:.3f} | "
              f"over-refusal F1 {r['over_refusal']['f1']:.3f} (true prompt labels "
              f"{r['over_refusal_with_true_prompt_labels']['f1']:.3f}) | phrase-only acc "
              f"{r['baseline_phrase_only']['refusal_accuracy']:.3f}")
        print("   by group:", r["accuracy_by_group"])
    print("agent answers (benign) read as refusals:", report["agent_answers"])
    print("thresholds:", report["thresholds"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
