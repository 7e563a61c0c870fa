"""The contracts every part of Genesis speaks: tasks, agents, plans, routing decisions, results, events.

They are pydantic v2 models so that every boundary (CLI, HTTP, A2A, plugins, eval files) validates input
the same way and errors name the field. Agents, memory, safety and evolution depend on this module only,
never on each other's internals.
"""

from __future__ import annotations

import abc
import mimetypes
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import PlanError

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel


def new_id(prefix: str = "") -> str:
    """Short, sortable-enough unique id (uuid4 hex, 16 chars) with an optional prefix."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def utcnow() -> datetime:
    return datetime.now(UTC)


NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
NAMESPACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

AgentName = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case agent name, e.g. 'deepanalyze'")]
Namespace = Annotated[str, Field(pattern=NAMESPACE_PATTERN, description="tenant namespace")]


class Model(BaseModel):
    """Base for all contracts: unknown fields are errors (typos never pass silently)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, populate_by_name=True)


# --------------------------------------------------------------------------------------------- tasks


class TaskInput(Model):
    """One input handed to a task: a local file, a data reference (URI) or inline data. Exactly one of them."""

    name: str = Field(default="", description="how agents refer to this input; defaults to the file name")
    path: Path | None = Field(default=None, description="local file path")
    uri: str | None = Field(default=None, description="data reference, e.g. sqlite:///shop.db or https://...")
    data: Any = Field(default=None, description="inline JSON-compatible data")
    media_type: str | None = Field(default=None, description="MIME type; guessed from the file name if absent")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> TaskInput:
        given = [k for k in ("path", "uri", "data") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, uri or data (got {', '.join(given) or 'none'})")
        if not self.name:
            self.name = self.path.name if self.path else (self.uri.rsplit("/", 1)[-1] if self.uri else "data")
        if self.media_type is None and (self.path or self.uri):
            self.media_type = mimetypes.guess_type(str(self.path or self.uri))[0]
        return self

    @property
    def suffix(self) -> str:
        """Lower-case file extension ('.csv'), or '' for inline data."""
        src = str(self.path or self.uri or "")
        return Path(src).suffix.lower() if src else ""


class Budget(Model):
    """Upper bounds for one task (and everything it delegates)."""

    max_cost_usd: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=0)
    max_steps: int | None = Field(default=None, ge=1, description="agent invocations, delegations included")


class Task(Model):
    """A request to Genesis. ``text`` is what the user asked; everything else is optional context."""

    id: str = Field(default_factory=lambda: new_id("task_"))
    text: str = Field(min_length=1, description="the request in natural language")
    task_type: str | None = Field(default=None, description="optional explicit type, e.g. 'analytics'")
    agent: str | None = Field(default=None, description="force this agent (skips routing)")
    inputs: list[TaskInput] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict, description="agent-specific parameters")
    namespace: Namespace = "default"
    budget: Budget | None = None
    timeout_s: float | None = Field(default=None, gt=0, description="deadline for this task, seconds")
    parent_id: str | None = None
    depth: int = Field(default=0, ge=0, description="delegation depth (0 for a task from the user)")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("task text is empty")
        return value

    def input(self, name: str) -> TaskInput | None:
        return next((i for i in self.inputs if i.name == name), None)


# --------------------------------------------------------------------------------------------- cards

CostTier = Literal["free", "low", "medium", "high"]
COST_TIER_ORDER: dict[str, int] = {"free": 0, "low": 1, "medium": 2, "high": 3}


