"""The genome of an agent: its declared tunables (typed ranges, choices, prompt templates, code hooks).

Agents declare what SE-Darwin may change in ``Agent.tunables`` (name -> spec dict). This module gives
that dict a validated shape, so a typo in a spec or a value out of range fails early with the field named
instead of producing variants that silently do nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ..infrastructure.contracts import new_id
from ..infrastructure.errors import BadInputError


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""


class FloatSpec(_Spec):
    """A real number in ``[min, max]``. ``sigma`` is the mutation step as a fraction of the range."""

    type: Literal["float"]
    min: float
    max: float
    default: float
    sigma: float = Field(default=0.2, gt=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> FloatSpec:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} is outside [{self.min}, {self.max}]")
        return self


class IntSpec(_Spec):
    """An integer in ``[min, max]``."""

    type: Literal["int"]
    min: int
    max: int
    default: int
    sigma: float = Field(default=0.2, gt=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> IntSpec:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} is outside [{self.min}, {self.max}]")
        return self


class ChoiceSpec(_Spec):
    """One of a fixed list of JSON values."""

    type: Literal["choice"]
    choices: list[Any] = Field(min_length=1)
    default: Any = None

    @model_validator(mode="after")
    def _default_in_choices(self) -> ChoiceSpec:
        keys = [json.dumps(c, sort_keys=True) for c in self.choices]
        if len(set(keys)) != len(keys):
            raise ValueError("choices must be unique")
        if self.default is None:
            self.default = self.choices[0]
        elif self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of the choices")
        return self


class BoolSpec(_Spec):
    type: Literal["bool"]
    default: bool = False


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PromptSpec(_Spec):
    """A prompt template. ``placeholders`` must survive every rewrite; ``alternatives`` seed recombination."""

    type: Literal["prompt"]
    default: str = Field(min_length=1)
    placeholders: list[str] | None = Field(
        default=None, description="names like 'question' that every variant must keep; default: those in default"
    )
    alternatives: list[str] = Field(default_factory=list, description="extra sentences/templates to recombine")
    max_chars: int = Field(default=8000, ge=1)

    @model_validator(mode="after")
    def _placeholders(self) -> PromptSpec:
        if self.placeholders is None:
            self.placeholders = sorted(set(_PLACEHOLDER.findall(self.default)))
        missing = [p for p in self.placeholders if "{" + p + "}" not in self.default]
        if missing:
            raise ValueError(f"default prompt lacks placeholders {missing}")
        return self


class CodeSpec(_Spec):
    """Source of a Python module implementing the agent's hook points (functions named in ``hooks``)."""

    type: Literal["code"]
    hooks: list[str] = Field(min_length=1, description="function names the module must define")
    default: str = Field(min_length=1)
    max_chars: int = Field(default=50_000, ge=1)


