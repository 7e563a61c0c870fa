"""``RemoteAgent``: a Genesis agent that is a proxy for an A2A peer.

The router routes to it and other agents ``delegate()`` to it exactly as to a local agent: its card is the
peer's card mapped onto a Genesis card (``url`` set, tag ``remote``), and its result goes through the same
safety review as any local result (the runtime reviews every ``AgentResult``). What is specific to remote
peers lives here: timeouts, retries with back-off (only before the peer has accepted the task, so a task
is never run twice), a circuit breaker, streaming passthrough (peer status messages become ``ctx.emit``
progress events) and cancellation forwarding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from a2a.client import A2AClientError, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.types import a2a_pb2 as pb
from a2a.utils.errors import A2AError
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.struct_pb2 import Struct, Value

from ..contracts import Agent, AgentCard, AgentContext, AgentResult, Artifact, Task, slugify
from ..errors import AgentFailedError, BadInputError, CancelledError, InvalidCardError, TaskTimeoutError
from ..loops import LoopLocal
from .breaker import CircuitBreaker
from .cards import API_KEY_HEADER, CARD_PARSE_ERRORS, a2a_endpoint, from_a2a_card
from .settings import RemoteSettings

log = logging.getLogger(__name__)

_TERMINAL = {pb.TASK_STATE_COMPLETED, pb.TASK_STATE_FAILED, pb.TASK_STATE_CANCELED, pb.TASK_STATE_REJECTED}
_NEEDS_INPUT = {pb.TASK_STATE_INPUT_REQUIRED, pb.TASK_STATE_AUTH_REQUIRED}
_RETRYABLE_HTTP = {429, 502, 503, 504}
_CARD_PATH = "/.well-known/agent-card.json"


def _auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", API_KEY_HEADER: api_key} if api_key else {}


async def fetch_card(
    url: str, *, api_key: str | None = None, timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[pb.AgentCard, dict[str, Any]]:
    """Fetch and parse ``URL/.well-known/agent-card.json``. Returns the parsed card and the raw JSON.

    Errors say what went wrong with which URL: ``BackendUnavailableError`` semantics are not used because the
    caller is adding an agent, so a bad URL is bad input (``InvalidCardError``) or a failed peer.
    """
    base = url.rstrip("/")
    card_url = base if base.endswith(".json") else base + _CARD_PATH
    try:
        async with httpx.AsyncClient(timeout=timeout_s, headers=_auth_headers(api_key), transport=transport) as hc:
            resp = await hc.get(card_url)
    except httpx.HTTPError as exc:
        raise AgentFailedError(slugify(base, 64), f"cannot fetch agent card from {card_url}: {exc!r}",
                               url=card_url) from None
    if resp.status_code != 200:
        raise InvalidCardError(f"agent card request returned HTTP {resp.status_code}", field="url",
                               hint=f"is {card_url} an A2A agent?")
    try:
        raw = resp.json()
    except ValueError:
        raise InvalidCardError("agent card is not JSON", field="url", hint=f"fetched from {card_url}") from None
    if not isinstance(raw, dict):
        raise InvalidCardError("agent card must be a JSON object", field="card", hint=f"fetched from {card_url}")
    try:
        parsed = parse_agent_card(dict(raw))
    except CARD_PARSE_ERRORS as exc:
        raise InvalidCardError(f"not an A2A agent card: {exc}", field="card", hint=f"fetched from {card_url}") from None
    if not parsed.name:
        raise InvalidCardError("agent card has no name", field="name", hint=f"fetched from {card_url}")
    if a2a_endpoint(parsed) is None:
        raise InvalidCardError("agent card advertises no JSONRPC interface", field="supportedInterfaces",
                               hint=f"fetched from {card_url}")
    return parsed, raw


@dataclass
class _Outcome:
    """What a remote task produced so far (accumulated from stream events)."""

    remote_task_id: str | None = None
    state: int = pb.TASK_STATE_UNSPECIFIED
    status_text: str = ""
    message_text: str = ""
    artifacts: dict[str, pb.Artifact] = field(default_factory=dict)
    accepted: bool = False
    id_known: asyncio.Event = field(default_factory=asyncio.Event)
    pending: asyncio.Task[None] | None = None  # stream still open while a cancel waits for the task id


class RemoteAgent(Agent):
    """Proxy for an A2A peer. Build with ``await RemoteAgent.from_url(url)`` or from a stored card."""

    card: AgentCard  # type: ignore[misc]  # an instance attribute here: each proxy has its peer's card

    def __init__(
        self,
        a2a_card: pb.AgentCard,
        *,
        url: str,
        name: str | None = None,
        api_key: str | None = None,
        settings: RemoteSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.a2a_card = a2a_card
        self.url = url.rstrip("/")
        self.card = from_a2a_card(a2a_card, url=self.url, name=name)
        self.settings = settings or RemoteSettings()
        self.breaker = CircuitBreaker(self.settings.breaker_failures, self.settings.breaker_reset_s)
        self._api_key = api_key
        self._transport = transport  # tests may pass an ASGI transport; None = real network
        self._clients: LoopLocal[httpx.AsyncClient] = LoopLocal()

    # ----------------------------------------------------------------------------------- construction

    @classmethod
    async def from_url(
        cls,
        url: str,
        *,
        name: str | None = None,
        api_key: str | None = None,
        settings: RemoteSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> RemoteAgent:
        settings = settings or RemoteSettings()
        parsed, _raw = await fetch_card(url, api_key=api_key, timeout_s=settings.connect_timeout_s * 2,
                                        transport=transport)
        return cls(parsed, url=url, name=name, api_key=api_key, settings=settings, transport=transport)

    @classmethod
    def from_card_json(cls, data: dict[str, Any], *, url: str, **kw: Any) -> RemoteAgent:
        """Rebuild a proxy from a card stored at ``add-remote`` time (no network needed at start-up)."""
        try:
            parsed = parse_agent_card(dict(data))
        except CARD_PARSE_ERRORS as exc:
            raise InvalidCardError(f"stored agent card is invalid: {exc}", field="card", hint=url) from None
        return cls(parsed, url=url, **kw)

    def card_json(self) -> dict[str, Any]:
        return MessageToDict(self.a2a_card)

    # ----------------------------------------------------------------------------------- http client

    def _http(self) -> httpx.AsyncClient:
        """One pooled client per event loop (httpx clients are bound to the loop that first used them)."""
        client = self._clients.current()
        if client is None or client.is_closed:
            s = self.settings
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(s.read_timeout_s, connect=s.connect_timeout_s),
                headers=_auth_headers(self._api_key),
                transport=self._transport,
                limits=httpx.Limits(max_connections=max(4, self.card.max_concurrency * 2)),
            )
            self._clients.set(client)
        return client

    def _client(self):  # type: ignore[no-untyped-def]
        factory = ClientFactory(ClientConfig(httpx_client=self._http(), streaming=True))
        return factory.create(self.a2a_card)

    async def aclose(self) -> None:
        for c in self._clients.pop_all():
            with contextlib.suppress(Exception):
                await c.aclose()

    # ----------------------------------------------------------------------------------- run

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        if not self.breaker.allow():
            raise AgentFailedError(
                self.name,
                f"circuit open after {self.breaker.failures} consecutive failures; "
                f"retry in {self.breaker.retry_after():.0f}s",
                url=self.url,
            )
        deadline = task.timeout_s or self.settings.timeout_s
        outcome = _Outcome()
        request = pb.SendMessageRequest(message=_message_for(task, self.settings.max_artifact_bytes))
        try:
            async with asyncio.timeout(deadline):
                await self._run_with_retries(request, ctx, outcome)
        except TimeoutError:
            self.breaker.record_failure()
            await self._cancel_remote(outcome)
            raise TaskTimeoutError(f"remote agent {self.name!r} did not finish within {deadline:g}s",
                                   field="timeout_s", agent=self.name, url=self.url) from None
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel_remote(outcome))
            raise
        except CancelledError:
            await self._cancel_remote(outcome)
            raise
        except AgentFailedError:
            raise
        self.breaker.record_success()
        return self._result(outcome, ctx)

    async def _run_with_retries(self, request: pb.SendMessageRequest, ctx: AgentContext, outcome: _Outcome) -> None:
        s = self.settings
        attempt = 0
        while True:
            try:
                await self._stream_once(request, ctx, outcome)
                return
            except _RemoteTaskError as exc:  # the peer answered: its verdict, not a transport failure
                self.breaker.record_success()
                raise AgentFailedError(self.name, str(exc), url=self.url, remote_task_id=outcome.remote_task_id,
                                       remote_state=pb.TaskState.Name(outcome.state)) from None
            except (A2AError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:  # transport or garbage
                retryable = not outcome.accepted and _retryable(exc)
                if not retryable or attempt >= s.retries:
                    self.breaker.record_failure()
                    raise AgentFailedError(self.name, f"remote peer at {self.url} failed: {_describe(exc)}",
                                           url=self.url, attempts=attempt + 1) from None
                delay = min(s.backoff_max_s, s.backoff_s * (2**attempt)) * (0.5 + random.random() / 2)
                attempt += 1
                ctx.emit(f"remote peer unavailable ({_describe(exc)}); retry {attempt}/{s.retries} in {delay:.2f}s",
                         remote=self.url)
                await asyncio.sleep(delay)

    async def _stream_once(self, request: pb.SendMessageRequest, ctx: AgentContext, outcome: _Outcome) -> None:
        client = self._client()
        cancel_watch = asyncio.create_task(_wait_cancelled(ctx))
        consumer = asyncio.create_task(self._consume(client.send_message(request), ctx, outcome))
        try:
            done, _ = await asyncio.wait({consumer, cancel_watch}, return_when=asyncio.FIRST_COMPLETED)
            if consumer in done:
                consumer.result()
            else:
                raise CancelledError("run was cancelled", agent=self.name)
        finally:
            cancel_watch.cancel()
            if not consumer.done():
                if outcome.remote_task_id is None and outcome.state not in _TERMINAL:
                    outcome.pending = consumer  # _cancel_remote needs the task id this stream will bring
                else:
                    consumer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await consumer
        # Non-streaming peers may answer with a task that is still working: poll until it ends.
        while outcome.state not in _TERMINAL and not outcome.message_text and outcome.remote_task_id:
            if outcome.state in _NEEDS_INPUT:
                break
            ctx.check_cancelled()
            await asyncio.sleep(0.2)
            got = await client.get_task(pb.GetTaskRequest(id=outcome.remote_task_id))
            _absorb_task(got, outcome)
        _check_final(outcome)

    async def _consume(self, stream: AsyncIterator[pb.StreamResponse], ctx: AgentContext, outcome: _Outcome) -> None:
        async for event in stream:
            outcome.accepted = True
            kind = event.WhichOneof("payload")
            if kind == "task":
                _absorb_task(event.task, outcome)
            elif kind == "message":
                outcome.message_text = _text_of(event.message.parts)
                return
            elif kind == "status_update":
                upd = event.status_update
                outcome.remote_task_id = outcome.remote_task_id or upd.task_id
                outcome.state = upd.status.state
                text = _text_of(upd.status.message.parts) if upd.status.HasField("message") else ""
                if text:
                    outcome.status_text = text
                if upd.status.state == pb.TASK_STATE_WORKING and text:
                    meta = MessageToDict(upd.metadata) if upd.HasField("metadata") else {}
                    progress = meta.get("progress")
                    ctx.emit(text, progress=float(progress) if isinstance(progress, (int, float)) and
                             0 <= progress <= 1 else None, remote=self.url, remote_task_id=upd.task_id)
            elif kind == "artifact_update":
                upd = event.artifact_update
                outcome.remote_task_id = outcome.remote_task_id or upd.task_id
                art = upd.artifact
                prev = outcome.artifacts.get(art.artifact_id)
                if prev is not None and upd.append:
                    prev.parts.extend(art.parts)
                else:
                    outcome.artifacts[art.artifact_id or uuid.uuid4().hex] = art
            if outcome.remote_task_id:
                outcome.id_known.set()
            if outcome.state in _TERMINAL or outcome.state in _NEEDS_INPUT:
                return

    async def _cancel_remote(self, outcome: _Outcome) -> None:
        """Best effort: tell the peer to stop a task we no longer want (never raises).

        A cancel can arrive before the peer's first event told us its task id; the stream is then kept open
        a little longer (``connect_timeout_s``) to learn the id, because A2A has no other way to name it.
        """
        pending, outcome.pending = outcome.pending, None
        try:
            if outcome.state in _TERMINAL:
                return
            async with asyncio.timeout(self.settings.connect_timeout_s):
                if not outcome.remote_task_id and pending is not None and not pending.done():
                    await outcome.id_known.wait()
                if outcome.remote_task_id:
                    await self._client().cancel_task(pb.CancelTaskRequest(id=outcome.remote_task_id))
        except Exception as exc:  # noqa: BLE001 - the caller is already failing or cancelling
            log.info("could not cancel remote task %s at %s: %r", outcome.remote_task_id, self.url, exc)
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending

    # ----------------------------------------------------------------------------------- result

    def _result(self, outcome: _Outcome, ctx: AgentContext) -> AgentResult:
        artifacts: list[Artifact] = []
        data: dict[str, Any] = {}
        texts: list[str] = []
        for art_id, art in outcome.artifacts.items():
            for i, part in enumerate(art.parts):
                content = part.WhichOneof("content")
                if content == "text":
                    texts.append(part.text)
                elif content == "data":
                    value = MessageToDict(part.data)
                    if isinstance(value, dict):
                        data.update(value)
                    else:
                        data[art.name or art_id] = value
                elif content == "raw":
                    artifacts.append(self._save_raw(part, art, i, ctx))
                elif content == "url":
                    artifacts.append(Artifact(
                        name=part.filename or art.name or Path(part.url).name or art_id,
                        path=part.url,
                        media_type=part.media_type or mimetypes.guess_type(part.url)[0] or "application/octet-stream",
                        description=art.description,
                        metadata={"remote_url": part.url, "remote": True},
                    ))
        text = outcome.message_text or outcome.status_text or "\n".join(t for t in texts if t)
        data["remote"] = {"url": self.url, "task_id": outcome.remote_task_id,
                          "state": pb.TaskState.Name(outcome.state) if outcome.state else None}
        return AgentResult(status="ok", text=text, data=data, artifacts=artifacts, agent=self.name,
                           metadata={"remote": True, "remote_url": self.url})

    def _save_raw(self, part: pb.Part, art: pb.Artifact, index: int, ctx: AgentContext) -> Artifact:
        if len(part.raw) > self.settings.max_artifact_bytes:
            raise AgentFailedError(self.name, f"artifact {art.name!r} is {len(part.raw)} bytes, over the "
                                   f"{self.settings.max_artifact_bytes}-byte limit", url=self.url)
        fname = Path(part.filename or art.name or f"artifact-{index}").name
        if not Path(fname).suffix and part.media_type:
            fname += mimetypes.guess_extension(part.media_type) or ""
        target = ctx.artifact_dir / (slugify(Path(fname).stem, 60) + Path(fname).suffix.lower()[:10])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(part.raw)
        return Artifact.from_path(target, description=art.description, remote_url=self.url)


class _RemoteTaskError(Exception):
    """The peer ran the task and reported failure/rejection/cancellation."""


def _check_final(outcome: _Outcome) -> None:
    if outcome.message_text:
        return
    if outcome.state == pb.TASK_STATE_COMPLETED:
        return
    name = pb.TaskState.Name(outcome.state) if outcome.state else "no final state"
    detail = f": {outcome.status_text}" if outcome.status_text else ""
    if outcome.state == pb.TASK_STATE_CANCELED:
        raise _RemoteTaskError(f"remote task was cancelled by the peer{detail}")
    if outcome.state in _NEEDS_INPUT:
        raise _RemoteTaskError(f"remote task needs interaction ({name}), which proxies do not support{detail}")
    raise _RemoteTaskError(f"remote task ended in {name}{detail}")


def _absorb_task(task: pb.Task, outcome: _Outcome) -> None:
    outcome.remote_task_id = task.id or outcome.remote_task_id
    outcome.state = task.status.state
    if task.status.HasField("message"):
        text = _text_of(task.status.message.parts)
        if text:
            outcome.status_text = text
    for art in task.artifacts:
        outcome.artifacts[art.artifact_id or uuid.uuid4().hex] = art


def _text_of(parts: Any) -> str:
    return "\n".join(p.text for p in parts if p.WhichOneof("content") == "text" and p.text)


def _message_for(task: Task, max_bytes: int) -> pb.Message:
    """The A2A message for a Genesis task: the text, params as a data part, inputs as file/url/data parts."""
    parts = [pb.Part(text=task.text)]
    if task.params:
        v = Value()
        ParseDict(_plain(task.params), v)
        parts.append(pb.Part(data=v, metadata=_struct({"genesis": "params"})))
    for inp in task.inputs:
        if inp.data is not None:
            v = Value()
            ParseDict(_plain(inp.data), v)
            parts.append(pb.Part(data=v, filename=inp.name, metadata=_struct({"genesis": "input"})))
        elif inp.uri is not None:
            parts.append(pb.Part(url=inp.uri, filename=inp.name, media_type=inp.media_type or ""))
        elif inp.path is not None:
            path = Path(inp.path)
            if not path.is_file():
                raise BadInputError(f"input file {str(path)!r} does not exist", field="inputs")
            size = path.stat().st_size
            if size > max_bytes:
                raise BadInputError(f"input {inp.name!r} is {size} bytes; remote agents accept at most {max_bytes}",
                                    field="inputs", hint="pass a uri the peer can fetch instead")
            parts.append(pb.Part(raw=path.read_bytes(), filename=inp.name, media_type=inp.media_type or ""))
    meta = {"genesis_task_id": task.id, "namespace": task.namespace, "depth": task.depth}
    if task.task_type:
        meta["task_type"] = task.task_type
    return pb.Message(role=pb.ROLE_USER, message_id=uuid.uuid4().hex, parts=parts, metadata=_struct(meta))


def _plain(value: Any) -> Any:
    """JSON-compatible copy (Paths and other objects become strings) so protobuf Value accepts it."""
    import json

    return json.loads(json.dumps(value, default=str))


def _struct(d: dict[str, Any]) -> Struct:
    s = Struct()
    s.update(_plain(d))
    return s


async def _wait_cancelled(ctx: AgentContext) -> None:
    """Resolve when the run is cancelled. The context exposes a flag, not an awaitable, so poll it."""
    while not ctx.cancelled:
        await asyncio.sleep(0.1)


def _retryable(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError,
                              httpx.ReadError, httpx.PoolTimeout)):
            return True
        if isinstance(cause, httpx.HTTPStatusError):
            return cause.response.status_code in _RETRYABLE_HTTP or cause.response.status_code >= 500
        cause = cause.__cause__
    return False


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    text = str(exc) or type(exc).__name__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return text[:500]


__all__ = ["A2AClientError", "RemoteAgent", "fetch_card"]