class Skill(Model):
    """One thing an agent can do. Maps 1:1 onto an A2A AgentSkill."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = ""
    description: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    task_types: list[str] = Field(default_factory=list, description="task_type values this skill serves")
    input_types: list[str] = Field(
        default_factory=list, description="accepted input file extensions ('.csv') or MIME types; empty = any"
    )
    output_types: list[str] = Field(default_factory=list, description="produced artifact types ('video/mp4')")
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _default_name(self) -> Skill:
        if not self.name:
            self.name = self.id.replace("_", " ").replace("-", " ")
        return self


class AgentCard(Model):
    """What an agent is and can do. The router decides from cards alone; A2A publishes them as agent cards."""

    name: AgentName
    description: str = Field(min_length=1)
    version: str = "0.1.0"
    skills: list[Skill] = Field(min_length=1)
    cost_tier: CostTier = "low"
    max_concurrency: int = Field(default=4, ge=1, le=10_000)
    url: str | None = Field(default=None, description="set for remote (A2A) agents")
    tags: list[str] = Field(default_factory=list)
    provider: str | None = None

    @model_validator(mode="after")
    def _unique_skill_ids(self) -> AgentCard:
        seen: set[str] = set()
        for skill in self.skills:
            if skill.id in seen:
                raise ValueError(f"duplicate skill id {skill.id!r}")
            seen.add(skill.id)
        return self

    def skill(self, skill_id: str) -> Skill | None:
        return next((s for s in self.skills if s.id == skill_id), None)

    @property
    def task_types(self) -> set[str]:
        return {t for s in self.skills for t in s.task_types}

    def accepts(self, suffix_or_mime: str) -> bool:
        """True if any skill accepts this input type (skills with no input_types accept anything)."""
        wanted = suffix_or_mime.lower()
        return any(not s.input_types or wanted in {t.lower() for t in s.input_types} for s in self.skills)


# --------------------------------------------------------------------------------------------- results


class Usage(Model):
    """Tokens, LLM calls and money spent. Added up per subtask and per run."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            llm_calls=self.llm_calls + other.llm_calls,
            cost_usd=round(self.cost_usd + other.cost_usd, 8),
        )


class Artifact(Model):
    """A file an agent produced (chart, video, dashboard). ``path`` is absolute on the producing machine."""

    name: str
    path: str
    media_type: str = "application/octet-stream"
    size_bytes: int = 0
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict, description="e.g. width, height, duration_s")

    @classmethod
    def from_path(cls, path: str | Path, *, description: str = "", **metadata: Any) -> Artifact:
        p = Path(path).resolve()
        return cls(
            name=p.name,
            path=str(p),
            media_type=mimetypes.guess_type(p.name)[0] or "application/octet-stream",
            size_bytes=p.stat().st_size if p.exists() else 0,
            description=description,
            metadata=metadata,
        )


SafetyAction = Literal["passed", "revised", "blocked", "coached", "monitored", "unreviewed"]


class SafetyVerdict(Model):
    """What the safety wrapper decided about one response. Attached to every reviewed ``AgentResult``."""

    action: SafetyAction
    labels: list[str] = Field(default_factory=list, description="e.g. ['unsafe_response:cyber_harm']")
    reason: str = ""
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    reviewer: str = Field(description="which reviewer produced this verdict (e.g. 'waltzrl', 'passthrough')")
    policy: str = "revise"
    rounds: int = 0
    feedback: str | None = Field(default=None, description="guidance for the agent/app (coach policy)")
    dir_reward: float | None = Field(default=None, description="Dynamic Improvement Reward of the revision")
    original_text: str | None = Field(default=None, description="the text before revision, kept for audit")
    audit_id: str | None = None


ResultStatus = Literal["ok", "failed"]


class AgentResult(Model):
    """What an agent returns. ``data`` holds structured numbers; ``text`` a human answer built from them."""

    status: ResultStatus = "ok"
    text: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[Artifact] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list, description="memory item ids the answer used")
    usage: Usage = Field(default_factory=Usage)
    safety: SafetyVerdict | None = None
    agent: str | None = None
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------- plans


class Subtask(Model):
    """One node of a plan. ``depends_on`` lists subtask ids whose results this one consumes."""

    id: str
    text: str = Field(min_length=1)
    task_type: str | None = None
    agent: str | None = Field(default=None, description="pinned agent (from the task or the planner)")
    depends_on: list[str] = Field(default_factory=list)
    inputs: list[TaskInput] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Plan(Model):
    """A DAG of subtasks. ``order()`` gives a topological order or raises ``PlanError`` on a cycle."""

    task_id: str
    subtasks: list[Subtask] = Field(min_length=1)
    planner: str = "single"
    explanation: str = ""

    def by_id(self) -> dict[str, Subtask]:
        return {s.id: s for s in self.subtasks}

    def order(self) -> list[str]:
        nodes = self.by_id()
        if len(nodes) != len(self.subtasks):
            raise PlanError("duplicate subtask ids in plan", field="subtasks")
        for s in self.subtasks:
            for dep in s.depends_on:
                if dep not in nodes:
                    raise PlanError(f"subtask {s.id!r} depends on unknown subtask {dep!r}", field="depends_on")
        indegree = {sid: len(set(s.depends_on)) for sid, s in nodes.items()}
        children: dict[str, list[str]] = {sid: [] for sid in nodes}
        for s in self.subtasks:
            for dep in set(s.depends_on):
                children[dep].append(s.id)
        ready = [sid for sid in nodes if indegree[sid] == 0]
        out: list[str] = []
        while ready:
            sid = ready.pop(0)
            out.append(sid)
            for child in children[sid]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if len(out) != len(nodes):
            cyclic = sorted(sid for sid, deg in indegree.items() if deg > 0)
            raise PlanError(f"plan has a dependency cycle among {', '.join(cyclic)}", field="depends_on")
        return out

    def ready(self, done: set[str], started: set[str]) -> list[Subtask]:
        """Subtasks whose dependencies are all in ``done`` and that have not started yet."""
        return [s for s in self.subtasks if s.id not in started and all(d in done for d in s.depends_on)]


