"""HTTP API routes for embedding apps: submit a task, stream its events, fetch result and artifacts.

Everything here runs under ``SecurityMiddleware`` (key, rate limit, body size), which puts the caller's
``Principal`` on ``request.state``. Runs are scoped to the key that started them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse

from ..a2a.auth import ANONYMOUS, Principal
from ..a2a.hub import RunHandle, RunHub
from ..contracts import Task, TaskInput
from ..errors import BadInputError, NotFoundError
from .models import (
    AgentList,
    AgentView,
    ArtifactList,
    ArtifactView,
    ErrorResponse,
    Health,
    Readiness,
    RunList,
    RunView,
    TaskSubmission,
)

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in {
        400: "bad input (names the field)", 401: "missing, invalid or revoked API key",
        403: "the key may not use this namespace", 404: "no such run, artifact or agent",
        413: "request body too large", 422: "request does not match the schema", 429: "rate limit exceeded",
    }.items()
}


class ForbiddenError(BadInputError):
    code = "forbidden"


def _principal(request: Request) -> Principal:
    return getattr(request.state, "principal", None) or ANONYMOUS


def _hub(request: Request) -> RunHub:
    return request.app.state.hub  # type: ignore[no-any-return]


def view(handle: RunHandle, *, with_result: bool = True) -> RunView:
    return RunView(
        run_id=handle.run_id,
        status=handle.status,
        agent=handle.task.agent,
        namespace=handle.task.namespace,
        created_at=handle.created_at,
        finished_at=handle.finished_at,
        text=handle.result.text if handle.result else "",
        events=len(handle.events),
        error=handle.error,
        result=handle.result if with_result else None,
    )


# --------------------------------------------------------------------------------------------- tasks


@router.post("/v1/tasks", response_model=RunView, status_code=202, tags=["tasks"],
             responses={200: {"model": RunView, "description": "finished (wait=true)"}, **_ERRORS})
async def submit_task(submission: TaskSubmission, request: Request) -> Any:
    """Start a run. Returns 202 with the run id at once, or 200 with the result when ``wait`` is set and
    the run ends within ``wait_timeout_s``."""
    principal = _principal(request)
    namespace = submission.namespace or principal.default_namespace
    if not principal.allows(namespace):
        raise ForbiddenError(f"this API key may not use namespace {namespace!r}", field="namespace")
    inputs = []
    for i, ref in enumerate(submission.inputs):
        try:
            inputs.append(TaskInput(name=ref.name, uri=ref.uri, data=ref.data, media_type=ref.media_type))
        except ValidationError as exc:
            raise BadInputError(exc.errors()[0]["msg"].removeprefix("Value error, "), field=f"inputs[{i}]") from None
    try:
        task = Task(text=submission.text, agent=submission.agent, task_type=submission.task_type,
                    params=submission.params, inputs=inputs, namespace=namespace, timeout_s=submission.timeout_s,
                    metadata={"caller": principal.name, "via": "http"})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BadInputError(err["msg"], field=".".join(str(p) for p in err["loc"]) or "task") from None
    hub = _hub(request)
    handle = hub.submit(task, owner=principal.key_id)
    if submission.wait:
        try:
            await hub.wait(handle, submission.wait_timeout_s)
        except TimeoutError:
            pass
    return JSONResponse(view(handle).model_dump(mode="json"), status_code=200 if handle.done else 202)


@router.get("/v1/tasks", response_model=RunList, tags=["tasks"], responses=_ERRORS)
async def list_tasks(request: Request, limit: int = Query(default=50, ge=1, le=500)) -> RunList:
    """The caller's runs, newest first (results omitted; fetch one run for its result)."""
    handles = _hub(request).list(owner=_principal(request).key_id, limit=limit)
    return RunList(runs=[view(h, with_result=False) for h in handles])


@router.get("/v1/tasks/{run_id}", response_model=RunView, tags=["tasks"], responses=_ERRORS)
async def get_task(run_id: str, request: Request) -> RunView:
    return view(_hub(request).get(run_id, owner=_principal(request).key_id))


@router.post("/v1/tasks/{run_id}/cancel", response_model=RunView, tags=["tasks"], responses=_ERRORS)
async def cancel_task(run_id: str, request: Request) -> RunView:
    """Cancel a run (running agents are cancelled, pending subtasks never start). Idempotent."""
    hub = _hub(request)
    handle = hub.get(run_id, owner=_principal(request).key_id)
    await hub.cancel(handle)
    return view(handle)


