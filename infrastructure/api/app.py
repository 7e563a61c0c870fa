"""``build_app``: one FastAPI app with the HTTP API and the A2A server, sharing one ``RunHub``.

Same process, same limits, same keys: a task started over A2A and one started over the HTTP API are
the same kind of run, cancellable the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..a2a.auth import KeyStore, RateLimiter
from ..a2a.hub import RunHub
from ..a2a.middleware import SecurityMiddleware
from ..a2a.server import A2AServer
from ..a2a.settings import ServeSettings
from ..errors import BackendUnavailableError, BadInputError, GenesisError, LimitExceededError, NotFoundError
from .heap import ActivityMiddleware, HeapKeeper, keeping
from .routes import ForbiddenError, router

log = logging.getLogger(__name__)


def status_for(exc: GenesisError) -> int:
    if isinstance(exc, ForbiddenError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, LimitExceededError):
        return 429 if exc.limit.startswith("serve_") else 400
    if isinstance(exc, BadInputError):
        return 400
    if isinstance(exc, BackendUnavailableError):
        return 503
    return 500


def build_app(genesis: Any, *, settings: ServeSettings | None = None, keys: KeyStore | None = None) -> FastAPI:
    """The ASGI app for ``genesis serve``. ``genesis`` is a ``Genesis`` host; ``keys`` defaults to the key
    store in its data dir (required unless ``settings.auth_required`` is off)."""
    settings = settings or ServeSettings()
    if keys is None and settings.auth_required:
        keys = KeyStore.from_settings(genesis.settings)
    hub = RunHub(genesis, settings)
    a2a = A2AServer(hub, public_url=settings.public_url, secured=settings.auth_required,
                    max_tasks=settings.max_kept_runs)

    keeper = HeapKeeper(freeze_every_s=settings.gc_freeze_every_s, idle_s=settings.gc_idle_s,
                        full_every_s=settings.gc_full_every_s) if settings.gc_freeze and settings.gc_freeze_every_s else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_up:
            await asyncio.to_thread(genesis.warm_up)
        if settings.gc_freeze:
            # Models, tokenizers and the framework are hundreds of thousands of long-lived objects; each full
            # collection rescanned them, stalling every request for 0.4-0.6 s every ~30 s under load.
            gc.collect()
            gc.freeze()
            first, second, _ = gc.get_threshold()
            gc.set_threshold(first, second, settings.gc_full_threshold)
        async with contextlib.AsyncExitStack() as stack:
            if keeper is not None:  # later survivors too (see heap.py)
                await stack.enter_async_context(keeping(keeper))
            yield
        await hub.aclose()
        await a2a.aclose()

    app = FastAPI(
        title="Genesis",
        version="0.1.0",
        description="Submit tasks to a Genesis host, stream their events, fetch results and artifacts. "
                    "The same host speaks A2A at /a2a (router) and /a2a/agents/{name}.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.genesis = genesis
    app.state.hub = hub
    app.state.keys = keys
    app.state.serve_settings = settings
    app.state.a2a = a2a
    app.state.heap_keeper = keeper
    app.include_router(router)
    app.router.routes.extend(a2a.routes())

    @app.exception_handler(GenesisError)
    async def _genesis_error(_request: Request, exc: GenesisError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        return JSONResponse({"error": exc.to_dict()}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_input", 404: "not_found", 405: "method_not_allowed", 413: "limit_exceeded"}.get(
            exc.status_code, "http_error")
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        return JSONResponse({"error": {"code": "bad_input", "type": "BadInputError",
                                       "message": str(err.get("msg", "invalid request")),
                                       "field": ".".join(loc) or "body"}}, status_code=422)

    app.add_middleware(SecurityMiddleware, keys=keys, limiter=RateLimiter(settings.rate_per_s, settings.burst),
                       max_request_bytes=settings.max_request_bytes, auth_required=settings.auth_required,
                       public_docs=settings.public_docs)
    if keeper is not None:
        app.add_middleware(ActivityMiddleware, keeper=keeper)  # type: ignore[arg-type]
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "A2A-Version",
                                          "Last-Event-ID"])
    return app
