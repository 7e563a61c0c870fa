"""Our A2A server driven by the official a2a-sdk client (and raw JSON-RPC) over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.types import a2a_pb2 as pb
from a2a.utils.errors import TaskNotFoundError
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct

from .conftest import Host, running_host


@pytest.fixture
async def host(data_dir: Path) -> AsyncIterator[Host]:
    async with running_host(data_dir) as h:
        yield h


def user_message(text: str, *, metadata: dict[str, Any] | None = None, parts: list[pb.Part] | None = None) -> pb.Message:
    meta = Struct()
    meta.update(metadata or {})
    return pb.Message(role=pb.ROLE_USER, message_id=f"m-{abs(hash(text)) % 10**8}",
                      parts=parts if parts is not None else [pb.Part(text=text)], metadata=meta)


async def client_for(hc: httpx.AsyncClient, url: str, **config: Any) -> Any:
    return await ClientFactory(ClientConfig(httpx_client=hc, **config)).create_from_url(url)


# --------------------------------------------------------------------------------------------- cards


async def test_cards_router_union_and_per_agent(host: Host) -> None:
    async with httpx.AsyncClient() as hc:  # cards are public
        router = (await hc.get(host.base + "/.well-known/agent-card.json")).json()
        echo = (await hc.get(host.base + "/a2a/agents/echo/.well-known/agent-card.json")).json()
        missing = await hc.get(host.base + "/a2a/agents/nope/.well-known/agent-card.json")
    assert router["name"] == "genesis"
    assert {s["id"] for s in router["skills"]} == {"echo.echo", "chart.chart", "waiter.wait"}
    assert router["supportedInterfaces"][0]["url"] == host.base + "/a2a"
    assert set(router["securitySchemes"]) == {"bearer", "apiKey"}
    assert echo["supportedInterfaces"][0]["url"] == host.base + "/a2a/agents/echo"
    assert parse_agent_card(echo).skills[0].id == "echo"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_agent"


# --------------------------------------------------------------------------------------------- official client


async def test_streaming_send_with_the_official_client(host: Host) -> None:
    async with host.http() as hc:
        client = await client_for(hc, host.base + "/a2a/agents/echo")
        events = [e async for e in client.send_message(pb.SendMessageRequest(message=user_message("hi there")))]
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task" and kinds[-1] == "status_update"
    texts = [e.status_update.status.message.parts[0].text for e in events if e.HasField("status_update")]
    assert "echoing" in texts  # the agent's ctx.emit progress, streamed live
    assert any(t.startswith("accepted as Genesis run") for t in texts)
    assert any(t == "safety review of s1: passed" or t.startswith("safety review of") for t in texts)
    final = events[-1].status_update.status
    assert final.state == pb.TASK_STATE_COMPLETED and final.message.parts[0].text == "echo: hi there"
    [art] = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert art.name == "result" and art.parts[0].text == "echo: hi there"
    data = MessageToDict(art.parts[1].data)
    assert data["status"] == "succeeded" and data["subtasks"][0]["agent"] == "echo"
    assert data["subtasks"][0]["safety"]["reviewer"]  # every answer carries the safety verdict


async def test_blocking_send_get_list_and_owner_isolation(host: Host) -> None:
    async with host.http() as hc:
        client = await client_for(hc, host.base + "/a2a/agents/chart", streaming=False)
        [resp] = [e async for e in client.send_message(pb.SendMessageRequest(message=user_message("draw")))]
        task = resp.task
        assert task.status.state == pb.TASK_STATE_COMPLETED
        files = [p for a in task.artifacts for p in a.parts if p.WhichOneof("content") == "raw"]
        assert files and files[0].raw.startswith(b"\x89PNG") and files[0].media_type == "image/png"
        got = await client.get_task(pb.GetTaskRequest(id=task.id))
        assert got.id == task.id and got.status.state == pb.TASK_STATE_COMPLETED
        listed = await client.list_tasks(pb.ListTasksRequest())
        assert task.id in {t.id for t in listed.tasks}
    _, other = host.keys.create("someone-else")
    async with host.http(other) as hc2:
        client2 = await client_for(hc2, host.base + "/a2a/agents/chart")
        with pytest.raises(TaskNotFoundError):
            await client2.get_task(pb.GetTaskRequest(id=task.id))
        assert task.id not in {t.id for t in (await client2.list_tasks(pb.ListTasksRequest())).tasks}


async def test_cancel_and_resubscribe(host: Host) -> None:
    async with host.http() as hc:
        client = await client_for(hc, host.base + "/a2a/agents/waiter", polling=True, streaming=False)
        [first] = [e async for e in client.send_message(pb.SendMessageRequest(message=user_message("wait")))]
        task_id = first.task.id
        assert first.task.status.state in {pb.TASK_STATE_SUBMITTED, pb.TASK_STATE_WORKING}
        streaming = await client_for(hc, host.base + "/a2a/agents/waiter")
        resub = streaming.subscribe(pb.SubscribeToTaskRequest(id=task_id))
        snapshot = await anext(resub)
        assert snapshot.task.id == task_id
        cancelled = await client.cancel_task(pb.CancelTaskRequest(id=task_id))
        assert cancelled.status.state == pb.TASK_STATE_CANCELED
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                async for _ in resub:
                    pass
        final = await client.get_task(pb.GetTaskRequest(id=task_id))
    assert final.status.state == pb.TASK_STATE_CANCELED
    hub = host.app.state.hub
    [handle] = [h for h in hub._runs.values() if h.task.agent == "waiter"]
    await hub.wait(handle, 10)
    assert handle.status == "cancelled"  # the Genesis run itself stopped


async def test_v03_client_speaks_to_the_same_endpoint(host: Host) -> None:
    async with host.http() as hc:
        raw = (await hc.get(host.base + "/a2a/agents/echo/.well-known/agent-card.json")).json()
        card = parse_agent_card(raw)
        legacy = [i for i in card.supported_interfaces if i.protocol_version == "0.3"]
        del card.supported_interfaces[:]
        card.supported_interfaces.extend(legacy)
        client = ClientFactory(ClientConfig(httpx_client=hc)).create(card)
        assert type(client._transport).__name__ == "CompatJsonRpcTransport"
        events = [e async for e in client.send_message(pb.SendMessageRequest(message=user_message("old peer")))]
        final = events[-1]
        state = final.status_update.status.state if final.HasField("status_update") else final.task.status.state
        assert state == pb.TASK_STATE_COMPLETED
        task_id = final.status_update.task_id or final.task.id
        got = await client.get_task(pb.GetTaskRequest(id=task_id))
        assert got.status.state == pb.TASK_STATE_COMPLETED
        assert any(p.text == "echo: old peer" for a in got.artifacts for p in a.parts)


async def test_router_endpoint_routes_by_task_type(host: Host) -> None:
    async with host.http() as hc:
        client = await client_for(hc, host.base, streaming=False)
        msg = user_message("please repeat this", metadata={"task_type": "echo"})
        [resp] = [e async for e in client.send_message(pb.SendMessageRequest(message=msg))]
    assert resp.task.status.state == pb.TASK_STATE_COMPLETED
    assert resp.task.status.message.parts[0].text.lower().startswith("echo: ")  # the planner may reword the step
    data = MessageToDict(next(p.data for a in resp.task.artifacts for p in a.parts if p.HasField("data")))
    assert [s["agent"] for s in data["subtasks"]] == ["echo"]


# --------------------------------------------------------------------------------------------- raw JSON-RPC


async def _rpc(host: Host, body: Any, *, headers: dict[str, str] | None = None, path: str = "/a2a/agents/echo",
               raw: bytes | None = None) -> httpx.Response:
    async with host.http() as hc:
        content = raw if raw is not None else json.dumps(body).encode()
        return await hc.post(host.base + path, content=content,
                             headers={"content-type": "application/json", **(headers or {})})


def _send_params(text: str, **meta: Any) -> dict[str, Any]:
    return {"message": {"role": "ROLE_USER", "messageId": "x1", "parts": [{"text": text}], "metadata": meta}}


@pytest.mark.parametrize("raw, code", [
    (b"{not json", -32700),
    (b'{"jsonrpc": "2.0", "id": 1}', -32600),
    (b'[{"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}]', -32600),
    (b'{"jsonrpc": "1.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}', -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "tasks/doSomethingEvil", "params": {}}', -32601),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "__import__", "params": {}}', -32601),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": "text"}}', -32602),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "no-such-task"}}', -32001),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "no-such-task"}}', -32001),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "CancelTask", "params": {"id": "no-such-task"}}', -32001),
    ((b'{"jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig",'
      b' "params": {"taskId": "t", "url": "http://evil.example/"}}'), -32003),
])
async def test_malformed_json_rpc_gets_proper_error_codes(host: Host, raw: bytes, code: int) -> None:
    resp = await _rpc(host, None, raw=raw)
    assert resp.status_code == 200
    assert resp.json()["error"]["code"] == code, resp.json()


async def test_v1_method_without_version_header_and_tasks_list_alias(host: Host) -> None:
    sent = await _rpc(host, {"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": _send_params("plain")})
    body = sent.json()
    assert body["id"] == 7 and body["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", body
    task_id = body["result"]["task"]["id"]
    v03 = await _rpc(host, {"jsonrpc": "2.0", "id": 8, "method": "tasks/get", "params": {"id": task_id}},
                     headers={"A2A-Version": "1.0"})  # contradicting header: the method name wins
    assert v03.json()["result"]["status"]["state"] == "completed"
    listed = await _rpc(host, {"jsonrpc": "2.0", "id": 9, "method": "tasks/list", "params": {}})
    assert task_id in {t["id"] for t in listed.json()["result"]["tasks"]}
    future = await _rpc(host, {"jsonrpc": "2.0", "id": 10, "method": "GetTask", "params": {"id": task_id}},
                        headers={"A2A-Version": "7.0"})
    assert future.json()["error"]["code"] == -32009  # version not supported, refused by the SDK


async def test_bad_messages_are_rejected_with_the_reason(host: Host) -> None:
    no_text = {"message": {"role": "ROLE_USER", "messageId": "d", "parts": [{"data": {"a": 1}}]}}
    resp = await _rpc(host, {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": no_text})
    status = resp.json()["result"]["task"]["status"]
    assert status["state"] == "TASK_STATE_REJECTED" and "no text part" in status["message"]["parts"][0]["text"]
    wrong_ns = await _rpc(host, {"jsonrpc": "2.0", "id": 2, "method": "SendMessage",
                                 "params": _send_params("x", namespace="other-tenant")})
    status = wrong_ns.json()["result"]["task"]["status"]
    assert status["state"] == "TASK_STATE_REJECTED" and "may not use namespace 'other-tenant'" in (
        status["message"]["parts"][0]["text"])
    ok_ns = await _rpc(host, {"jsonrpc": "2.0", "id": 3, "method": "SendMessage",
                              "params": _send_params("x", namespace="acme")})
    assert ok_ns.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    too_long = await _rpc(host, {"jsonrpc": "2.0", "id": 4, "method": "SendMessage",
                                 "params": _send_params("y" * 30_000)})
    status = too_long.json()["result"]["task"]["status"]
    assert status["state"] == "TASK_STATE_REJECTED" and "GENESIS_MAX_TASK_CHARS" in json.dumps(status)
    unknown = await _rpc(host, {"jsonrpc": "2.0", "id": 5, "method": "SendMessage", "params": _send_params("x")},
                         path="/a2a/agents/ghost")
    assert unknown.status_code == 404


# --------------------------------------------------------------------------------------------- auth & limits


async def test_missing_invalid_and_revoked_keys_look_the_same(host: Host) -> None:
    rec, revoked = host.keys.create("to-revoke")
    host.keys.revoke(rec.key_id)
    body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
    answers = []
    for headers in [{}, {"Authorization": "Bearer gsk_000000000000_wrong"}, {"Authorization": f"Bearer {revoked}"},
                    {"X-API-Key": "garbage"}, {"Authorization": "Basic dXNlcjpwYXNz"}]:
        async with httpx.AsyncClient() as hc:
            for path in ["/a2a/agents/echo", "/a2a"]:
                r = await hc.post(host.base + path, json=body, headers=headers)
                answers.append((r.status_code, r.text, r.headers.get("www-authenticate")))
            r = await hc.get(host.base + "/v1/tasks", headers=headers)
            answers.append((r.status_code, r.text, r.headers.get("www-authenticate")))
    assert len(set(answers)) == 1
    assert answers[0][0] == 401
    async with httpx.AsyncClient() as hc:
        ok = await hc.get(host.base + "/v1/tasks", headers={"X-API-Key": host.token})
    assert ok.status_code == 200


async def test_oversize_payloads_are_refused(host: Host) -> None:
    huge = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": _send_params("z" * 2_000_000)}
    resp = await _rpc(host, huge)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "limit_exceeded"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the middleware counts while reading
        for _ in range(2):
            yield b"x" * 700_000

    async with host.http() as hc:
        streamed = await hc.post(host.base + "/v1/tasks", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


async def test_rate_limit_per_key(host: Host) -> None:
    _, slow = host.keys.create("slow", rate_per_s=0.01, burst=2)
    async with host.http(slow) as hc:
        codes = [(await hc.get(host.base + "/v1/tasks")).status_code for _ in range(3)]
        limited = await hc.get(host.base + "/v1/tasks")
    async with host.http() as hc:
        other = await hc.get(host.base + "/v1/tasks")
    assert codes == [200, 200, 429]
    assert int(limited.headers["retry-after"]) >= 1 and limited.json()["error"]["code"] == "rate_limited"
    assert other.status_code == 200  # another key is not affected


async def test_cors_is_off_by_default_and_can_be_enabled(data_dir: Path) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    async with running_host(data_dir) as h, httpx.AsyncClient() as hc:
        r = await hc.options(h.base + "/v1/tasks", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    async with running_host(data_dir / "b", cors_origins=["https://app.example"]) as h, httpx.AsyncClient() as hc:
        r = await hc.options(h.base + "/v1/tasks", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://app.example"


async def test_finished_tasks_are_bounded(data_dir: Path) -> None:
    async with running_host(data_dir, max_kept_runs=2) as h:
        ids = []
        for i in range(3):
            sent = await _rpc(h, {"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": _send_params(f"n{i}")})
            ids.append(sent.json()["result"]["task"]["id"])
        first = await _rpc(h, {"jsonrpc": "2.0", "id": 9, "method": "GetTask", "params": {"id": ids[0]}})
        last = await _rpc(h, {"jsonrpc": "2.0", "id": 9, "method": "GetTask", "params": {"id": ids[2]}})
    assert first.json()["error"]["code"] == -32001
    assert last.json()["result"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_message_parts_become_task_inputs(host: Host) -> None:
    import base64

    csv = b"month,churn\njan,0.1\n"
    parts = [
        {"text": "look at these"},
        {"data": {"threshold": 0.5}},
        {"raw": base64.b64encode(csv).decode(), "filename": "../../etc/shop.csv", "mediaType": "text/csv"},
        {"url": "https://data.example.org/sales.parquet", "filename": "sales.parquet"},
        {"data": [1, 2, 3], "filename": "series"},
    ]
    params = {"message": {"role": "ROLE_USER", "messageId": "p1", "parts": parts, "metadata": {"namespace": "acme"}}}
    resp = await _rpc(host, {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params})
    task = resp.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED", task["status"]
    data = next(p["data"] for a in task["artifacts"] for p in a["parts"] if "data" in p)
    echoed = data["subtasks"][0]["data"]
    assert echoed["params"] == {"threshold": 0.5} and echoed["namespace"] == "acme"
    by_name = {i["name"]: i for i in echoed["inputs"]}
    assert by_name["shop.csv"]["file_bytes"] == len(csv)  # stored under the data dir, path parts dropped
    assert by_name["sales.parquet"]["uri"] == "https://data.example.org/sales.parquet"
    assert by_name["series"]["data"] == [1, 2, 3]
    uploads = Path(host.genesis.settings.data_dir) / "a2a" / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())  # removed once the run has answered
    local = dict(params)
    local["message"] = {**params["message"], "parts": [{"text": "x"}, {"url": "file:///etc/passwd"}]}
    bad = await _rpc(host, {"jsonrpc": "2.0", "id": 2, "method": "SendMessage", "params": local})
    status = bad.json()["result"]["task"]["status"]
    assert status["state"] == "TASK_STATE_REJECTED" and "only http(s) URLs" in status["message"]["parts"][0]["text"]


async def test_stale_uploads_of_a_crashed_server_are_swept_at_start(data_dir: Path) -> None:
    import os
    import time

    uploads = data_dir / "a2a" / "uploads"
    old, fresh = uploads / "task-old", uploads / "task-fresh"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "in.csv").write_text("a,b\n")
    os.utime(old, (time.time() - 2 * 86_400, time.time() - 2 * 86_400))
    async with running_host(data_dir):
        assert not old.exists() and fresh.exists()
