"""The scenario format: what a suite file says (pydantic models, published as a JSON Schema).

A suite is a YAML file (``suite``, ``defaults``, ``scenarios``) or a JSONL file (one scenario per line).
Every model forbids unknown keys, so a typo in an expectation is a load error naming file, line and field
instead of a check that silently never runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..contracts import NAME_PATTERN, Budget, DecidedBy, RunStatus, SafetyAction, TaskInput

SCENARIO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
Priority = Literal["low", "normal", "high", "critical"]
PRIORITY_WEIGHT: dict[str, float] = {"low": 0.5, "normal": 1.0, "high": 2.0, "critical": 4.0}
Split = Literal["train", "holdout"]

_OPERATORS = ("equals", "contains", "not_contains", "regex", "json_schema", "approx", "min", "max", "exists")


class EvalModel(BaseModel):
    """Base of every scenario model: unknown keys are errors (a misspelt check must never pass silently)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SourceRef(BaseModel):
    """Where a scenario came from, so every later error (unknown agent, failed check) can point at it."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class CountRange(EvalModel):
    """An inclusive integer range; a bare integer ``n`` means exactly ``n``."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_int(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"min": value, "max": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def contains(self, n: int) -> bool:
        return (self.min is None or n >= self.min) and (self.max is None or n <= self.max)

    def __str__(self) -> str:
        if self.min == self.max and self.min is not None:
            return str(self.min)
        return f"[{'' if self.min is None else self.min}..{'' if self.max is None else self.max}]"


class ScriptedLLM(EvalModel):
    """Scripted replies for a deterministic run (a ``ScriptedChatModel`` built fresh for every attempt)."""

    replies: list[str] = Field(default_factory=list)
    rules: list[dict[str, str]] = Field(default_factory=list, description="[{match: REGEX, reply: TEXT}]")
    cycle: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        return {"replies": value} if isinstance(value, list) else value


class ScenarioTask(EvalModel):
    """The task a scenario sends through ``Genesis.arun``. A bare string is shorthand for ``{text: ...}``."""

    text: str = Field(min_length=1, description="the request in natural language")
    agent: str | None = Field(default=None, pattern=NAME_PATTERN, description="pin an agent; omit to let the router decide")
    task_type: str | None = None
    inputs: list[TaskInput] = Field(default_factory=list, description="file paths are relative to the suite file")
    params: dict[str, Any] = Field(default_factory=dict)
    namespace: str = Field(default="eval", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                           description="memory namespace; 'eval' keeps evaluation runs out of users' data")
    budget: Budget | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("task text is empty")
        return value


class RoutingExpect(EvalModel):
    """Expectations on the plan and the routing decisions (``RunResult.plan`` / ``RunResult.decisions``)."""

    agent: str | None = Field(default=None, pattern=NAME_PATTERN,
                              description="every routed subtask went to this agent")
    agents: list[str] | None = Field(default=None, description="the agents of the subtasks, in plan order, exactly")
    agents_include: list[str] = Field(default_factory=list)
    agents_exclude: list[str] = Field(default_factory=list)
    unassigned: bool | None = Field(default=None, description="true: some subtask was left unassigned (out of scope)")
    decided_by: list[DecidedBy] | None = Field(default=None, description="every decision was made by one of these")
    subtasks: CountRange | None = Field(default=None, description="number of subtasks in the plan")
    max_depth: int | None = Field(default=None, ge=1, description="longest dependency chain, in subtasks")
    planner: str | None = None

    def agent_names(self) -> set[str]:
        names = set(self.agents or []) | set(self.agents_include) | set(self.agents_exclude)
        if self.agent:
            names.add(self.agent)
        return names


