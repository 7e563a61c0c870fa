"""Tunable specs, genomes and their validation: bad specs and values fail with the field named."""

from __future__ import annotations

import pytest
from genesis_agents.evolution.examples.triage import TriageAgent
from genesis_agents.evolution.genome import (
    ChoiceSpec,
    FloatSpec,
    Genome,
    PromptSpec,
    defaults,
    distance,
    parse_tunables,
)
from genesis_agents.infrastructure.errors import BadInputError


def test_triage_tunables_parse_into_typed_specs():
    specs = parse_tunables(TriageAgent.tunables)
    assert isinstance(specs["min_score"], FloatSpec) and specs["min_score"].default == 0.9
    assert isinstance(specs["normalize"], ChoiceSpec)
    assert isinstance(specs["reply"], PromptSpec) and specs["reply"].placeholders == ["category"]
    assert defaults(specs)["stem"] == 0


@pytest.mark.parametrize("spec, field, words", [
    ({"type": "float", "min": 1, "max": 0, "default": 0.5}, "tunables.x", "below max"),
    ({"type": "float", "min": 0, "max": 1, "default": 2}, "tunables.x", "outside"),
    ({"type": "choice", "choices": ["a", "b"], "default": "c"}, "tunables.x", "not one of the choices"),
    ({"type": "choice", "choices": []}, "tunables.x.choices", "at least 1"),
    ({"type": "prompt", "default": "hi", "placeholders": ["name"]}, "tunables.x", "lacks placeholders"),
    ({"type": "code", "hooks": [], "default": "x = 1"}, "tunables.x.hooks", "at least 1"),
    ({"type": "colour", "default": 1}, "tunables.x", "does not match any of the expected tags"),
    ({"type": "int", "min": 0, "max": 3, "default": 1, "step": 2}, "tunables.x.step", "Extra inputs"),
])
def test_bad_specs_name_the_field(spec, field, words):
    with pytest.raises(BadInputError) as info:
        parse_tunables({"x": spec})
    assert info.value.field == field
    assert words in str(info.value)


def test_genome_validation_checks_every_value():
    specs = parse_tunables(TriageAgent.tunables)
    good = Genome(params=defaults(specs)).validated(specs)
    assert good.params["min_score"] == 0.9
    with pytest.raises(BadInputError) as info:
        Genome(params={**defaults(specs), "min_score": 1.5}).validated(specs)
    assert info.value.field == "params.min_score"
    with pytest.raises(BadInputError) as info:
        Genome(params={**defaults(specs), "reply": "Team {team}."}).validated(specs)
    assert info.value.field == "params.reply" and "placeholders" in str(info.value)
    with pytest.raises(BadInputError) as info:
        Genome(params={**defaults(specs), "temperature": 1}).validated(specs)
    assert "unknown tunables" in str(info.value)
    missing = defaults(specs)
    missing.pop("stem")
    with pytest.raises(BadInputError, match="missing tunables"):
        Genome(params=missing).validated(specs)


def test_genome_key_and_distance():
    specs = parse_tunables(TriageAgent.tunables)
    a = Genome(params=defaults(specs))
    b = Genome(params=dict(defaults(specs)))
    assert a.key() == b.key() and distance(a, b, specs) == 0.0
    c = Genome(params={**defaults(specs), "min_score": 0.0, "normalize": "lower"})
    assert a.key() != c.key()
    assert 0.0 < distance(a, c, specs) < 1.0
