"""The A2A ``AgentExecutor`` that runs a Genesis task for an A2A request.

One executor serves every endpoint: the agent to pin (or none, for the router endpoint) and the caller's
API key come from the call context that ``GenesisCallContextBuilder`` fills from the HTTP request. The run
itself goes through ``RunHub`` (so the HTTP API and A2A share limits, cancellation and events) and every
Genesis event becomes an A2A status update while it happens; the answer, structured data and files become
A2A artifacts at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import a2a_pb2 as pb
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.struct_pb2 import Value
from pydantic import ValidationError

from ..contracts import RunResult, Task, TaskInput, slugify
from ..errors import GenesisError
from .auth import ANONYMOUS, Principal
from .hub import RunHandle, RunHub

log = logging.getLogger(__name__)

_ALLOWED_META = {"namespace", "task_type", "params", "timeout_s", "agent", "skill"}


@dataclass
class _Link:
    """An A2A task and the Genesis run behind it; the updater is shared by ``execute`` and ``cancel``."""

    updater: TaskUpdater
    handle: RunHandle | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class GenesisExecutor(AgentExecutor):
    def __init__(self, hub: RunHub, *, data_dir: Path, max_inline_artifact_bytes: int = 4 * 1024 * 1024) -> None:
        self.hub = hub
        self.data_dir = Path(data_dir)
        self.max_inline = max_inline_artifact_bytes
        self._links: dict[str, _Link] = {}
        self._sweep_uploads(hub.settings.stale_upload_s)

    def _sweep_uploads(self, older_than_s: float) -> None:
        """Remove upload folders a crashed server left behind (a live run's folder is younger)."""
        root = self.data_dir / "a2a" / "uploads"
        if not root.is_dir():
            return
        cutoff = time.time() - older_than_s
        for folder in root.iterdir():
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------------------------------ execute

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        state = context.call_context.state
        principal: Principal = state.get("principal") or ANONYMOUS
        agent: str | None = state.get("genesis_agent")
        a2a_task = context.current_task
        if a2a_task is None:
            a2a_task = pb.Task(id=context.task_id or "", context_id=context.context_id or "",
                               status=pb.TaskStatus(state=pb.TASK_STATE_SUBMITTED),
                               history=[context.message] if context.message is not None else [])
            await event_queue.enqueue_event(a2a_task)
        updater = TaskUpdater(event_queue, a2a_task.id, a2a_task.context_id)
        link = self._links[a2a_task.id] = _Link(updater=updater)
        try:
            try:
                task = self._task_from(context, principal=principal, agent=agent, a2a_task_id=a2a_task.id)
                link.handle = self.hub.submit(task, owner=principal.key_id)
            except GenesisError as exc:
                await self._terminal(link, pb.TASK_STATE_REJECTED, str(exc), {"error": exc.to_dict()})
                return
            if _blocking(context):
                # Nobody can watch a blocking send before it returns (the task id is in the reply), so the
                # intermediate updates would only cost time; wait for the end and report that.
                await self.hub.wait(link.handle)
            else:
                await updater.start_work(updater.new_agent_message(
                    [pb.Part(text=f"accepted as Genesis run {link.handle.run_id}")],
                    metadata={"genesis_run_id": link.handle.run_id},
                ))
                async for event in self.hub.events(link.handle):
                    text, meta = _describe_event(event)
                    if event.get("type") == "done" or text is None:
                        continue
                    await updater.update_status(pb.TASK_STATE_WORKING,
                                                updater.new_agent_message([pb.Part(text=text)]), metadata=meta)
            await self._finish(link, base_url=state.get("base_url", ""))
        finally:
            self._links.pop(a2a_task.id, None)
            # Uploaded files live as long as the run that reads them: the answer and artifacts are out now.
            shutil.rmtree(self._uploads_of(a2a_task.id), ignore_errors=True)

    def _uploads_of(self, a2a_task_id: str) -> Path:
        return self.data_dir / "a2a" / "uploads" / slugify(a2a_task_id, 64)

    def _task_from(self, context: RequestContext, *, principal: Principal, agent: str | None, a2a_task_id: str) -> Task:
        """Build the Genesis task from the A2A message: text parts, params/data/file parts, metadata."""
        from ..errors import BadInputError

        msg = context.message
        if msg is None:
            raise BadInputError("the request has no message", field="message")
        meta = MessageToDict(msg.metadata) if msg.HasField("metadata") else {}
        unknown = sorted(set(meta) - _ALLOWED_META - {"genesis_task_id", "depth"})
        texts: list[str] = []
        params: dict[str, Any] = dict(meta.get("params") or {}) if isinstance(meta.get("params"), dict) else {}
        inputs: list[TaskInput] = []
        for i, part in enumerate(msg.parts):
            kind = part.WhichOneof("content")
            pmeta = MessageToDict(part.metadata) if part.HasField("metadata") else {}
            if kind == "text":
                texts.append(part.text)
            elif kind == "data":
                value = MessageToDict(part.data) if part.data.WhichOneof("kind") else None
                if pmeta.get("genesis") == "params" or (isinstance(value, dict) and not part.filename):
                    if not isinstance(value, dict):
                        raise BadInputError("a params data part must hold a JSON object", field=f"parts[{i}].data")
                    params.update(value)
                else:
                    inputs.append(TaskInput(name=part.filename or f"data-{i}", data=value))
            elif kind == "url":
                if not part.url.startswith(("http://", "https://")):
                    raise BadInputError("only http(s) URLs are accepted as remote inputs", field=f"parts[{i}].url")
                inputs.append(TaskInput(name=part.filename or Path(part.url).name or f"input-{i}", uri=part.url,
                                        media_type=part.media_type or None))
            elif kind == "raw":
                name = Path(part.filename or f"input-{i}").name
                target = self._uploads_of(a2a_task_id) / (
                    slugify(Path(name).stem, 60) + Path(name).suffix.lower()[:10])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(part.raw)
                inputs.append(TaskInput(name=name, path=target, media_type=part.media_type or None))
        if not any(t.strip() for t in texts):
            raise BadInputError("the message has no text part (what should be done?)", field="message.parts")
        namespace = meta.get("namespace") or principal.default_namespace
        if not isinstance(namespace, str) or not principal.allows(namespace):
            raise BadInputError(f"this API key may not use namespace {namespace!r}", field="metadata.namespace",
                                hint=f"allowed: {', '.join(principal.namespaces)}")
        pinned = agent or (meta.get("agent") if isinstance(meta.get("agent"), str) else None)
        try:
            return Task(
                text="\n".join(t for t in texts if t).strip(),
                agent=pinned,
                task_type=meta.get("task_type"),
                params=params,
                inputs=inputs,
                namespace=namespace,
                timeout_s=meta.get("timeout_s"),
                metadata={"a2a_task_id": a2a_task_id, "a2a_context_id": context.context_id,
                          "caller": principal.name, **({"ignored_metadata": unknown} if unknown else {})},
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "message"
            raise BadInputError(err["msg"], field="text" if where == "text" else where) from None

    async def _finish(self, link: _Link, *, base_url: str) -> None:
        handle = link.handle
        assert handle is not None
        result = handle.result
        updater = link.updater
        if result is not None:
            with contextlib.suppress(RuntimeError):
                await self._artifacts(updater, handle, result, base_url=base_url)
        text = result.text if result is not None else ((handle.error or {}).get("message") or handle.status)
        meta = {"genesis_run_id": handle.run_id, "genesis_status": handle.status}
        if handle.status in {"succeeded", "partial"}:
            await self._terminal(link, pb.TASK_STATE_COMPLETED, text, meta)
        elif handle.status == "cancelled":
            await self._terminal(link, pb.TASK_STATE_CANCELED, text or "cancelled", meta)
        else:
            err = (result.error if result else None) or handle.error or {}
            await self._terminal(link, pb.TASK_STATE_FAILED, text or err.get("message", "failed"),
                                 {**meta, "error": err})

    async def _terminal(self, link: _Link, state: Any, text: str, meta: dict[str, Any]) -> None:
        async with link.lock:
            with contextlib.suppress(RuntimeError):  # the other side (execute/cancel) already ended it
                await link.updater.update_status(
                    state, link.updater.new_agent_message([pb.Part(text=text or pb.TaskState.Name(state))]),
                    metadata=_jsonable(meta),
                )

    async def _artifacts(self, updater: TaskUpdater, handle: RunHandle, result: RunResult, *, base_url: str) -> None:
        """The answer and data as one artifact; each file as its own (inline bytes if small, else a URL)."""
        subtasks = [
            {"subtask_id": r.subtask_id, "agent": r.agent, "status": r.status,
             "data": r.result.data if r.result else None,
             "safety": r.result.safety.model_dump(mode="json") if r.result and r.result.safety else None,
             "error": r.error}
            for r in result.results
        ]
        value = Value()
        ParseDict(_jsonable({"run_id": result.run_id, "status": result.status, "subtasks": subtasks}), value)
        await updater.add_artifact([pb.Part(text=result.text or ""), pb.Part(data=value, media_type="application/json")],
                                   name="result", metadata={"genesis_run_id": result.run_id})
        index = 0
        for r in result.results:
            if r.result is None:
                continue
            for art in r.result.artifacts:
                path = Path(art.path)
                part: pb.Part
                if art.path.startswith(("http://", "https://")):  # came from a remote peer: pass its URL on
                    part = pb.Part(url=art.path, filename=art.name, media_type=art.media_type)
                elif path.is_file() and path.stat().st_size <= self.max_inline and _inside(path, self.data_dir):
                    part = pb.Part(raw=path.read_bytes(), filename=art.name, media_type=art.media_type)
                else:
                    part = pb.Part(url=f"{base_url.rstrip('/')}/v1/tasks/{handle.run_id}/artifacts/{index}",
                                   filename=art.name, media_type=art.media_type)
                await updater.add_artifact([part], name=art.name,
                                           metadata=_jsonable({"description": art.description, "agent": r.agent,
                                                               "size_bytes": art.size_bytes, **art.metadata}))
                index += 1

    # ------------------------------------------------------------------------------------ cancel

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        link = self._links.get(context.task_id or "")
        if link is None:
            updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
            with contextlib.suppress(RuntimeError):
                await updater.cancel()
            return
        if link.handle is not None:
            await self.hub.cancel(link.handle)
        await self._terminal(link, pb.TASK_STATE_CANCELED, "cancelled by the caller",
                             {"genesis_run_id": link.handle.run_id if link.handle else None})


def _blocking(context: RequestContext) -> bool:
    """A non-streaming send that waits for the result (not ``returnImmediately``)."""
    method = context.call_context.state.get("method")
    config = context.configuration
    return method in {"SendMessage", "message/send"} and not (config is not None and config.return_immediately)


def _describe_event(event: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A one-line status text and compact metadata for a Genesis event (None = not worth a status update)."""
    kind = event.get("type")
    meta: dict[str, Any] = {"genesis_event": kind, "seq": event.get("seq")}
    if kind == "planned":
        n = len(event["plan"]["subtasks"])
        return f"planned {n} subtask{'s' if n != 1 else ''}", meta
    if kind == "routed":
        pairs = ", ".join(f"{d['subtask_id']}->{d['agent'] or 'unassigned'}" for d in event["decisions"])
        return f"routed: {pairs}", meta
    if kind == "subtask_started":
        meta.update(subtask_id=event["subtask_id"], agent=event["agent"])
        return f"{event['agent']} started {event['subtask_id']}", meta
    if kind == "progress":
        meta.update(subtask_id=event.get("subtask_id"), agent=event.get("agent"))
        if event.get("progress") is not None:
            meta["progress"] = event["progress"]
        return event.get("message") or f"{event.get('agent')} is working", meta
    if kind == "subtask_finished":
        r = event["result"]
        meta.update(subtask_id=r["subtask_id"], agent=r.get("agent"), status=r["status"])
        return f"{r['subtask_id']} {r['status']}", meta
    if kind == "reviewed":
        meta.update(subtask_id=event["subtask_id"], safety=event["verdict"]["action"])
        return f"safety review of {event['subtask_id']}: {event['verdict']['action']}", meta
    return None, meta


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


__all__ = ["GenesisExecutor"]
