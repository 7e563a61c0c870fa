"""The A2A server: agent cards and JSON-RPC endpoints for the Genesis router and every registered agent.

Layout (all on one FastAPI app, next to the HTTP API):

- ``GET  /.well-known/agent-card.json``                 the router as one agent (skills = union of all)
- ``POST /a2a``                                         JSON-RPC for the router (plans and routes)
- ``GET  /a2a/agents/{name}/.well-known/agent-card.json`` one agent's card
- ``POST /a2a/agents/{name}``                           JSON-RPC pinned to that agent (safety still applies)

The a2a-sdk does the protocol work (``DefaultRequestHandler``, ``JsonRpcDispatcher`` with its v0.3
adapter). The SDK decides the wire format from the ``A2A-Version`` header and treats a missing header as
0.3, so a peer sending ``SendMessage`` without the header would be refused. The thin translation here
therefore derives the version from the method name when the header is missing or contradicts it, and maps
``tasks/list`` (a v0.3-style name the SDK's adapter lacks) onto ``ListTasks``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import DefaultServerCallContextBuilder

# the SDK's v0.3 adapter must be imported through the dispatcher (importing it first is circular)
from a2a.server.routes.jsonrpc_dispatcher import JSONRPC03Adapter, JsonRpcDispatcher
from a2a.server.tasks import InMemoryTaskStore, TaskStore
from a2a.types import a2a_pb2 as pb
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..contracts import AgentCard
from .auth import ANONYMOUS, Principal
from .cards import ROUTER_AGENT_NAME, router_card, to_a2a_card
from .executor import GenesisExecutor
from .hub import RunHub

V1_METHODS = frozenset(JsonRpcDispatcher.METHOD_TO_MODEL)
V03_METHODS = frozenset(JSONRPC03Adapter.METHOD_TO_MODEL)
METHOD_ALIASES = {"tasks/list": "ListTasks"}
_VERSION = b"a2a-version"


class _KeyUser(User):
    """A2A ``User`` for an API key: the SDK's task store scopes tasks by ``user_name`` (= key id)."""

    def __init__(self, principal: Principal) -> None:
        self._p = principal

    @property
    def is_authenticated(self) -> bool:
        return self._p is not ANONYMOUS

    @property
    def user_name(self) -> str:
        return self._p.key_id


def _owner(context: ServerCallContext) -> str:
    return context.user.user_name or ANONYMOUS.key_id


_TERMINAL_STATES = {pb.TASK_STATE_COMPLETED, pb.TASK_STATE_FAILED, pb.TASK_STATE_CANCELED, pb.TASK_STATE_REJECTED}


class BoundedTaskStore(TaskStore):
    """The SDK's in-memory task store, bounded: beyond ``max_tasks`` the oldest *finished* tasks are forgotten.

    Why: the SDK store keeps every task forever, so a long-running server would grow without limit.
    Running tasks are never evicted; a forgotten task answers "task not found" (-32001).
    """

    def __init__(self, max_tasks: int) -> None:
        self.inner = InMemoryTaskStore(owner_resolver=_owner)
        self.max_tasks = max_tasks
        self._order: OrderedDict[str, str] = OrderedDict()  # task id -> owner, oldest first
        self._finished: set[str] = set()

    async def save(self, task: pb.Task, context: ServerCallContext) -> None:
        await self.inner.save(task, context)
        self._order.setdefault(task.id, _owner(context))
        if task.status.state in _TERMINAL_STATES:
            self._finished.add(task.id)
        while len(self._order) > self.max_tasks:
            victim = next((tid for tid in self._order if tid in self._finished), None)
            if victim is None:
                break
            owner = self._order.pop(victim)
            self._finished.discard(victim)
            await self.inner.delete(victim, ServerCallContext(user=_KeyUser(Principal(owner, owner, ()))))

    async def get(self, task_id: str, context: ServerCallContext) -> pb.Task | None:
        return await self.inner.get(task_id, context)

    async def list(self, params: pb.ListTasksRequest, context: ServerCallContext) -> pb.ListTasksResponse:
        return await self.inner.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        await self.inner.delete(task_id, context)
        self._order.pop(task_id, None)
        self._finished.discard(task_id)


class GenesisCallContextBuilder(DefaultServerCallContextBuilder):
    """Carries the authenticated key, the pinned agent and the public base URL into the executor."""

    def __init__(self, base_url: Callable[[Request], str]) -> None:
        self._base_url = base_url

    def build(self, request: Request) -> ServerCallContext:
        ctx = super().build(request)
        principal = request.scope.get("state", {}).get("principal") or ANONYMOUS
        ctx.user = _KeyUser(principal)
        ctx.state["principal"] = principal
        ctx.state["genesis_agent"] = request.path_params.get("agent")
        ctx.state["base_url"] = self._base_url(request)
        return ctx