class Candidate(Model):
    """One agent the router considered, with its final score and the per-signal scores behind it."""

    agent: str
    score: float
    signals: dict[str, float] = Field(default_factory=dict)
    note: str = ""


DecidedBy = Literal["explicit", "rule", "capability", "llm", "fallback", "unassigned", "task_type"]


class RoutingDecision(Model):
    """Which agent handles a subtask and why. ``agent is None`` means unassigned (out of scope)."""

    subtask_id: str
    agent: str | None
    score: float = 0.0
    decided_by: DecidedBy
    signal: str = Field(default="", description="the rule id or signal name that decided")
    explanation: str
    alternatives: list[Candidate] = Field(default_factory=list, description="ranked, best first")
    truncated: bool = Field(default=False, description="request text was truncated for scoring")
    latency_ms: float = 0.0


class ValidationIssue(Model):
    severity: Literal["error", "warning"]
    code: str
    message: str
    subtask_id: str | None = None


class ValidationReport(Model):
    """AOP-style plan validation: solvable, complete, non-redundant, acyclic, within budget."""

    ok: bool
    issues: list[ValidationIssue] = Field(default_factory=list)
    estimated_cost_usd: float = 0.0
    validator: str = "basic"


SubtaskStatus = Literal["succeeded", "failed", "timeout", "cancelled", "unassigned", "blocked", "skipped"]


class SubtaskResult(Model):
    """The outcome of one subtask: status, who ran it, the reviewed result, or why it did not finish."""

    subtask_id: str
    agent: str | None = None
    status: SubtaskStatus
    result: AgentResult | None = None
    error: dict[str, Any] | None = Field(default=None, description="GenesisError.to_dict() of the failure")
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def duration_ms(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at) * 1000


class Span(Model):
    """One timed step of a run (a stage, an agent call, a review). Exported to OpenTelemetry if configured."""

    name: str
    span_id: str = Field(default_factory=lambda: new_id())
    parent: str | None = None
    start: float = Field(default_factory=time.time)
    end: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    usage: Usage | None = None
    status: Literal["ok", "error"] = "ok"

    @property
    def duration_ms(self) -> float:
        return ((self.end or self.start) - self.start) * 1000


RunStatus = Literal["running", "succeeded", "partial", "failed", "cancelled", "interrupted"]


class RunResult(Model):
    """Everything a run produced: the plan, every routing decision, every subtask result, the trace."""

    run_id: str
    task: Task
    status: RunStatus
    text: str = ""
    plan: Plan | None = None
    decisions: list[RoutingDecision] = Field(default_factory=list)
    validation: ValidationReport | None = None
    results: list[SubtaskResult] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    trace: list[Span] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    started_at: float = Field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def artifacts(self) -> list[Artifact]:
        return [a for r in self.results if r.result for a in r.result.artifacts]

    @property
    def failed(self) -> list[SubtaskResult]:
        return [r for r in self.results if r.status != "succeeded"]

    def result_for(self, subtask_id: str) -> SubtaskResult | None:
        return next((r for r in self.results if r.subtask_id == subtask_id), None)


# --------------------------------------------------------------------------------------------- events


class _Event(Model):
    run_id: str
    ts: float = Field(default_factory=time.time)


class PlannedEvent(_Event):
    type: Literal["planned"] = "planned"
    plan: Plan


class RoutedEvent(_Event):
    type: Literal["routed"] = "routed"
    decisions: list[RoutingDecision]
    validation: ValidationReport | None = None


class SubtaskStartedEvent(_Event):
    type: Literal["subtask_started"] = "subtask_started"
    subtask_id: str
    agent: str


class ProgressEvent(_Event):
    """Emitted by agents through ``ctx.emit``: free text plus optional progress fraction and data."""

    type: Literal["progress"] = "progress"
    subtask_id: str | None = None
    agent: str | None = None
    message: str = ""
    progress: float | None = Field(default=None, ge=0.0, le=1.0)
    data: dict[str, Any] = Field(default_factory=dict)


