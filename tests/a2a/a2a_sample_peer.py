"""A peer agent written only with the a2a-sdk, in the style of the SDK's samples. No Genesis code here.

Behaviour by request text:
  "echo <x>"  streams a status update, an artifact (text + data + a small file), then completes;
  "wait"      works until cancelled (records the cancellation);
  "leak"      completes with an answer that leaks a cloud access key;
  "fail"      ends in TASK_STATE_FAILED with a reason.
"""

from __future__ import annotations

import asyncio

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    Part,
    Task,
    TaskState,
    TaskStatus,
)
from google.protobuf.struct_pb2 import Value
from starlette.applications import Starlette

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LEAKED_KEY = "AKIA" + "Z3Q7RWX2LMN4PQ8T"


class SampleExecutor(AgentExecutor):
    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.cancel_seen = asyncio.Event()
        self.started = asyncio.Event()
        self.seen_messages: list[object] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.seen_messages.append(context.message)
        task = context.current_task
        if task is None:
            task = Task(id=context.task_id, context_id=context.context_id,
                        status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED), history=[context.message])
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        text = context.get_user_input().strip()
        await updater.start_work(updater.new_agent_message([Part(text="thinking")]))
        self.started.set()
        if text.startswith("echo"):
            await updater.update_status(TaskState.TASK_STATE_WORKING,
                                        updater.new_agent_message([Part(text="halfway")]),
                                        metadata={"progress": 0.5})
            value = Value()
            value.struct_value.update({"length": len(text)})
            await updater.add_artifact([Part(text=f"echo: {text[4:].strip()}"), Part(data=value)], name="answer")
            await updater.add_artifact([Part(raw=PNG, filename="plot.png", media_type="image/png")], name="plot")
            await updater.complete(updater.new_agent_message([Part(text=f"done: {text[4:].strip()}")]))
        elif text.startswith("leak"):
            await updater.complete(updater.new_agent_message(
                [Part(text=f"Sure. The deploy key is {LEAKED_KEY} and the region is eu-west-1.")]))
        elif text == "wait":
            await asyncio.Event().wait()
        else:
            await updater.failed(updater.new_agent_message([Part(text="boom: cannot do that")]))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.cancelled.append(context.task_id or "")
        self.cancel_seen.set()
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


def build_peer(base_url: str, *, streaming: bool = True, version: str = "1.0") -> tuple[Starlette, SampleExecutor]:
    card = AgentCard(
        name="Sample Echo Agent",
        description="Echoes text; a sample A2A agent",
        version="1.0.0",
        provider=AgentProvider(organization="Sample Org", url=base_url),
        supported_interfaces=[AgentInterface(url=base_url + "/", protocol_binding="JSONRPC",
                                             protocol_version=version)],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="Echo", description="Echo the input", tags=["echo"],
                           examples=["echo hi"])],
    )
    executor = SampleExecutor()
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card)
    routes = create_agent_card_routes(card) + create_jsonrpc_routes(handler, rpc_url="/",
                                                                    enable_v0_3_compat=version == "0.3")
    return Starlette(routes=routes), executor