@router.get(
    "/v1/tasks/{run_id}/events", tags=["tasks"],
    responses={200: {"description": "Server-sent events: `event:` is the Genesis event type, `id:` its sequence "
                                    "number, `data:` the event as JSON. The stream ends after `done`.",
                     "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **_ERRORS},
)
async def stream_events(run_id: str, request: Request,
                        after: int = Query(default=0, ge=0, le=2**53, description="resume after this seq")) -> Any:
    """Replay the run's events after ``after`` (or the ``Last-Event-ID`` header), then follow live ones."""
    hub = _hub(request)
    handle = hub.get(run_id, owner=_principal(request).key_id)
    last = request.headers.get("last-event-id")
    if last and last.isdigit():
        after = max(after, int(last))

    async def gen() -> Any:
        async for event in hub.events(handle, after=after):
            yield {"id": str(event["seq"]), "event": event.get("type", "event"), "data": json.dumps(event)}

    return EventSourceResponse(gen(), ping=15)


# --------------------------------------------------------------------------------------------- artifacts


def _artifacts(handle: RunHandle) -> list[tuple[str | None, Any]]:
    if handle.result is None:
        return []
    return [(r.agent, a) for r in handle.result.results if r.result for a in r.result.artifacts]


@router.get("/v1/tasks/{run_id}/artifacts", response_model=ArtifactList, tags=["artifacts"], responses=_ERRORS)
async def list_artifacts(run_id: str, request: Request) -> ArtifactList:
    handle = _hub(request).get(run_id, owner=_principal(request).key_id)
    base = str(request.base_url).rstrip("/")
    return ArtifactList(run_id=run_id, artifacts=[
        ArtifactView(index=i, name=a.name, media_type=a.media_type, size_bytes=a.size_bytes,
                     description=a.description, agent=agent, url=f"{base}/v1/tasks/{run_id}/artifacts/{i}")
        for i, (agent, a) in enumerate(_artifacts(handle))
    ])


@router.get(
    "/v1/tasks/{run_id}/artifacts/{index}", tags=["artifacts"],
    responses={200: {"description": "the file", "content": {"application/octet-stream": {"schema": {
        "type": "string", "format": "binary"}}}}, **_ERRORS},
)
async def download_artifact(run_id: str, request: Request, index: int = 0) -> Any:
    """Download one artifact. Only files inside this host's data dir are served."""
    handle = _hub(request).get(run_id, owner=_principal(request).key_id)
    items = _artifacts(handle)
    if not 0 <= index < len(items):
        raise NotFoundError(f"run {run_id!r} has no artifact {index}", field="index",
                            hint=f"it has {len(items)} artifact(s)")
    _agent, art = items[index]
    path = Path(art.path)
    root = Path(request.app.state.genesis.settings.data_dir).resolve()
    try:
        inside = path.resolve().relative_to(root) is not None
    except ValueError:
        inside = False
    if not inside or not path.is_file():
        raise NotFoundError(f"artifact {art.name!r} is not stored on this host", field="index",
                            hint="remote artifacts are listed with their origin URL in the run result")
    return FileResponse(path, media_type=art.media_type, filename=art.name)


# --------------------------------------------------------------------------------------------- agents, health


@router.get("/v1/agents", response_model=AgentList, tags=["agents"], responses=_ERRORS)
async def list_agents(request: Request) -> AgentList:
    base = request.app.state.serve_settings.public_url or str(request.base_url).rstrip("/")
    cards = request.app.state.genesis.cards()
    return AgentList(
        agents=[AgentView(card=c, remote=c.url is not None, a2a_url=f"{base}/a2a/agents/{c.name}") for c in cards],
        router_card_url=f"{base}/.well-known/agent-card.json",
    )


@router.get("/healthz", response_model=Health, tags=["health"])
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, tags=["health"],
            responses={503: {"model": Readiness, "description": "not ready"}})
async def ready(request: Request) -> Any:
    """Readiness: agents are registered and the key store answers."""
    checks: dict[str, str] = {}
    cards = request.app.state.genesis.cards()
    checks["agents"] = f"{len(cards)} registered" if cards else "no agents registered"
    keys = request.app.state.keys
    if keys is not None:
        try:
            await asyncio.to_thread(keys.list, include_revoked=False)
            checks["keys"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["keys"] = f"error: {type(exc).__name__}"
    ok = bool(cards) and checks.get("keys", "ok") == "ok"
    body = Readiness(status="ready" if ok else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