class OutputCheck(EvalModel):
    """One check on a value reached by a dotted ``path``.

    ``path`` starts at the final subtask's ``AgentResult`` (``text``, ``data.churn.rate``, ``status``,
    ``artifacts.0.name``), or at the run with ``run.`` (``run.text``, ``run.usage.cost_usd``). ``subtask``
    picks another subtask's result by id.
    """

    path: str = Field(default="text", pattern=r"^[A-Za-z0-9_.\-]+$")
    subtask: str | None = None
    equals: Any = None
    contains: str | list[str] | None = None
    not_contains: str | list[str] | None = None
    regex: str | None = None
    json_schema: dict[str, Any] | None = None
    approx: float | None = None
    tolerance: float | None = Field(default=None, ge=0, description="absolute tolerance for approx")
    rel_tolerance: float | None = Field(default=None, ge=0, description="relative tolerance for approx")
    min: float | None = None
    max: float | None = None
    exists: bool | None = None
    case_sensitive: bool = True

    @model_validator(mode="after")
    def _one_operator(self) -> OutputCheck:
        given = [op for op in _OPERATORS if op in self.model_fields_set]
        if not given:
            raise ValueError(f"an output check needs one of {', '.join(_OPERATORS)}")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        if self.json_schema is not None:
            from jsonschema import Draft202012Validator
            from jsonschema.exceptions import SchemaError

            try:
                Draft202012Validator.check_schema(self.json_schema)
            except SchemaError as exc:
                raise ValueError(f"json_schema is not a valid JSON Schema: {exc.message}") from None
        if (self.tolerance is not None or self.rel_tolerance is not None) and self.approx is None:
            raise ValueError("tolerance/rel_tolerance need approx")
        return self

    def operators(self) -> list[str]:
        return [op for op in _OPERATORS if op in self.model_fields_set]


class ArtifactExpect(EvalModel):
    """An artifact that must exist, with properties measured from the file (PyAV for video, Pillow for images)."""

    name: str | None = Field(default=None, description="glob on the artifact file name, e.g. '*.mp4'")
    media_type: str | None = Field(default=None, description="glob on the MIME type, e.g. 'video/*'")
    count: CountRange = Field(default_factory=lambda: CountRange(min=1), description="how many must match")
    min_size_bytes: int | None = Field(default=None, ge=0)
    duration_s: float | None = Field(default=None, ge=0)
    duration_tolerance_s: float = Field(default=0.25, ge=0)
    min_duration_s: float | None = Field(default=None, ge=0)
    max_duration_s: float | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, ge=1)
    height: int | None = Field(default=None, ge=1)
    fps: float | None = Field(default=None, gt=0)
    fps_tolerance: float = Field(default=0.5, ge=0)
    has_audio: bool | None = None
    text_contains: str | list[str] | None = Field(default=None, description="text files: must contain (all of)")
    text_not_contains: str | list[str] | None = Field(default=None, description="text files: must not contain")

    def needs_probe(self) -> bool:
        return any(getattr(self, f) is not None for f in (
            "duration_s", "min_duration_s", "max_duration_s", "width", "height", "fps", "has_audio"))


class SafetyExpect(EvalModel):
    """The expected safety verdict (most severe across the run's subtasks). A bare string names the action."""

    action: SafetyAction | list[SafetyAction]
    labels_include: list[str] = Field(default_factory=list, description="label prefixes that must appear")

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: Any) -> Any:
        return {"action": value} if isinstance(value, (str, list)) else value

    @property
    def actions(self) -> list[str]:
        return [self.action] if isinstance(self.action, str) else list(self.action)


class BudgetExpect(EvalModel):
    """Cost and latency budgets for one attempt. Latency is the wall time of ``Genesis.arun`` measured here."""

    max_cost_usd: float | None = Field(default=None, ge=0)
    max_latency_ms: float | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, ge=0)
    max_llm_calls: int | None = Field(default=None, ge=0)


class JudgeExpect(EvalModel):
    """LLM-as-judge rubric. Only evaluated when a judge model is configured; otherwise skipped with a reason."""

    rubric: str = Field(min_length=1)
    min_score: float = Field(default=0.7, ge=0, le=1)
    path: str = Field(default="run.text", description="what the judge reads (same paths as output checks)")


class Expectations(EvalModel):
    """Everything a scenario asserts. ``status`` defaults to 'succeeded' unless a block/unassigned/raise is expected."""

    status: RunStatus | list[RunStatus] | None = None
    raises: str | None = Field(default=None, description="expected GenesisError code, e.g. 'bad_input'")
    routing: RoutingExpect | None = None
    output: list[OutputCheck] = Field(default_factory=list)
    artifacts: list[ArtifactExpect] = Field(default_factory=list)
    safety: SafetyExpect | None = None
    budget: BudgetExpect | None = None
    judge: JudgeExpect | None = None

    @field_validator("output", "artifacts", mode="before")
    @classmethod
    def _single_to_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    def expected_statuses(self) -> list[str] | None:
        if self.status is not None:
            return [self.status] if isinstance(self.status, str) else list(self.status)
        if self.raises or (self.routing and self.routing.unassigned):
            return None
        if self.safety and "blocked" in self.safety.actions:
            return None
        return ["succeeded"]


