"""HALO routing: HTDAG planning, explainable rule + capability routing, AOP plan validation."""

from .capability import Calibration, CapabilityIndex, index_for
from .cards_io import load_cards
from .health import HealthTracker
from .limits import PlanLimits
from .planner import HTDAGPlanner
from .router import DEFAULT_RULES_PATH, HaloRouter
from .rules import Rule, RuleSet, RulesSource
from .validator import AOPValidator

__all__ = [
    "AOPValidator", "DEFAULT_RULES_PATH", "Calibration", "HTDAGPlanner", "PlanLimits", "CapabilityIndex", "HaloRouter", "HealthTracker", "Rule", "RuleSet",
    "RulesSource", "index_for", "load_cards",
]
