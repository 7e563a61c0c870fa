"""The HTTP API for embedding apps, over real HTTP, plus schema-based fuzzing of its OpenAPI spec."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import EchoAgent, Host, ThreadedServer, make_genesis, running_host, serve


@pytest.fixture
async def host(data_dir: Path) -> AsyncIterator[Host]:
    async with running_host(data_dir) as h:
        yield h


async def _events(hc: httpx.AsyncClient, url: str, **params: Any) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    async with hc.stream("GET", url, params=params) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        kind = ""
        async for line in resp.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                out.append((kind, json.loads(line.split(":", 1)[1])))
    return out


async def test_submit_wait_get_and_list(host: Host) -> None:
    async with host.http() as hc:
        r = await hc.post(host.base + "/v1/tasks", json={"text": "hello api", "agent": "echo", "wait": True,
                                                         "params": {"k": 1}})
        assert r.status_code == 200, r.text
        run = r.json()
        assert run["status"] == "succeeded" and run["text"] == "echo: hello api" and run["agent"] == "echo"
        assert run["result"]["results"][0]["result"]["data"]["params"] == {"k": 1}
        assert run["result"]["results"][0]["result"]["safety"]["reviewer"]
        got = (await hc.get(f"{host.base}/v1/tasks/{run['run_id']}")).json()
        assert got["status"] == "succeeded" and got["events"] >= 5
        listed = (await hc.get(host.base + "/v1/tasks", params={"limit": 5})).json()
        assert listed["runs"][0]["run_id"] == run["run_id"] and listed["runs"][0]["result"] is None


async def test_event_stream_replay_and_resume(host: Host) -> None:
    async with host.http() as hc:
        r = await hc.post(host.base + "/v1/tasks", json={"text": "stream me", "agent": "echo"})
        assert r.status_code in (200, 202)
        run_id = r.json()["run_id"]
        events = await _events(hc, f"{host.base}/v1/tasks/{run_id}/events")
        kinds = [k for k, _ in events]
        assert kinds[0] == "planned" and kinds[-1] == "done"
        assert {"routed", "subtask_started", "progress", "subtask_finished", "reviewed"} <= set(kinds)
        assert [e["seq"] for _, e in events] == list(range(1, len(events) + 1))
        assert events[-1][1]["result"]["text"] == "echo: stream me"
        tail = await _events(hc, f"{host.base}/v1/tasks/{run_id}/events", after=3)
        assert [e["seq"] for _, e in tail] == list(range(4, len(events) + 1))
        hc.headers["Last-Event-ID"] = str(len(events) - 1)
        last = await _events(hc, f"{host.base}/v1/tasks/{run_id}/events")
        assert [k for k, _ in last] == ["done"]


async def test_cancel_over_http(host: Host) -> None:
    async with host.http() as hc:
        run_id = (await hc.post(host.base + "/v1/tasks", json={"text": "wait", "agent": "waiter"})).json()["run_id"]
        async with hc.stream("GET", f"{host.base}/v1/tasks/{run_id}/events") as resp:
            async for line in resp.aiter_lines():  # wait until the agent is really working
                if line.startswith("event:") and "progress" in line:
                    break
        cancelled = await hc.post(f"{host.base}/v1/tasks/{run_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = await hc.post(f"{host.base}/v1/tasks/{run_id}/cancel")
        assert again.json()["status"] == "cancelled"


async def test_artifacts_list_and_download(host: Host) -> None:
    async with host.http() as hc:
        run = (await hc.post(host.base + "/v1/tasks", json={"text": "plot", "agent": "chart", "wait": True})).json()
        listing = (await hc.get(f"{host.base}/v1/tasks/{run['run_id']}/artifacts")).json()
        [art] = listing["artifacts"]
        assert art["name"] == "chart.png" and art["media_type"] == "image/png" and art["agent"] == "chart"
        blob = await hc.get(art["url"])
        assert blob.status_code == 200 and blob.content.startswith(b"\x89PNG") and len(blob.content) == art["size_bytes"]
        missing = await hc.get(f"{host.base}/v1/tasks/{run['run_id']}/artifacts/5")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "index"


async def test_api_errors_name_the_field(host: Host) -> None:
    async with host.http() as hc:
        cases = [
            ({"text": "x", "agent": "nobody"}, 400, "agent"),
            ({"agent": "echo"}, 422, "text"),
            ({"text": "   "}, 422, "text"),
            ({"text": "x", "namespace": "secret-tenant"}, 403, "namespace"),
            ({"text": "x", "inputs": [{"uri": "file:///etc/passwd"}]}, 422, "inputs.0.uri"),
            ({"text": "x", "inputs": [{"name": "empty"}]}, 400, "inputs[0]"),
            ({"text": "x", "unknown_field": 1}, 422, "unknown_field"),
            ({"text": "y" * 25_000}, 400, "text"),
        ]
        for body, status, field in cases:
            r = await hc.post(host.base + "/v1/tasks", json=body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["error"]["field"] == field, (body, r.text)
        assert (await hc.get(host.base + "/v1/tasks/run_doesnotexist")).status_code == 404
        mine = (await hc.post(host.base + "/v1/tasks", json={"text": "x", "agent": "echo", "wait": True})).json()
    _, other = host.keys.create("other")
    async with host.http(other) as hc2:
        assert (await hc2.get(f"{host.base}/v1/tasks/{mine['run_id']}")).status_code == 404
        assert (await hc2.get(f"{host.base}/v1/tasks/{mine['run_id']}/events")).status_code == 404


async def test_agents_health_and_readiness(host: Host) -> None:
    async with host.http() as hc:
        agents = (await hc.get(host.base + "/v1/agents")).json()
    assert {a["card"]["name"] for a in agents["agents"]} == {"echo", "chart", "waiter"}
    assert all(a["remote"] is False for a in agents["agents"])
    assert agents["router_card_url"] == host.base + "/.well-known/agent-card.json"
    async with httpx.AsyncClient() as anon:  # public, no key
        assert (await anon.get(host.base + "/healthz")).json() == {"status": "ok"}
        ready = await anon.get(host.base + "/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"agents": "3 registered", "keys": "ok"}
        spec = (await anon.get(host.base + "/openapi.json")).json()
    assert {"/v1/tasks", "/v1/tasks/{run_id}/events", "/v1/agents", "/healthz"} <= set(spec["paths"])
    assert "/a2a" not in spec["paths"]


async def test_readiness_fails_without_agents(data_dir: Path) -> None:
    from genesis_agents.infrastructure.a2a.auth import KeyStore
    from genesis_agents.infrastructure.api import build_app

    g = make_genesis(data_dir, [])
    try:
        async with serve(build_app(g, keys=KeyStore(data_dir / "k.sqlite"))) as base, httpx.AsyncClient() as hc:
            r = await hc.get(base + "/readyz")
    finally:
        await g.aclose()
    assert r.status_code == 503 and r.json()["status"] == "not_ready"


def test_schemathesis_fuzzes_the_openapi_spec(tmp_path: Path) -> None:
    """Every operation, positive and negative data, bounded examples: no 5xx, responses match the schema."""
    import schemathesis
    from genesis_agents.infrastructure.a2a.auth import KeyStore
    from genesis_agents.infrastructure.a2a.settings import ServeSettings
    from genesis_agents.infrastructure.api import build_app
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    g = make_genesis(tmp_path, [EchoAgent()])
    keys = KeyStore(tmp_path / "keys.sqlite")
    _, token = keys.create("fuzzer", namespaces=["*"])
    app = build_app(g, settings=ServeSettings(rate_per_s=10_000, burst=10_000), keys=keys)
    calls = {"n": 0}
    with ThreadedServer(app) as srv:
        # 413 (body over the size limit) is a correct rejection of schema-violating data too
        config = schemathesis.config.SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
            "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]}}})
        schema = schemathesis.openapi.from_url(srv.base + "/openapi.json", config=config)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=80, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=schema.as_strategy(mode))
            def check(case: Any) -> None:
                calls["n"] += 1
                # random run ids are legitimately unknown (404), so "valid data must be accepted" does not apply
                case.call_and_validate(base_url=srv.base, headers={"Authorization": f"Bearer {token}"},
                                       excluded_checks=[positive_data_acceptance], timeout=30)

            check()
    g.close()
    assert calls["n"] >= 100