def translate(body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Method-name based version selection (see module doc). Anything unparsable passes through untouched,
    so the SDK still produces the proper JSON-RPC error (-32700 parse error, -32600 invalid request)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body, headers
    if not isinstance(payload, dict) or not isinstance(payload.get("method"), str):
        return body, headers
    method = payload["method"]
    if method in METHOD_ALIASES:
        payload["method"] = METHOD_ALIASES[method]
        body = json.dumps(payload).encode()
        method = payload["method"]
    if method in V1_METHODS:
        wanted = b"1.0"
    elif method in V03_METHODS:
        wanted = b"0.3"
    else:
        return body, headers
    current = next((v for k, v in headers if k == _VERSION), None)
    if current is not None and current.split(b".")[0].strip() not in {b"0", b"1"}:
        return body, headers  # a version we do not speak: let the SDK refuse it properly
    if current is None or current.split(b".")[0].strip() != wanted.split(b".")[0]:
        headers = [(k, v) for k, v in headers if k != _VERSION] + [(_VERSION, wanted)]
    return body, headers


class A2AServer:
    """Builds the Starlette routes of the A2A side for a ``Genesis`` host behind a ``RunHub``."""

    def __init__(self, hub: RunHub, *, public_url: str | None = None, secured: bool = True,
                 max_inline_artifact_bytes: int = 4 * 1024 * 1024, max_tasks: int = 1000) -> None:
        self.hub = hub
        self.public_url = public_url.rstrip("/") if public_url else None
        self.secured = secured
        data_dir = getattr(getattr(hub.genesis, "settings", None), "data_dir", None)
        from pathlib import Path

        self.executor = GenesisExecutor(hub, data_dir=Path(data_dir or ".genesis"),
                                        max_inline_artifact_bytes=max_inline_artifact_bytes)
        base_card = self._a2a_card(self._router_card(), "http://localhost/a2a")
        self.handler = DefaultRequestHandler(
            agent_executor=self.executor,
            task_store=BoundedTaskStore(max_tasks),
            agent_card=base_card,
        )
        self.dispatcher = JsonRpcDispatcher(
            request_handler=self.handler,
            context_builder=GenesisCallContextBuilder(self.base_url),
            enable_v0_3_compat=True,
        )

    # ------------------------------------------------------------------------------------ cards

    def base_url(self, request: Request) -> str:
        return self.public_url or str(request.base_url).rstrip("/")

    def _router_card(self) -> AgentCard:
        return router_card(self.hub.genesis.cards(), name=ROUTER_AGENT_NAME)

    def _a2a_card(self, card: AgentCard, url: str, provider_url: str | None = None) -> pb.AgentCard:
        return to_a2a_card(card, url=url, secured=self.secured, provider_url=provider_url)

    def card_for(self, agent: str | None, base: str) -> pb.AgentCard:
        if agent is None:
            return self._a2a_card(self._router_card(), f"{base}/a2a", provider_url=base)
        card = self._card_named(agent)
        if card is None:
            raise KeyError(agent)
        return self._a2a_card(card, f"{base}/a2a/agents/{agent}", provider_url=base)

    def _card_named(self, name: str) -> AgentCard | None:
        return next((c for c in self.hub.genesis.cards() if c.name == name), None)

    # ------------------------------------------------------------------------------------ endpoints

    async def get_card(self, request: Request) -> Response:
        agent = request.path_params.get("agent")
        try:
            card = self.card_for(agent, self.base_url(request))
        except KeyError:
            return _unknown_agent(agent or "")
        return JSONResponse(agent_card_to_dict(card), headers={"Cache-Control": "no-cache"})

    async def rpc(self, request: Request) -> Response:
        agent = request.path_params.get("agent")
        if agent is not None and self._card_named(agent) is None:
            return _unknown_agent(agent)
        body = await request.body()
        body, headers = translate(body, list(request.scope["headers"]))
        scope = dict(request.scope)
        scope["headers"] = headers
        sent = False

        async def receive() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await request.receive()

        return await self.dispatcher.handle_requests(Request(scope, receive))

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/agent-card.json", self.get_card, methods=["GET"], include_in_schema=False),
            Route("/a2a", self.rpc, methods=["POST"], include_in_schema=False),
            Route("/a2a/agents/{agent}/.well-known/agent-card.json", self.get_card, methods=["GET"],
                  include_in_schema=False),
            Route("/a2a/agents/{agent}", self.rpc, methods=["POST"], include_in_schema=False),
        ]

    async def aclose(self) -> None:
        await self.handler.aclose()


def _unknown_agent(name: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "unknown_agent", "message": f"unknown agent {name!r}", "field": "agent",
                                   "hint": "GET /v1/agents lists the agents this host serves"}}, status_code=404)
