"""Build the routing stages from ``GenesisSettings`` (what ``Genesis`` calls for its defaults)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .limits import PlanLimits
from .planner import HTDAGPlanner
from .router import DEFAULT_RULES_PATH, HaloRouter
from .validator import AOPValidator

if TYPE_CHECKING:  # pragma: no cover
    from ..config import GenesisSettings


def limits_from(settings: GenesisSettings) -> PlanLimits:
    return PlanLimits(max_subtasks=settings.max_subtasks)


def build_planner(settings: GenesisSettings) -> HTDAGPlanner:
    """``HTDAGPlanner`` bounded by ``settings.max_subtasks``."""
    return HTDAGPlanner(limits=limits_from(settings))


def build_router(settings: GenesisSettings) -> HaloRouter:
    """``HaloRouter`` with ``settings.router_rules`` (hot-reloaded) or the built-in default rules,
    ``settings.fallback_agent`` for out-of-scope subtasks (validated against the cards at routing time), and
    the shipped business glossary extended by ``settings.router_glossary`` files."""
    return HaloRouter(rules=settings.router_rules or DEFAULT_RULES_PATH, fallback_agent=settings.fallback_agent,
                      glossary=settings.router_glossary)


def build_validator(settings: GenesisSettings) -> AOPValidator:
    return AOPValidator(limits=limits_from(settings))