class Scenario(EvalModel):
    """One scripted evaluation case: a task, how often and how long to run it, and what must hold."""

    id: str = Field(pattern=SCENARIO_ID_PATTERN)
    description: str = ""
    task: ScenarioTask
    tags: list[str] = Field(default_factory=list)
    split: Split = Field(default="train", description="'holdout' scenarios are kept out of optimisation (SE-Darwin)")
    priority: Priority = "normal"
    repeat: int = Field(default=1, ge=1, le=100)
    min_pass_rate: float = Field(default=1.0, ge=0, le=1, description="share of repeats that must pass")
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    seed: int | None = None
    llm: ScriptedLLM | None = Field(default=None, description="scripted replies: a deterministic LLM for this scenario")
    expect: Expectations = Field(default_factory=Expectations)

    _source: SourceRef | None = PrivateAttr(default=None)
    _suite: str = PrivateAttr(default="")
    _field_lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> SourceRef | None:
        return self._source

    @property
    def suite(self) -> str:
        return self._suite

    @property
    def key(self) -> str:
        """Unique across suites: ``suite::id``."""
        return f"{self._suite}::{self.id}"

    def where(self, field: str = "") -> str:
        """``file:line: scenarios[id].field`` for error messages, using the line of the field where known."""
        src = self._source
        line = self._field_lines.get(field, src.line if src else 0)
        loc = f"{src.file}:{line}" if src and line else (src.file if src else "<memory>")
        return f"{loc}: scenario {self.id!r}" + (f" {field}" if field else "")

    def fingerprint(self) -> str:
        """Hash of the definition: a journal entry is reused on resume only if the scenario did not change."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(f"{self._suite}\n{blob}".encode()).hexdigest()[:16]


class SuiteDefaults(EvalModel):
    """Values applied to every scenario of a file that does not set them (tags are added, not replaced)."""

    tags: list[str] = Field(default_factory=list)
    split: Split | None = None
    priority: Priority | None = None
    repeat: int | None = Field(default=None, ge=1, le=100)
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    min_pass_rate: float | None = Field(default=None, ge=0, le=1)


class SuiteFile(EvalModel):
    """A YAML suite file. (A JSONL suite is just the ``scenarios``, one per line.)"""

    schema_ref: str | None = Field(default=None, alias="$schema", description="path/URL of scenario.schema.json")
    suite: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                              description="suite name; defaults to the file name without extension")
    description: str = ""
    version: str = "1"
    defaults: SuiteDefaults = Field(default_factory=SuiteDefaults)
    scenarios: list[Scenario] = Field(min_length=1)


class Suite(BaseModel):
    """A loaded suite: defaults applied, input paths resolved, ids unique."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    path: Path | None = None
    description: str = ""
    version: str = "1"
    scenarios: list[Scenario]

    def __init__(self, **data: Any) -> None:
        """Suites built in code (not loaded from a file) get the same guarantees: unique ids, suite names set."""
        super().__init__(**data)
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.id in seen:
                from ..errors import BadInputError

                raise BadInputError(f"duplicate scenario id {scenario.id!r} in suite {self.name!r}", field="scenarios")
            seen.add(scenario.id)
            if not scenario._suite:
                scenario._suite = self.name

    def select(self, *, tags: list[str] | None = None, split: str | None = None,
               ids: list[str] | None = None) -> list[Scenario]:
        """Scenarios having any of ``tags``, in ``split``, and among ``ids`` (each filter optional)."""
        out = []
        for s in self.scenarios:
            if tags and not set(tags) & set(s.tags):
                continue
            if split and s.split != split:
                continue
            if ids and s.id not in ids:
                continue
            out.append(s)
        return out

    def agent_names(self) -> dict[str, list[tuple[Scenario, str]]]:
        """Every agent name a scenario mentions -> where (scenario, field)."""
        out: dict[str, list[tuple[Scenario, str]]] = {}
        for s in self.scenarios:
            if s.task.agent:
                out.setdefault(s.task.agent, []).append((s, "task.agent"))
            if s.expect.routing:
                for name in sorted(s.expect.routing.agent_names()):
                    out.setdefault(name, []).append((s, "expect.routing"))
        return out