class SubtaskFinishedEvent(_Event):
    type: Literal["subtask_finished"] = "subtask_finished"
    result: SubtaskResult


class ReviewedEvent(_Event):
    type: Literal["reviewed"] = "reviewed"
    subtask_id: str
    verdict: SafetyVerdict


class DoneEvent(_Event):
    type: Literal["done"] = "done"
    result: RunResult


RunEvent = Annotated[
    PlannedEvent | RoutedEvent | SubtaskStartedEvent | ProgressEvent | SubtaskFinishedEvent | ReviewedEvent
    | DoneEvent,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------------------------- memory


class MemoryItem(Model):
    """One remembered fact or document, with the provenance needed to trust or forget it later."""

    id: str = Field(default_factory=lambda: new_id("mem_"))
    text: str = Field(min_length=1)
    namespace: Namespace = "default"
    kind: str = Field(default="note", description="note | finding | document | summary | result ...")
    source_agent: str | None = None
    run_id: str | None = None
    created_at: float = Field(default_factory=time.time)
    ttl_s: float | None = Field(default=None, gt=0, description="expire this many seconds after created_at")
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict, description="file, query, url, ... it came from")

    @property
    def expires_at(self) -> float | None:
        return None if self.ttl_s is None else self.created_at + self.ttl_s


class Triple(Model):
    """A relation between two entities, e.g. (segment 'Month-to-month', 'has_churn_rate', '42.7%')."""

    subject: str = Field(min_length=1)
    predicate: str = Field(min_length=1)
    object: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)


class MemoryHit(Model):
    """A recalled item, its fused score, and which signals found it (signal -> 1-based rank)."""

    item: MemoryItem
    score: float
    signals: dict[str, int] = Field(default_factory=dict)


RecallMode = Literal["hybrid", "vector", "keyword", "graph"]


@runtime_checkable
class Memory(Protocol):
    """The shared memory contract (implemented by the in-process memory and by ``HybridMemory``)."""

    async def remember(self, item: MemoryItem, *, triples: Sequence[Triple] = ()) -> MemoryItem: ...

    async def recall(
        self,
        query: str,
        *,
        k: int = 5,
        namespace: str = "default",
        mode: RecallMode = "hybrid",
        filters: dict[str, Any] | None = None,
    ) -> list[MemoryHit]: ...

    async def relate(
        self, subject: str, predicate: str, object: str, *, namespace: str = "default", **properties: Any
    ) -> Triple: ...

    async def neighbours(self, entity: str, *, hops: int = 1, namespace: str = "default") -> list[Triple]: ...

    async def forget(
        self, ids: Sequence[str] | None = None, *, namespace: str = "default", filters: dict[str, Any] | None = None
    ) -> int: ...

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------------------------- agents


class AgentContext(abc.ABC):
    """What the runtime hands an agent: scoped memory, the LLM (or None), delegation, events, artifacts.

    Agents must not reach around it: delegation goes back through the router (so it is routed, limited,
    and safety-reviewed), and artifacts go into the run's artifact directory.
    """

    run_id: str
    subtask_id: str
    task: Task
    agent_name: str
    upstream: dict[str, AgentResult]
    """Results of the subtasks this one depends on (data flow), keyed by subtask id."""
    settings: Any
    """The host's ``GenesisSettings`` (data dir, limits), so agents never re-read the environment."""

    @property
    @abc.abstractmethod
    def memory(self) -> ScopedMemory: ...

    @property
    @abc.abstractmethod
    def llm(self) -> BaseChatModel | None: ...

    @property
    @abc.abstractmethod
    def artifact_dir(self) -> Path:
        """A directory reserved for this subtask's files (created on first access)."""

    @abc.abstractmethod
    async def delegate(
        self, task: Task | str, *, agent: str | None = None, inputs: Sequence[TaskInput] = ()
    ) -> AgentResult:
        """Hand work to another agent through the router. Raises ``LimitExceededError`` past depth/steps."""

    @abc.abstractmethod
    def emit(self, message: str = "", *, progress: float | None = None, **data: Any) -> None:
        """Report progress; it reaches ``Genesis.astream`` consumers and A2A streaming clients."""

    @property
    @abc.abstractmethod
    def cancelled(self) -> bool: ...

    def check_cancelled(self) -> None:
        """Raise ``CancelledError`` if the run was cancelled; call it between long steps."""
        if self.cancelled:
            from .errors import CancelledError

            raise CancelledError("run was cancelled")

    @abc.abstractmethod
    def add_usage(self, usage: Usage) -> None:
        """Account LLM usage spent by the agent outside ``ctx.llm`` (which is accounted automatically)."""