TunableSpec = Annotated[
    FloatSpec | IntSpec | ChoiceSpec | BoolSpec | PromptSpec | CodeSpec, Field(discriminator="type")
]
_SPEC_ADAPTER: TypeAdapter[Any] = TypeAdapter(TunableSpec)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def parse_tunables(tunables: dict[str, dict[str, Any]], *, owner: str = "agent") -> dict[str, Any]:
    """Validate an ``Agent.tunables`` dict into typed specs; raise ``BadInputError`` naming the bad field."""
    if not isinstance(tunables, dict):
        raise BadInputError(f"{owner}.tunables must be a dict of name -> spec", field="tunables")
    specs: dict[str, Any] = {}
    for name, raw in tunables.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise BadInputError(f"tunable name {name!r} is not an identifier", field=f"tunables.{name}")
        try:
            specs[name] = _SPEC_ADAPTER.validate_python(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"] if p not in ("float", "int", "choice", "bool", "prompt", "code"))
            raise BadInputError(
                f"invalid tunable spec: {err['msg']}",
                field=f"tunables.{name}" + (f".{loc}" if loc else ""),
                hint='expected e.g. {"type": "float", "min": 0, "max": 1, "default": 0.5}',
            ) from None
    return specs


def defaults(specs: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.default for name, spec in specs.items()}


def check_value(name: str, spec: Any, value: Any) -> Any:
    """Return ``value`` coerced to the spec's type, or raise ``BadInputError`` saying what was expected."""
    field = f"params.{name}"
    if isinstance(spec, FloatSpec):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadInputError(f"expected a number, got {value!r}", field=field)
        if not spec.min <= float(value) <= spec.max:
            raise BadInputError(f"{value} is outside [{spec.min}, {spec.max}]", field=field)
        return float(value)
    if isinstance(spec, IntSpec):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInputError(f"expected an integer, got {value!r}", field=field)
        if not spec.min <= value <= spec.max:
            raise BadInputError(f"{value} is outside [{spec.min}, {spec.max}]", field=field)
        return value
    if isinstance(spec, ChoiceSpec):
        if value not in spec.choices:
            raise BadInputError(f"{value!r} is not one of {spec.choices}", field=field)
        return value
    if isinstance(spec, BoolSpec):
        if not isinstance(value, bool):
            raise BadInputError(f"expected true or false, got {value!r}", field=field)
        return value
    if isinstance(spec, PromptSpec):
        if not isinstance(value, str) or not value.strip():
            raise BadInputError("expected a non-empty prompt template", field=field)
        if len(value) > spec.max_chars:
            raise BadInputError(f"prompt has {len(value)} chars, at most {spec.max_chars}", field=field)
        missing = [p for p in spec.placeholders or [] if "{" + p + "}" not in value]
        if missing:
            raise BadInputError(f"prompt lost placeholders {missing}", field=field)
        return value
    if isinstance(spec, CodeSpec):
        if not isinstance(value, str) or not value.strip():
            raise BadInputError("expected Python source code", field=field)
        if len(value) > spec.max_chars:
            raise BadInputError(f"code has {len(value)} chars, at most {spec.max_chars}", field=field)
        return value
    raise BadInputError(f"unknown spec type {type(spec).__name__}", field=field)  # pragma: no cover


class Genome(BaseModel):
    """The values of every tunable of one variant. Prompts and code are values too (type prompt / code)."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any]

    def validated(self, specs: dict[str, Any]) -> Genome:
        """A copy with every value checked against its spec; unknown and missing names are errors."""
        unknown = sorted(set(self.params) - set(specs))
        if unknown:
            raise BadInputError(f"unknown tunables {unknown}", field="params", hint=f"declared: {sorted(specs)}")
        missing = sorted(set(specs) - set(self.params))
        if missing:
            raise BadInputError(f"missing tunables {missing}", field="params")
        return Genome(params={n: check_value(n, specs[n], self.params[n]) for n in specs})

    def key(self) -> str:
        """Content hash: two variants with the same key behave the same, so the second is not re-evaluated."""
        blob = json.dumps(self.params, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:20]


def distance(a: Genome, b: Genome, specs: dict[str, Any]) -> float:
    """Mean per-tunable distance in [0, 1]: used to pick diverse pairs for recombination."""
    if not specs:
        return 0.0
    total = 0.0
    for name, spec in specs.items():
        x, y = a.params.get(name), b.params.get(name)
        if isinstance(spec, (FloatSpec, IntSpec)):
            total += abs(float(x or 0) - float(y or 0)) / (spec.max - spec.min)
        elif isinstance(spec, (PromptSpec, CodeSpec)):
            sa, sb = set(str(x).split()), set(str(y).split())
            total += 1.0 - (len(sa & sb) / len(sa | sb) if sa | sb else 1.0)
        else:
            total += 0.0 if x == y else 1.0
    return total / len(specs)


VariantStatus = Literal["pending", "evaluated", "failed"]


class VariantScores(BaseModel):
    """What one evaluation of a variant measured (on one split of the suite)."""

    model_config = ConfigDict(extra="forbid")

    split: str = "train"
    pass_rate: float = 0.0
    quality: float = 0.0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    safety_pass_rate: float | None = None
    n_scenarios: int = 0
    n_passed: int = 0
    failures: list[dict[str, Any]] = Field(default_factory=list, description="scenario id + reason, for revision")
    wall_s: float = 0.0


class Variant(BaseModel):
    """One candidate in the archive: its genome, where it came from, and how it scored."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("var_"))
    run_id: str = ""
    generation: int = 0
    parents: list[str] = Field(default_factory=list)
    operator: str = "seed"
    genome: Genome
    status: VariantStatus = "pending"
    scores: VariantScores | None = None
    reason: str | None = Field(default=None, description="why it failed (crash, timeout, sandbox violation)")
    created_at: float = Field(default_factory=time.time)

    @property
    def fitness(self) -> float:
        """Scalar used where one number is needed (convergence, plots): quality, 0 when failed."""
        return self.scores.quality if self.status == "evaluated" and self.scores else 0.0
