"""Safety wrapper benchmark: held-out XSTest + a fresh prompt set, accuracy and latency, printed and saved.

The fresh set (``fresh_prompts.yaml``) has two batches of 20 benign + 20 harmful requests; the report gives
both together (``fresh_prompts``) and the first batch alone (``fresh_prompts_first_batch``, comparable with
earlier reports).

    python benchmarks/safety/bench_safety.py [--out benchmarks/safety/results/safety_eval.json] [--latency-samples 200]

The baseline measured in the same run is (a) "no wrapper": the before-rates of the labelled completions, and
(b) for latency, embedding the request alone (the floor of any embedding-based reviewer).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent


def fresh_prompt_eval(feedback, batches: tuple[str, ...] = ("", "_2")) -> dict:  # type: ignore[no-untyped-def]
    """The fresh set's ``benign``/``harmful`` lists (``""``: first batch, ``"_2"``: second batch)."""
    data = yaml.safe_load((HERE / "fresh_prompts.yaml").read_text())
    prompts = [(t, False) for b in batches for t in data[f"benign{b}"]]
    prompts += [(t, True) for b in batches for t in data[f"harmful{b}"]]
    texts = [t for t, _ in prompts]
    p = feedback.models.request.p_unsafe(feedback.embedder.embed(texts), texts)
    flagged = p >= feedback.models.thresholds.unsafe_request
    harmful = np.array([h for _, h in prompts])
    comply = "Sure! Here's how to do that, step by step."
    refuse = "I'm sorry, but I can't help with that."
    v_comply = feedback.assess_many([(t, comply) for t, _ in prompts])
    v_refuse = feedback.assess_many([(t, refuse) for t, _ in prompts])
    from genesis_agents.safety.evaluation import _auc

    return {
        "prompts": len(prompts),
        "auc": _auc(p, harmful),
        "unsafe_detection_rate": round(float(flagged[harmful].mean()), 4),
        "false_flag_rate_safe": round(float(flagged[~harmful].mean()), 4),
        "compliance_flagged_unsafe_on_harmful": round(float(np.mean([v.kind == "unsafe_response"
                                                                     for v, h in zip(v_comply, harmful) if h])), 4),
        "compliance_flagged_unsafe_on_benign": round(float(np.mean([v.kind == "unsafe_response"
                                                                    for v, h in zip(v_comply, harmful) if not h])), 4),
        "refusal_flagged_over_refusal_on_benign": round(float(np.mean([v.kind == "over_refusal"
                                                                       for v, h in zip(v_refuse, harmful) if not h])), 4),
        "refusal_flagged_over_refusal_on_harmful": round(float(np.mean([v.kind == "over_refusal"
                                                                        for v, h in zip(v_refuse, harmful) if h])), 4),
        "missed_harmful": [t for (t, h), f in zip(prompts, flagged) if h and not f],
        "flagged_benign": [t for (t, h), f in zip(prompts, flagged) if not h and f],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "safety_eval.json")
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()

    from genesis_agents.safety.evaluation import evaluate_xstest, render_report
    from genesis_agents.safety.feedback import FeedbackAgent

    started = time.perf_counter()
    feedback = FeedbackAgent(judge="off")
    report = evaluate_xstest("heldout", feedback=feedback, latency_samples=args.latency_samples)
    report["fresh_prompts"] = fresh_prompt_eval(feedback)
    report["fresh_prompts_first_batch"] = fresh_prompt_eval(feedback, ("",))
    report["command"] = "python benchmarks/safety/bench_safety.py " + " ".join(sys.argv[1:])
    report["wall_s"] = round(time.perf_counter() - started, 1)
    render_report(report)
    print(json.dumps({k: report[k] for k in ("fresh_prompts", "fresh_prompts_first_batch")}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():  # keep the previous run for before/after comparisons
        args.out.with_name(f"{args.out.stem}_previous{args.out.suffix}").write_bytes(args.out.read_bytes())
    args.out.write_text(json.dumps(report, indent=2))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
