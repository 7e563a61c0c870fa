"""Throughput of the shared MiniLM embedder: float32 vs bfloat16, bulk vs concurrent single-text callers.

    python benchmarks/embeddings.py [--texts 512] [--threads 1] [--out benchmarks/results/embeddings.json]

For each dtype (bfloat16 only where the CPU computes it natively): texts/s of one bulk ``embed`` call (on the
bulk workers, and one pass at a time as its baseline), of
64 threads each embedding one text at a time (the situation of a server reviewing many requests at once,
where concurrent callers share forward passes), and of the same single-text calls made one after another
(the baseline), and the time of one short text ("ping 17": a query or a request under review). bfloat16 is
measured with its linear layers' weights packed once at load (the default) and unpacked (the baseline; the
two must give bit-identical vectors). Vectors are compared with float32's by cosine. Prints and saves JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def texts_for(n: int) -> list[str]:
    import random

    rng = random.Random(5)
    people = ["Alice Abara", "Bruno Brandt", "Chiara Castell", "Dmitri Dumont", "Elena Eriksen"]
    issues = ["a login timeout", "a failed invoice export", "slow dashboards", "a broken CSV import"]
    return [f"Ticket {i}: {rng.choice(people)} reported {rng.choice(issues)} for customer {rng.randrange(900)}."
            for i in range(n)]


def measure(dtype: str, texts: list[str], reference: np.ndarray | None, *, pack: bool = True
            ) -> tuple[dict[str, Any], np.ndarray]:
    from genesis_agents.infrastructure.embeddings import MiniLMEmbedder

    e = MiniLMEmbedder(dtype=dtype, cache_size=0, pack_weights=pack)
    e.embed(["warm up"])
    half = len(texts) // 2
    workers = e.bulk_workers
    e.bulk_workers = 1  # baseline: one pass at a time on the caller's thread
    started = time.perf_counter()
    e.embed(texts[:half])
    one_pass_rate = half / (time.perf_counter() - started)
    e.bulk_workers = workers
    started = time.perf_counter()
    bulk = e.embed(texts[:half])
    bulk_rate = half / (time.perf_counter() - started)
    singles = texts[half:]
    lock = threading.Lock()
    out: dict[str, np.ndarray] = {}

    def worker(k: int) -> None:
        for text in singles[k::64]:
            vec = e.embed([text])[0]
            with lock:
                out[text] = vec

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(64)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent_rate = len(singles) / (time.perf_counter() - started)
    sample = singles[: min(100, len(singles))]
    started = time.perf_counter()
    for text in sample:
        e.embed([text])
    sequential_rate = len(sample) / (time.perf_counter() - started)
    vectors = np.concatenate([bulk, np.stack([out[t] for t in singles])])
    short = [f"ping {i}" for i in range(100)]  # a few tokens: a query, or a request under review
    started = time.perf_counter()
    for text in short:
        e.embed([text])
    short_ms = (time.perf_counter() - started) / len(short) * 1000
    row = {"packed_layers": e.packed_layers, "short_text_ms": round(short_ms, 2), "bulk_texts_per_s": round(bulk_rate, 1), "bulk_workers": workers,
           "bulk_one_pass_at_a_time_texts_per_s": round(one_pass_rate, 1), "concurrent_single_texts_per_s": round(concurrent_rate, 1),
           "sequential_single_texts_per_s": round(sequential_rate, 1)}
    if reference is not None:
        cos = (vectors * reference).sum(1)
        row.update(min_cosine_to_float32=round(float(cos.min()), 6), mean_cosine_to_float32=round(float(cos.mean()), 6))
    return row, vectors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "embeddings.json")
    args = ap.parse_args()
    if not 64 <= args.texts <= 100_000:
        ap.error("--texts must be within 64..100000")
    import torch
    from genesis_agents.infrastructure.embeddings import resolve_dtype

    torch.set_num_threads(args.threads)
    texts = texts_for(args.texts)
    results: dict[str, dict[str, Any]] = {}
    reference = None
    bf16 = resolve_dtype("auto") == "bfloat16"
    for dtype in ["float32"] + (["bfloat16"] if bf16 else []):
        results[dtype], vectors = measure(dtype, texts, reference)
        reference = vectors if reference is None else reference
    if bf16:  # baseline for the packed weights: the same bf16 model with plain linear layers
        results["bfloat16_unpacked"], unpacked = measure("bfloat16", texts, reference, pack=False)
        results["bfloat16_unpacked"]["bit_identical_to_packed"] = bool(np.array_equal(unpacked, vectors))
        results["packed_speedup"] = {
            key: round(results["bfloat16"][key] / results["bfloat16_unpacked"][key], 2)
            for key in ("bulk_texts_per_s", "concurrent_single_texts_per_s", "sequential_single_texts_per_s")}
        results["packed_speedup"]["short_text"] = round(
            results["bfloat16_unpacked"]["short_text_ms"] / results["bfloat16"]["short_text_ms"], 2)
    report = {"benchmark": "embeddings", "texts": args.texts, "torch_threads": args.threads, "cpus": os.cpu_count(),
              "python": platform.python_version(), "auto_dtype": resolve_dtype("auto"), "results": results,
              "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
