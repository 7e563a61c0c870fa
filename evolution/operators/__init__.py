"""Variation operators (plugins with one interface): typed-parameter, prompt and LLM operators."""

from . import llm as _llm  # noqa: F401  (registers the LLM operators)
from . import params as _params  # noqa: F401
from . import prompts as _prompts  # noqa: F401
from .base import (
    ENTRY_POINT_GROUP,
    Operator,
    OperatorContext,
    ParentKind,
    available_operators,
    build_operators,
    register_operator,
)
from .llm import LLMRecombination, LLMRefinement, LLMRevision
from .params import ParamMutation, RandomSample, UniformCrossover, random_genome
from .prompts import PromptRecombination

__all__ = [
    "ENTRY_POINT_GROUP", "LLMRecombination", "LLMRefinement", "LLMRevision", "Operator", "OperatorContext",
    "ParamMutation", "ParentKind", "PromptRecombination", "RandomSample", "UniformCrossover", "available_operators",
    "build_operators", "random_genome", "register_operator",
]
