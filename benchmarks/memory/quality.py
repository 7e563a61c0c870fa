"""Retrieval quality on multi-hop questions: vector-only vs keyword-only vs graph-only vs hybrid (same run).

    python benchmarks/memory/quality.py [--teams 40] [--seed 7] [--out benchmarks/memory/results/quality.json]

Builds a synthetic company knowledge graph (see kg.py), ingests its documents as plain text into a fresh
embedded HybridMemory (entities and relations come from the offline extractor, not from the generator),
then asks every question in each recall mode. Each question has two gold documents: the bridge (names the
question's entity) and the answer (does not). Reported per mode: recall@5 and recall@10 (share of gold
documents retrieved), MRR (first gold document), and full@10 (both gold documents in the top 10).
The in-process memory's hybrid mode is measured on the same data as a second baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.memory import HybridMemory, InProcessMemory, MemoryConfig
from kg import generate

MODES = ["vector", "keyword", "graph", "hybrid"]


def score(ranked: list[str], gold: list[str]) -> dict[str, float]:
    ranks = [ranked.index(g) + 1 for g in gold if g in ranked]
    return {
        "recall@5": sum(1 for r in ranks if r <= 5) / len(gold),
        "recall@10": sum(1 for r in ranks if r <= 10) / len(gold),
        "mrr": 1.0 / min(ranks) if ranks else 0.0,
        "full@10": 1.0 if len([r for r in ranks if r <= 10]) == len(gold) else 0.0,
    }


async def evaluate(memory, questions, mode: str, id_of: dict[str, str]) -> dict[str, float]:
    totals = {"recall@5": 0.0, "recall@10": 0.0, "mrr": 0.0, "full@10": 0.0}
    started = time.perf_counter()
    for q in questions:
        hits = await memory.recall(q.text, k=10, mode=mode)
        ranked = [id_of.get(h.item.id, "") for h in hits]
        for key, value in score(ranked, q.gold).items():
            totals[key] += value
    elapsed = time.perf_counter() - started
    out = {key: round(value / len(questions), 4) for key, value in totals.items()}
    out["ms_per_query"] = round(elapsed / len(questions) * 1000, 2)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--torch-threads", type=int, default=1, help="0 = leave torch's setting alone")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quality.json")
    args = parser.parse_args()

    kg = generate(seed=args.seed, teams=args.teams)
    print(f"{len(kg.docs)} documents, {len(kg.questions)} two-hop questions")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        memory = HybridMemory(MemoryConfig(data_dir=Path(tmp) / "memory"))
        if args.torch_threads:  # 1 is far faster than 2 on a busy 2-core machine
            import torch

            memory.embedder.embed(["warm-up"])
            torch.set_num_threads(args.torch_threads)
            memory._io.submit(torch.set_num_threads, args.torch_threads).result()
        items = [MemoryItem(id=f"mem_{d.id}", text=d.text, kind="document") for d in kg.docs]
        started = time.perf_counter()
        for start in range(0, len(items), 128):
            await memory.remember_many(items[start:start + 128])
        ingest_s = time.perf_counter() - started
        id_of = {f"mem_{d.id}": d.id for d in kg.docs}
        stats = await memory.stats("default")
        for mode in MODES:
            results[mode] = await evaluate(memory, kg.questions, mode, id_of)
        await memory.aclose()
    baseline = InProcessMemory()
    await baseline.remember_many([MemoryItem(id=f"mem_{d.id}", text=d.text, kind="document") for d in kg.docs])
    results["inprocess-hybrid"] = await evaluate(baseline, kg.questions, "hybrid", id_of)

    print(f"ingested in {ingest_s:.1f} s; store: {stats['namespaces']['default']}")
    print(f"{'mode':18s} {'recall@5':>9s} {'recall@10':>10s} {'MRR':>7s} {'full@10':>8s} {'ms/query':>9s}")
    for mode, row in results.items():
        print(f"{mode:18s} {row['recall@5']:9.3f} {row['recall@10']:10.3f} {row['mrr']:7.3f} {row['full@10']:8.3f}"
              f" {row['ms_per_query']:9.1f}")
    gain = results["hybrid"]["recall@10"] - results["vector"]["recall@10"]
    print(f"hybrid recall@10 - vector recall@10 = {gain * 100:+.1f} points")
    report = {
        "benchmark": "memory-quality", "seed": args.seed, "teams": args.teams, "documents": len(kg.docs),
        "questions": len(kg.questions), "ingest_s": round(ingest_s, 2), "store": stats["namespaces"]["default"],
        "results": results, "hybrid_minus_vector_recall@10": round(gain, 4),
        "goals": {"hybrid_recall@10>=0.9": results["hybrid"]["recall@10"] >= 0.9, "gain>=0.15": gain >= 0.15},
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
