"""HALO routing: HTDAG planning, explainable rule + capability routing, AOP plan validation."""

from .capability import Calibration, CapabilityIndex, index_for
from .cards_io import load_cards
from .factory import build_planner, build_router, build_validator
from .health import HealthTracker
from .lexicon import Lexicon, default_lexicon
from .limits import PlanLimits
from .planner import HTDAGPlanner
from .router import DEFAULT_RULES_PATH, HaloRouter
from .rules import Rule, RuleSet, RulesSource
from .validator import AOPValidator

__all__ = [
    "DEFAULT_RULES_PATH",
    "AOPValidator",
    "Calibration",
    "CapabilityIndex",
    "HTDAGPlanner",
    "HaloRouter",
    "HealthTracker",
    "Lexicon",
    "PlanLimits",
    "Rule",
    "RuleSet",
    "RulesSource",
    "build_planner",
    "build_router",
    "build_validator",
    "default_lexicon",
    "index_for",
    "load_cards",
]