class ScopedMemory:
    """The memory as one agent in one run sees it: namespace, source agent and run id filled in."""

    def __init__(self, memory: Memory, *, namespace: str, agent: str | None, run_id: str | None):
        self.backend = memory
        self.namespace = namespace
        self.agent = agent
        self.run_id = run_id

    async def remember(
        self,
        text: str | MemoryItem,
        *,
        kind: str = "note",
        tags: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        ttl_s: float | None = None,
        triples: Sequence[Triple] = (),
    ) -> MemoryItem:
        if isinstance(text, MemoryItem):
            item = text.model_copy(update={"namespace": self.namespace})
        else:
            item = MemoryItem(
                text=text,
                namespace=self.namespace,
                kind=kind,
                source_agent=self.agent,
                run_id=self.run_id,
                tags=list(tags),
                metadata=metadata or {},
                provenance=provenance or {},
                ttl_s=ttl_s,
            )
        return await self.backend.remember(item, triples=triples)

    async def recall(self, query: str, *, k: int = 5, mode: RecallMode = "hybrid",
                     filters: dict[str, Any] | None = None) -> list[MemoryHit]:
        return await self.backend.recall(query, k=k, namespace=self.namespace, mode=mode, filters=filters)

    async def relate(self, subject: str, predicate: str, object: str, **properties: Any) -> Triple:
        return await self.backend.relate(subject, predicate, object, namespace=self.namespace, **properties)

    async def neighbours(self, entity: str, *, hops: int = 1) -> list[Triple]:
        return await self.backend.neighbours(entity, hops=hops, namespace=self.namespace)

    async def forget(self, ids: Sequence[str] | None = None, *, filters: dict[str, Any] | None = None) -> int:
        return await self.backend.forget(ids, namespace=self.namespace, filters=filters)


class Agent(abc.ABC):
    """Subclass, set ``card``, implement ``run``. Register with ``@register_agent`` or an entry point.

    ``tunables`` declares parameters SE-Darwin may evolve (name -> spec); the runtime passes the active
    values in ``self.config``.
    """

    card: ClassVar[AgentCard]
    tunables: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = {name: spec.get("default") for name, spec in self.tunables.items()}
        if config:
            self.config.update(config)

    @property
    def name(self) -> str:
        return self.card.name

    @abc.abstractmethod
    async def run(self, task: Task, ctx: AgentContext) -> AgentResult: ...

    async def aclose(self) -> None:
        """Release resources (connections, models). Called when the host shuts down."""


# --------------------------------------------------------------------------------------------- stages


@runtime_checkable
class Planner(Protocol):
    """Turns a task into a plan (a DAG of subtasks)."""

    name: str

    async def plan(self, task: Task, cards: Sequence[AgentCard], *, llm: BaseChatModel | None = None) -> Plan: ...


@runtime_checkable
class Router(Protocol):
    """Chooses an agent for each subtask, explaining why."""

    name: str

    async def route(
        self, subtask: Subtask, task: Task, cards: Sequence[AgentCard], *, llm: BaseChatModel | None = None
    ) -> RoutingDecision: ...

    def record_outcome(self, agent: str, *, success: bool, latency_ms: float) -> None: ...


@runtime_checkable
class PlanValidator(Protocol):
    name: str

    def validate(
        self, plan: Plan, decisions: Sequence[RoutingDecision], cards: Sequence[AgentCard], task: Task
    ) -> ValidationReport: ...


RerunFn = Callable[[str], Awaitable[AgentResult]]
"""Re-run the reviewed agent with safety feedback appended to its task (used for over-refusals)."""


class ReviewRequest(Model):
    """Everything the safety reviewer sees about one response."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    task: Task
    result: AgentResult
    agent: str
    run_id: str
    subtask_id: str
    remote: bool = False


@runtime_checkable
class SafetyReviewer(Protocol):
    """Reviews every agent response before anyone sees it; returns the (possibly revised) result with
    ``result.safety`` set. It must never return a result without a verdict."""

    name: str

    async def review(
        self, request: ReviewRequest, *, rerun: RerunFn | None = None, llm: BaseChatModel | None = None
    ) -> AgentResult: ...


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_len: int = 40) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:max_len] or "item"
