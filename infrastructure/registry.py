"""The agent registry: built-ins, entry-point plugins, decorated classes and agents registered at run time.

A broken plugin must never take the host app down: it is recorded in ``registry.problems`` with its name
and the reason, and skipped. Cards are validated on registration (unique names, non-empty skills).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from .contracts import Agent, AgentCard
from .errors import InvalidCardError, UnknownAgentError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "genesis_agents.agents"

BUILTIN_AGENTS: dict[str, str] = {
    "deepanalyze": "genesis_agents.agents.deepanalyze:DeepAnalyzeAgent",
    "videogen": "genesis_agents.agents.videogen:VideoGenAgent",
    "se_darwin": "genesis_agents.agents.se_darwin:SEDarwinAgent",
}
"""Built-ins are loaded like plugins (same code path, same error handling)."""

_decorated: dict[str, type[Agent]] = {}


def register_agent(cls: type[Agent]) -> type[Agent]:
    """Class decorator: make an ``Agent`` subclass available to every ``Genesis`` created afterwards."""
    card = validate_card(getattr(cls, "card", None), source=cls.__qualname__)
    _decorated[card.name] = cls
    return cls


def validate_card(card: Any, *, source: str) -> AgentCard:
    """Accept an ``AgentCard`` or a dict; raise ``InvalidCardError`` naming the source and the field."""
    if isinstance(card, AgentCard):
        try:  # re-validate: a card may have been built with model_construct or mutated
            return AgentCard.model_validate(card.model_dump())
        except ValidationError as exc:
            raise _card_error(exc, source) from None
    if isinstance(card, dict):
        try:
            return AgentCard.model_validate(card)
        except ValidationError as exc:
            raise _card_error(exc, source) from None
    raise InvalidCardError(f"{source} has no AgentCard (set the class attribute `card`)", field="card")


def _card_error(exc: ValidationError, source: str) -> InvalidCardError:
    err = exc.errors()[0]
    field = "card." + ".".join(str(p) for p in err["loc"])
    return InvalidCardError(f"invalid card in {source}: {err['msg']}", field=field)


@dataclass
class PluginProblem:
    """A plugin that could not be loaded, and why (shown by ``genesis agents list`` and ``genesis doctor``)."""

    name: str
    source: str
    error: str


class AgentRegistry:
    """Name -> agent instance. Not thread-safe for writes; reads are cheap dictionary lookups."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}
        self.problems: list[PluginProblem] = []

    # -- registration
    def register(self, agent: Agent, *, replace: bool = False) -> AgentCard:
        if not isinstance(agent, Agent):
            raise InvalidCardError(
                f"expected an Agent instance, got {type(agent).__name__}", field="agent",
                hint="subclass genesis_agents.Agent and pass an instance",
            )
        card = validate_card(getattr(agent, "card", None), source=type(agent).__qualname__)
        if card.name in self._agents and not replace:
            raise InvalidCardError(f"an agent named {card.name!r} is already registered", field="card.name",
                                   hint="pass replace=True to swap it")
        self._agents[card.name] = agent
        return card

    def unregister(self, name: str) -> Agent:
        try:
            return self._agents.pop(name)
        except KeyError:
            raise UnknownAgentError(name, list(self._agents)) from None

    def load_plugins(self, *, disabled: Iterable[str] = (), config_for: Any = None) -> None:
        """Load built-ins, entry points and decorated classes; record (never raise) what fails."""
        disabled = set(disabled)
        specs: list[tuple[str, str, Any]] = [(n, ref, None) for n, ref in BUILTIN_AGENTS.items()]
        for ep in _entry_points():
            specs.append((ep.name, ep.value, ep))
        for name, cls in _decorated.items():
            specs.append((name, f"{cls.__module__}:{cls.__qualname__}", cls))
        for name, ref, target in specs:
            if name in disabled or name in self._agents:
                continue
            try:
                if isinstance(target, type):
                    cls = target
                elif isinstance(target, EntryPoint):
                    cls = target.load()
                else:
                    cls = _import_ref(ref)
                config = config_for(name) if config_for else None
                agent = cls(config=config) if config else cls()
                self.register(agent)
            except Exception as exc:  # noqa: BLE001 - a plugin may fail in any way; the host must survive
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("agent plugin %s (%s) skipped: %s", name, ref, reason)
                self.problems.append(PluginProblem(name=name, source=ref, error=reason))

    # -- lookup
    def get(self, name: str) -> Agent:
        agent = self._agents.get(name)
        if agent is None:
            raise UnknownAgentError(name, list(self._agents))
        return agent

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def __len__(self) -> int:
        return len(self._agents)

    def names(self) -> list[str]:
        return sorted(self._agents)

    def cards(self) -> list[AgentCard]:
        return [self._agents[n].card for n in self.names()]

    def agents(self) -> list[Agent]:
        return [self._agents[n] for n in self.names()]


def _entry_points() -> list[EntryPoint]:
    try:
        return list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # noqa: BLE001 - broken metadata of an unrelated package
        return []


def _import_ref(ref: str) -> Any:
    import importlib

    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
