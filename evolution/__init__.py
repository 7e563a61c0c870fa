"""SE-Darwin: evolve an agent's tunables, prompts and code against an evaluation suite.

Fitness is always measured by running the candidate in a sandboxed subprocess, never by reading it.
Start with ``EvolutionEngine(agent, suite).run()``; see ``docs/evolution.md``.
"""

from .archive import Archive, archive_path, record_trajectory
from .engine import EvolutionConfig, EvolutionEngine, EvolutionResult, resolve_agent
from .evaluator import Evaluation, Evaluator
from .genome import Genome, TunableSpec, Variant, VariantScores, parse_tunables
from .hooks import load_hooks
from .operators import Operator, OperatorContext, available_operators, build_operators, register_operator
from .promotion import HoldoutScores, PromotionReport
from .sandbox import ForkServer, SandboxLimits, SandboxOutcome, network_namespace_available, run_sandboxed
from .selection import ConvergenceRules, Objectives, nondominated_sort, pareto_front
from .versions import active_version, history, load_promoted_config, rollback, write_version

__all__ = [
    "Archive", "ConvergenceRules", "Evaluation", "Evaluator", "EvolutionConfig", "EvolutionEngine",
    "EvolutionResult", "ForkServer", "Genome", "HoldoutScores", "Objectives", "Operator", "OperatorContext", "PromotionReport",
    "SandboxLimits", "SandboxOutcome", "TunableSpec", "Variant", "VariantScores", "active_version",
    "archive_path", "available_operators", "build_operators", "history", "load_hooks", "load_promoted_config",
    "network_namespace_available", "nondominated_sort", "pareto_front", "parse_tunables", "record_trajectory",
    "register_operator", "resolve_agent", "rollback", "run_sandboxed", "write_version",
]
