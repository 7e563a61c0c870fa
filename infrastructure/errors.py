"""One exception hierarchy for everything Genesis raises on purpose.

Every error says *what* was wrong (``field``), what was expected, and how to fix it (``hint``), so the CLI
and the HTTP API can print one clear line instead of a traceback. Catch ``GenesisError`` to catch them all.
"""

from __future__ import annotations

from typing import Any


class GenesisError(Exception):
    """Base class. ``code`` is a stable machine-readable identifier (used by the CLI, HTTP API and A2A)."""

    code = "genesis_error"

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None, **details: Any):
        self.message = message
        self.field = field
        self.hint = hint
        self.details = details
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "type": type(self).__name__, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.hint:
            out["hint"] = self.hint
        if self.details:
            out["details"] = {k: v for k, v in self.details.items() if _is_plain(v)}
        return out


def _is_plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), list, dict, tuple))


class BadInputError(GenesisError, ValueError):
    """The caller passed something invalid (empty text, malformed file, wrong type)."""

    code = "bad_input"


class ConfigError(BadInputError):
    """Configuration (env vars, genesis.toml, rules files) is invalid."""

    code = "config_error"


class UnknownAgentError(BadInputError, LookupError):
    """A task, rule or scenario names an agent that is not registered."""

    code = "unknown_agent"

    def __init__(self, name: str, known: list[str] | None = None, *, field: str | None = "agent"):
        import difflib

        known = sorted(known or [])
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else (
            f"registered agents: {', '.join(known)}" if known else "no agents are registered"
        )
        super().__init__(f"unknown agent {name!r}", field=field, hint=hint, name=name, known=known)


class InvalidCardError(BadInputError):
    """An ``AgentCard`` (or plugin) failed validation."""

    code = "invalid_card"


class PlanError(BadInputError):
    """A plan is malformed: a cycle, a dangling dependency, too many subtasks."""

    code = "invalid_plan"


class LimitExceededError(GenesisError):
    """A configured limit (size, depth, steps, budget, rate) was exceeded."""

    code = "limit_exceeded"

    def __init__(self, message: str, *, limit: str, value: Any = None, maximum: Any = None, **kw: Any):
        hint = kw.pop("hint", None) or f"raise the limit with GENESIS_{limit.upper()} if this is intended"
        super().__init__(message, field=kw.pop("field", None), hint=hint, limit=limit, value=value,
                         maximum=maximum, **kw)
        self.limit = limit


class AgentFailedError(GenesisError):
    """An agent raised, returned garbage, or is unavailable (circuit open, remote peer down)."""

    code = "agent_failed"

    def __init__(self, agent: str, message: str, **kw: Any):
        super().__init__(f"agent {agent!r} failed: {message}", agent=agent, **kw)
        self.agent = agent


class TaskTimeoutError(GenesisError, TimeoutError):
    """A task or subtask ran past its deadline."""

    code = "timeout"


class CancelledError(GenesisError):
    """The run was cancelled by the caller. (Distinct from ``asyncio.CancelledError``.)"""

    code = "cancelled"


class BackendUnavailableError(GenesisError):
    """A storage or model backend (Chroma, graph DB, LLM) cannot be reached. Names the backend and URL."""

    code = "backend_unavailable"

    def __init__(self, backend: str, message: str, *, url: str | None = None, **kw: Any):
        where = f" at {url}" if url else ""
        super().__init__(f"{backend}{where} is unavailable: {message}", backend=backend, url=url, **kw)
        self.backend = backend
        self.url = url


class NotFoundError(BadInputError, LookupError):
    """A run, memory item, key or artifact that was asked for does not exist."""

    code = "not_found"


class SafetyBlockedError(GenesisError):
    """Raised only where a caller asked for an exception instead of a blocked result."""

    code = "safety_blocked"
