"""SE-Darwin benchmark: evolution vs random search with the same evaluation budget, in the same run.

Evolves the shipped ``triage`` example agent (deliberately bad defaults) on its suite with every
evaluation executed in the sandbox, and reports per method and seed:
- the best train quality found and the held-out quality of the best variant;
- generations (and evaluations) needed to reach 95% of the best score found (by either method, same seed);
- evaluations per minute with ``--workers`` sandboxes at once (2 on this 2-core machine);
- evaluations per minute of the spawn launcher (fresh interpreter per evaluation) as the launcher baseline.

    .venv/bin/python benchmarks/evolution.py --budget 42 --population 6 --seeds 3
Prints a table and writes benchmarks/results/evolution.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def first_reaching(generations: list[dict[str, Any]], target: float) -> tuple[int | None, int | None]:
    for g in generations:
        if g["best_quality"] + 1e-9 >= target:
            return g["generation"], g["evaluations"]
    return None, None


async def one_run(search: str, seed: int, args: argparse.Namespace, launcher: str = "forkserver",
                  budget: int | None = None) -> dict[str, Any]:
    from genesis_agents.evolution import EvolutionConfig, EvolutionEngine
    from genesis_agents.evolution.examples import TRIAGE_SUITE
    from genesis_agents.infrastructure.config import load_settings

    budget = budget or args.budget
    with tempfile.TemporaryDirectory(prefix="genesis-bench-evo-") as tmp:
        settings = load_settings(data_dir=Path(tmp), memory_backend="inprocess")
        config = EvolutionConfig(
            search=search, seed=seed, population=args.population, generations=1000, patience=1000,
            max_evaluations=budget, workers=args.workers, stages="minimal", safety="passthrough", promote=False,
            promotion_candidates=1, launcher=launcher,
        )
        engine = EvolutionEngine("triage", TRIAGE_SUITE, settings=settings, config=config)
        started = time.perf_counter()
        result = await engine.run()
        wall = time.perf_counter() - started
        engine.archive.close()
    gens = result.generations
    evolve_wall = gens[-1]["wall_s"] if gens else wall
    best = result.best.fitness if result.best else 0.0
    holdout = result.promotion.candidate.quality if result.promotion and result.promotion.candidate else None
    return {
        "search": search, "seed": seed, "launcher": launcher, "budget": budget,
        "evaluations": gens[-1]["evaluations"] if gens else 0, "generations": len(gens),
        "best_quality": best, "best_holdout_quality": holdout,
        "incumbent_holdout_quality": result.promotion.incumbent.quality if result.promotion else None,
        "evolution_wall_s": round(evolve_wall, 3),
        "evaluations_per_minute": round(60.0 * gens[-1]["evaluations"] / evolve_wall, 1) if gens else 0.0,
        "best_by_generation": [g["best_quality"] for g in gens],
        "evaluations_by_generation": [g["evaluations"] for g in gens],
        "stop_reason": result.stop_reason, "failed": result.failed,
        "_generations": gens,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        for search in ("evolution", "random"):
            r = await one_run(search, seed, args)
            runs.append(r)
            print(f"seed {seed} {search:9s}: best {r['best_quality']:.3f} holdout {r['best_holdout_quality']} "
                  f"in {r['evaluations']} evals, {r['evaluations_per_minute']} evals/min", flush=True)
    spawn = await one_run("random", 0, args, launcher="spawn", budget=args.spawn_budget)
    print(f"spawn launcher: {spawn['evaluations_per_minute']} evals/min ({spawn['evaluations']} evals)", flush=True)

    for seed in range(args.seeds):
        pair = [r for r in runs if r["seed"] == seed]
        overall = max(r["best_quality"] for r in pair)
        for r in pair:
            r["target_95"] = round(0.95 * overall, 6)
            r["generation_to_95"], r["evaluations_to_95"] = first_reaching(r["_generations"], r["target_95"])
            own_gen, own_evals = first_reaching(r["_generations"], 0.95 * r["best_quality"])
            r["generation_to_95_of_own_best"], r["evaluations_to_95_of_own_best"] = own_gen, own_evals
    for r in runs + [spawn]:
        r.pop("_generations", None)

    def summary(search: str) -> dict[str, Any]:
        rs = [r for r in runs if r["search"] == search]
        reached = [r["evaluations_to_95"] for r in rs if r["evaluations_to_95"] is not None]
        gens = [r["generation_to_95"] for r in rs if r["generation_to_95"] is not None]
        return {
            "mean_best_quality": round(statistics.fmean(r["best_quality"] for r in rs), 4),
            "mean_best_holdout_quality": round(statistics.fmean(r["best_holdout_quality"] or 0.0 for r in rs), 4),
            "runs_reaching_95pct_of_best": f"{len(reached)}/{len(rs)}",
            "median_generation_to_95": statistics.median(gens) if gens else None,
            "median_evaluations_to_95": statistics.median(reached) if reached else None,
            "mean_evaluations_per_minute": round(statistics.fmean(r["evaluations_per_minute"] for r in rs), 1),
        }

    return {
        "benchmark": "evolution", "agent": "triage (genesis_agents.evolution.examples)",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "settings": {"budget_evaluations": args.budget, "population": args.population, "workers": args.workers,
                     "seeds": args.seeds},
        "summary": {"evolution": summary("evolution"), "random_search": summary("random"),
                    "spawn_launcher_evaluations_per_minute": spawn["evaluations_per_minute"]},
        "runs": runs, "spawn_run": spawn,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=42, help="evaluations per search (same for both)")
    parser.add_argument("--population", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--spawn-budget", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "evolution.json")
    ns = parser.parse_args()
    report = asyncio.run(main(ns))
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["summary"], indent=2))
    print(f"saved {ns.out}")
