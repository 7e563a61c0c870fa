"""Bounded load on loopback against `genesis serve`'s app with a no-op agent: throughput, p50/p99, errors.

    python benchmarks/a2a_load.py       # 200 clients; saturation runs, then 200 x 50 paced SendMessage
    python benchmarks/a2a_load.py --clients 50 --requests 20 --run-requests 5 --out /tmp/a2a.json
    python benchmarks/a2a_load.py --scenarios none --paced a2a_send,http_submit --rate 40

The server runs in a subprocess (uvicorn on 127.0.0.1); the clients (aiohttp) run here, on the same 2 cores.
Two kinds of load, both from ``--clients`` concurrent clients:

- closed loop (saturation): every client sends its next request as soon as the last one answered. This
  measures the most the host can serve; latency is then just clients / throughput (Little's law), so p99
  says how deep the queue is, not how fast a request is.
- paced (bounded): the clients together offer ``--rate`` requests/s, each client sending on a fixed
  schedule. Latency counts from the *scheduled* send time, so a server that falls behind is charged for
  the queueing it causes (no coordinated omission). This is the latency a caller sees at that load.

Scenarios, each measured in the same run:
  healthz     GET /healthz                                  baseline: HTTP stack + middleware only
  a2a_get     JSON-RPC GetTask of a finished task            A2A JSON-RPC + API key, no run
  a2a_send    JSON-RPC SendMessage to /a2a/agents/noop       A2A + API key + one full Genesis run
  http_submit POST /v1/tasks {"wait": true}                 HTTP API + API key + one full Genesis run
Only 127.0.0.1 is ever contacted. Results are printed and saved as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------------------------- server side


def serve(port: int, data_dir: str, token_file: str, safety: str) -> None:
    """Subprocess entry: a Genesis host with one no-op agent behind the real app."""
    import uvicorn
    from genesis_agents.infrastructure.a2a.auth import KeyStore
    from genesis_agents.infrastructure.a2a.settings import ServeSettings
    from genesis_agents.infrastructure.api import build_app
    from genesis_agents.infrastructure.config import load_settings

    from genesis_agents import Agent, AgentCard, AgentResult, Genesis, Skill

    class NoOp(Agent):
        card = AgentCard(name="noop", description="does nothing, instantly",
                         skills=[Skill(id="noop", description="return at once")], max_concurrency=1000)

        async def run(self, task: Any, ctx: Any) -> AgentResult:
            return AgentResult(text="ok")

    settings = load_settings(data_dir=Path(data_dir), memory_backend="inprocess", checkpointer="memory",
                             safety_reviewer=safety)
    genesis = Genesis(settings, agents=[NoOp()], load_plugins=False)
    stages = "default"
    keys = KeyStore(Path(data_dir) / "keys.sqlite")
    _, token = keys.create("bench", rate_per_s=1e9, burst=10**9)
    app = build_app(genesis, settings=ServeSettings(max_active_runs=256, max_kept_runs=2000), keys=keys)
    Path(token_file).write_text(json.dumps({"token": token, "stages": stages,
                                            "safety": type(genesis.safety).__name__,
                                            "router": type(genesis.router).__name__}))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --------------------------------------------------------------------------------------------- client side


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _scenario(name: str, base: str, token: str, clients: int, requests: int,
                    rate: float | None = None) -> dict[str, Any]:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    task_id = ""
    if name == "a2a_get":  # one finished task to read back
        async with aiohttp.ClientSession() as s, s.post(base + "/a2a/agents/noop", headers=headers, json={
                "jsonrpc": "2.0", "id": 0, "method": "SendMessage", "params": {"message": {
                    "role": "ROLE_USER", "messageId": "seed", "parts": [{"text": "seed"}]}}}) as r:
            task_id = (await r.json())["result"]["task"]["id"]
    latencies: list[float] = []
    errors: dict[str, int] = {}

    def request(session: aiohttp.ClientSession, i: int) -> Any:
        if name == "healthz":
            return session.get(base + "/healthz")
        if name == "a2a_get":
            return session.post(base + "/a2a/agents/noop", headers=headers,
                                json={"jsonrpc": "2.0", "id": i, "method": "GetTask", "params": {"id": task_id}})
        if name == "a2a_send":
            body = {"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {
                "role": "ROLE_USER", "messageId": f"m{i}", "parts": [{"text": f"ping {i}"}]}}}
            return session.post(base + "/a2a/agents/noop", json=body, headers={**headers, "A2A-Version": "1.0"})
        return session.post(base + "/v1/tasks", json={"text": f"ping {i}", "agent": "noop", "wait": True},
                            headers=headers)

    def ok(status: int, body: Any) -> str | None:
        if status != 200:
            return f"http_{status}"
        if name == "a2a_get" and body.get("result", {}).get("id") != task_id:
            return "wrong_task"
        if name == "a2a_send":
            if "error" in body:
                return f"rpc_{body['error'].get('code')}"
            if body["result"]["task"]["status"]["state"] != "TASK_STATE_COMPLETED":
                return body["result"]["task"]["status"]["state"]
        if name == "http_submit" and body.get("status") != "succeeded":
            return f"run_{body.get('status')}"
        return None

    interval = clients / rate if rate else 0.0  # seconds between one client's requests when paced

    async def client(session: aiohttp.ClientSession, cid: int) -> None:
        first = started + cid / rate if rate else 0.0  # clients' schedules interleave evenly
        for r in range(requests):
            if rate:
                t0 = first + r * interval
                delay = t0 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)  # waiting for this request's scheduled send time
            else:
                t0 = time.perf_counter()
            try:
                async with request(session, cid * requests + r) as resp:
                    body = await resp.json(content_type=None)
                    problem = ok(resp.status, body)
            except Exception as exc:  # noqa: BLE001 - counted, not raised
                problem = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            if problem:
                errors[problem] = errors.get(problem, 0) + 1

    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # warm-up (not measured): opens connections, compiles the graph
        await asyncio.gather(*(client_warm(session, request) for _ in range(min(clients, 20))))
        started = time.perf_counter()
        await asyncio.gather(*(client(session, c) for c in range(clients)))
        elapsed = time.perf_counter() - started
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {
        "scenario": name, "load": f"paced {rate:g}/s" if rate else "closed loop", "offered_rps": rate,
        "clients": clients, "requests_per_client": requests, "total": len(lat),
        "errors": sum(errors.values()), "error_kinds": errors, "seconds": round(elapsed, 3),
        "throughput_rps": round(len(lat) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 2), "p90_ms": round(q[89] * 1000, 2), "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(lat[-1] * 1000, 2),
    }


async def client_warm(session: Any, request: Any) -> None:
    async with request(session, -1) as resp:
        await resp.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--run-requests", type=int, default=10,
                    help="requests per client for the scenarios that run a Genesis task")
    ap.add_argument("--scenarios", default="healthz,a2a_get,a2a_send,http_submit",
                    help="closed-loop (saturation) scenarios, comma-separated, or 'none'")
    ap.add_argument("--paced", default="a2a_send",
                    help="scenarios also run paced at --rate with --requests per client, or 'none'")
    ap.add_argument("--rate", type=float, default=25.0, help="offered requests/s of the paced runs, all clients")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "a2a_load.json")
    ap.add_argument("--safety", choices=["waltzrl", "passthrough"], default="waltzrl",
                    help="safety reviewer of the served host (waltzrl is the product default)")
    ap.add_argument("--serve", nargs=4, metavar=("PORT", "DATA_DIR", "TOKEN_FILE", "SAFETY"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2], args.serve[3])
        return 0
    if not (1 <= args.clients <= 1000 and 1 <= args.requests <= 1000 and 1 <= args.run_requests <= 1000):
        ap.error("--clients and --requests must be within 1..1000 (the load is bounded on purpose)")
    if not 0.1 <= args.rate <= 10_000:
        ap.error("--rate must be within 0.1..10000 requests/s")
    known = {"healthz", "a2a_get", "a2a_send", "http_submit"}
    closed = [] if args.scenarios == "none" else args.scenarios.split(",")
    paced = [] if args.paced == "none" else args.paced.split(",")
    if set(closed + paced) - known:
        ap.error(f"unknown scenario(s) {sorted(set(closed + paced) - known)}; known: {sorted(known)}")
    port = _free_port()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token.json"
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), tmp, str(token_file), args.safety],
                                env={**os.environ, "GENESIS_CONFIG": str(Path(tmp) / "none.toml")})
        try:
            deadline = time.monotonic() + 180
            while not token_file.exists() or not _up(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    print("server failed to start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            info = json.loads(token_file.read_text())
            _warm_up(port, info["token"])  # first run loads the safety models: not measured
            base = f"http://127.0.0.1:{port}"
            results = [asyncio.run(_scenario(
                s, base, info["token"], args.clients,
                args.run_requests if s in {"a2a_send", "http_submit"} else args.requests)) for s in closed]
            results += [asyncio.run(_scenario(s, base, info["token"], args.clients, args.requests, rate=args.rate))
                        for s in paced]
        finally:
            proc.terminate()
            proc.wait(30)
    report = {
        "benchmark": "a2a_load", "host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "server": {"stages": info["stages"], "safety": info["safety"], "router": info["router"],
                   "memory": "inprocess", "checkpointer": "memory"},
        "command": " ".join([Path(sys.executable).name, "benchmarks/a2a_load.py", *sys.argv[1:]]),
        "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "note": "client and server share this machine; other processes' load is in loadavg",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"{'scenario':<12} {'load':<14} {'total':>6} {'errors':>6} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}")
    for r in results:
        print(f"{r['scenario']:<12} {r['load']:<14} {r['total']:>6} {r['errors']:>6} {r['throughput_rps']:>8} "
              f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8}")
    print(f"saved {args.out}")
    return 0


def _warm_up(port: int, token: str) -> None:
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/tasks", method="POST",
                                 data=json.dumps({"text": "warm up", "agent": "noop", "wait": True,
                                                  "wait_timeout_s": 300}).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=310) as r:  # loopback only
        assert json.loads(r.read())["status"] == "succeeded"


def _up(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:  # loopback only
            return r.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
