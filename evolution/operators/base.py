"""The one interface every variation operator implements, and the registry that finds them by name.

An operator turns parent variants into child genomes. Which parents it wants is declared by
``parent_kind`` so that the engine can ask the archive for them (the best, the failed, a diverse pair)
without knowing anything about the operator. Third-party operators register with ``@register_operator``
or through the entry-point group ``genesis_agents.evolution_operators``.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ...infrastructure.errors import BadInputError, ConfigError
from ..genome import Genome, Variant

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

ParentKind = Literal["selected", "selected_pair", "failed", "successful_pair", "best"]
ENTRY_POINT_GROUP = "genesis_agents.evolution_operators"


@dataclass
class OperatorContext:
    """What an operator may use: the tunable specs, a seeded RNG, the LLM (or None) and pool insights."""

    specs: dict[str, Any]
    rng: random.Random
    llm: BaseChatModel | None = None
    insights: list[str] = field(default_factory=list)
    agent_name: str = "agent"
    agent_description: str = ""
    llm_calls: int = 0


class Operator(abc.ABC):
    """Subclass, set ``name``/``parent_kind``, implement ``apply``. Return [] when nothing applies."""

    name: ClassVar[str]
    parent_kind: ClassVar[ParentKind] = "selected"
    needs_llm: ClassVar[bool] = False

    @property
    def arity(self) -> int:
        return 2 if self.parent_kind.endswith("pair") else 1

    def applicable(self, specs: dict[str, Any], llm: Any) -> bool:
        """Whether this operator can change anything for these tunables (and has the LLM it needs)."""
        return llm is not None or not self.needs_llm

    @abc.abstractmethod
    async def apply(self, parents: Sequence[Variant], ctx: OperatorContext) -> list[Genome]:
        """Child genomes (unvalidated is fine: the engine validates and drops duplicates)."""


_REGISTRY: dict[str, type[Operator]] = {}


def register_operator(cls: type[Operator]) -> type[Operator]:
    """Class decorator: make an operator available by its ``name``."""
    if not getattr(cls, "name", None):
        raise BadInputError("operator class has no name", field="name")
    _REGISTRY[cls.name] = cls
    return cls


def available_operators() -> dict[str, type[Operator]]:
    """Built-in, decorated and entry-point operators, by name."""
    out = dict(_REGISTRY)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in out:
            out[ep.name] = ep.load()
    return out


def build_operators(names: Sequence[str] | None, *, llm: Any = None) -> list[Operator]:
    """Instantiate operators by name. ``None`` = every built-in that is usable (LLM ones only with an LLM)."""
    known = available_operators()
    if names is None:
        return [cls() for cls in known.values() if llm is not None or not cls.needs_llm]
    out: list[Operator] = []
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown operator {name!r}", field="operators", hint=f"known: {sorted(known)}")
        cls = known[name]
        if cls.needs_llm and llm is None:
            raise ConfigError(f"operator {name!r} needs an LLM and none is configured", field="operators")
        out.append(cls())
    return out
