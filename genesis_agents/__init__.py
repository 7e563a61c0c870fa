"""Genesis: a multi-agent framework with a HALO router, hybrid RAG memory and WaltzRL safety.

This module only re-exports the public API; the code lives in the subpackages
(``genesis_agents.infrastructure``, ``.agents``, ``.memory``, ``.safety``, ``.evolution``).
"""

from genesis_agents.infrastructure.config import GenesisSettings, load_settings
from genesis_agents.infrastructure.contracts import (
    Agent,
    AgentCard,
    AgentContext,
    AgentResult,
    Artifact,
    Budget,
    MemoryHit,
    MemoryItem,
    Plan,
    RoutingDecision,
    RunResult,
    SafetyVerdict,
    Skill,
    Subtask,
    SubtaskResult,
    Task,
    TaskInput,
    Triple,
    Usage,
)
from genesis_agents.infrastructure.errors import (
    AgentFailedError,
    BackendUnavailableError,
    BadInputError,
    CancelledError,
    ConfigError,
    GenesisError,
    InvalidCardError,
    LimitExceededError,
    NotFoundError,
    PlanError,
    TaskTimeoutError,
    UnknownAgentError,
)
from genesis_agents.infrastructure.facade import Genesis
from genesis_agents.infrastructure.llm import ScriptedChatModel
from genesis_agents.infrastructure.registry import register_agent

__version__ = "0.1.0"

__all__ = [
    "Agent", "AgentCard", "AgentContext", "AgentFailedError", "AgentResult", "Artifact", "BackendUnavailableError",
    "BadInputError", "Budget", "CancelledError", "ConfigError", "Genesis", "GenesisError", "GenesisSettings",
    "InvalidCardError", "LimitExceededError", "MemoryHit", "MemoryItem", "NotFoundError", "Plan", "PlanError",
    "RoutingDecision", "RunResult", "SafetyVerdict", "ScriptedChatModel", "Skill", "Subtask", "SubtaskResult",
    "Task", "TaskInput", "TaskTimeoutError", "Triple", "UnknownAgentError", "Usage", "load_settings",
    "register_agent",
]
