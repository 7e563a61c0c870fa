"""One ASGI middleware in front of the A2A server and the HTTP API: request size, API key, rate limit.

Why a raw ASGI middleware (not FastAPI dependencies): the A2A JSON-RPC routes come from the a2a-sdk and do
not go through FastAPI dependency injection, and the size check must happen before anyone parses a body.
Order: size first (a 2 GB body is refused before hashing any key), then the key, then the rate limit.
Every authentication failure gets the same 401 body, so a caller cannot tell a missing key from an invalid
or a revoked one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .auth import ANONYMOUS, KeyStore, RateLimiter
from .cards import API_KEY_HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PUBLIC_EXACT = {"/healthz", "/readyz", "/.well-known/agent-card.json"}
_DOCS = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "missing, invalid or revoked API key"}}


def is_public(path: str, *, public_docs: bool) -> bool:
    if path in _PUBLIC_EXACT or (public_docs and path in _DOCS):
        return True
    return path.startswith("/a2a/agents/") and path.endswith("/.well-known/agent-card.json")


async def _json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": raw})


def _token(scope: Scope) -> str | None:
    auth = api_key = None
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            auth = value.decode("latin-1")
        elif name == API_KEY_HEADER.lower().encode():
            api_key = value.decode("latin-1")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return api_key.strip() if api_key else None


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyStore | None,
        limiter: RateLimiter,
        max_request_bytes: int,
        auth_required: bool = True,
        public_docs: bool = True,
    ) -> None:
        if auth_required and keys is None:
            raise ValueError("auth_required needs a KeyStore")
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.max_bytes = max_request_bytes
        self.auth_required = auth_required
        self.public_docs = public_docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # --- size
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _json(send, 400, {"error": {"code": "bad_input", "message": "invalid Content-Length"}})
                return
            if too_big:
                await _json(send, 413, _too_large(self.max_bytes), [(b"connection", b"close")])
                return
        buffered = await self._buffered(scope, receive, send)
        if buffered is None:
            return
        receive = buffered
        # --- auth
        path = scope.get("path", "")
        state = scope.setdefault("state", {})
        if is_public(path, public_docs=self.public_docs) or scope.get("method") == "OPTIONS":
            state["principal"] = None
            await self.app(scope, receive, send)
            return
        if self.auth_required:
            assert self.keys is not None
            principal = self.keys.verify(_token(scope))
            if principal is None:
                await _json(send, 401, UNAUTHORIZED, [(b"www-authenticate", b'Bearer realm="genesis"')])
                return
        else:
            principal = ANONYMOUS
        # --- rate
        wait = self.limiter.acquire(principal)
        if wait > 0:
            await _json(send, 429, {"error": {"code": "rate_limited", "message": "too many requests for this key",
                                              "retry_after_s": round(wait, 3)}},
                        [(b"retry-after", str(max(1, math.ceil(wait))).encode())])
            return
        state["principal"] = principal
        await self.app(scope, receive, send)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Read the whole body (bounded) so chunked uploads are limited too; replay it to the app."""
        if scope.get("method") in {"GET", "HEAD", "OPTIONS", "DELETE"}:
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await _json(send, 413, _too_large(self.max_bytes), [(b"connection", b"close")])
                return None
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the client to disconnect (SSE needs this)

        return replay


def _too_large(limit: int) -> dict[str, Any]:
    return {"error": {"code": "limit_exceeded", "message": f"request body is larger than {limit} bytes",
                      "field": "body", "hint": "raise GENESIS_SERVE_MAX_REQUEST_BYTES if this is intended"}}
