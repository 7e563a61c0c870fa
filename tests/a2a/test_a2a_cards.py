"""Card mapping Genesis <-> A2A: round trip, router union, security schemes, foreign and broken cards."""

from __future__ import annotations

import pytest
from a2a.client.card_resolver import parse_agent_card
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from genesis_agents.infrastructure.a2a.cards import (
    API_KEY_HEADER,
    card_from_json,
    from_a2a_card,
    normalize_agent_name,
    router_card,
    to_a2a_card,
)
from genesis_agents.infrastructure.errors import InvalidCardError

from genesis_agents import AgentCard, Skill

ANALYST = AgentCard(
    name="deepanalyze", description="analyses tables", version="1.2.0", cost_tier="high", max_concurrency=3,
    tags=["analytics"], provider="Acme",
    skills=[
        Skill(id="churn", description="churn analysis", examples=["why do customers churn?"], tags=["tables"],
              task_types=["analytics"], input_types=[".csv", "application/json"], output_types=["image/png"],
              input_schema={"type": "object", "properties": {"col": {"type": "string"}}}),
        Skill(id="forecast", description="sales forecast", task_types=["forecast"]),
    ],
)


def test_round_trip_keeps_every_routing_field() -> None:
    published = agent_card_to_dict(to_a2a_card(ANALYST, url="http://h:1/a2a/agents/deepanalyze"))
    back = card_from_json(published, url="http://h:1/a2a/agents/deepanalyze")
    assert back.name == ANALYST.name and back.version == "1.2.0" and back.provider == "Acme"
    assert back.cost_tier == "high" and back.max_concurrency == 3
    assert [s.model_dump() for s in back.skills] == [s.model_dump() for s in ANALYST.skills]
    assert back.url == "http://h:1/a2a/agents/deepanalyze"
    assert {"remote", "a2a", "analytics"} <= set(back.tags)


def test_published_card_is_a2a_shaped_and_declares_security() -> None:
    d = agent_card_to_dict(to_a2a_card(ANALYST, url="http://h/a2a/agents/deepanalyze"))
    assert d["supportedInterfaces"] == [
        {"url": "http://h/a2a/agents/deepanalyze", "protocolBinding": "JSONRPC", "protocolVersion": v}
        for v in ("1.0", "0.3")
    ]
    assert d["capabilities"]["streaming"] is True
    assert d["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
    assert d["securitySchemes"]["apiKey"]["apiKeySecurityScheme"] == {
        "description": "Genesis API key in a header", "location": "header", "name": API_KEY_HEADER}
    assert d["securitySchemes"]["apiKey"]["in"] == "header"  # v0.3 spelling, for old peers
    assert d["security"] == [{"bearer": []}, {"apiKey": []}] and d["protocolVersion"] == "0.3"
    assert {tuple(r["schemes"]) for r in d["securityRequirements"]} == {("bearer",), ("apiKey",)}
    skill = d["skills"][0]
    assert skill["inputModes"] == ["text/csv", "application/json"] and "task_type:analytics" in skill["tags"]
    # The v0.3 view of the same card (merged in by the SDK) lets old peers read it too.
    assert d["url"] == "http://h/a2a/agents/deepanalyze"
    parsed = parse_agent_card(dict(d))
    assert parsed.name == "deepanalyze"
    assert parsed.security_schemes["apiKey"].api_key_security_scheme.name == API_KEY_HEADER
    unsecured = agent_card_to_dict(to_a2a_card(ANALYST, url="http://h/x", secured=False))
    assert "securitySchemes" not in unsecured


def test_router_card_is_the_union_with_unique_ids() -> None:
    other = AgentCard(name="reporter", description="writes reports",
                      skills=[Skill(id="churn", description="churn report")])
    card = router_card([ANALYST, other])
    ids = [s.id for s in card.skills]
    assert ids == ["deepanalyze.churn", "deepanalyze.forecast", "reporter.churn"]
    assert card.name == "genesis" and card.cost_tier == "high"
    assert "reporter" in card.skills[2].tags
    assert router_card([]).skills[0].id == "route"


def test_foreign_card_without_genesis_extension() -> None:
    foreign = {
        "name": "Currency Agent!", "description": "", "version": "",
        "supportedInterfaces": [{"url": "http://x/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {}, "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "convert currency", "name": "Convert", "description": "", "tags": ["task_type:fx", "money"],
                    "inputModes": ["text/plain"]}, {"id": "convert currency", "name": "Again", "description": "d"}],
    }
    card = card_from_json(foreign, url="http://x")
    assert card.name == "currency-agent"
    assert card.description == "remote A2A agent at http://x"
    assert [s.id for s in card.skills] == ["convert-currency", "convert-currency-2"]
    assert card.skills[0].task_types == ["fx"] and card.skills[0].tags == ["money"]
    assert card.skills[0].description == "Convert" and card.cost_tier == "medium"


def test_v03_card_layout_is_accepted() -> None:
    legacy = {"name": "old", "description": "v0.3 peer", "url": "http://old/", "version": "1",
              "protocolVersion": "0.3.0", "capabilities": {"streaming": False}, "defaultInputModes": ["text"],
              "defaultOutputModes": ["text"], "skills": [],
              "securitySchemes": {"k": {"type": "apiKey", "in": "header", "name": "X-Key"}},
              "security": [{"k": []}]}
    card = card_from_json(legacy, url="http://old")
    assert card.name == "old" and card.skills[0].id == "default" and card.skills[0].description == "v0.3 peer"


@pytest.mark.parametrize("bad, field", [
    ([1, 2], "card"),
    ({"name": "", "description": "x"}, "name"),
    ({"name": "x", "skills": "nope"}, "card"),
])
def test_broken_cards_raise_invalid_card_error(bad: object, field: str) -> None:
    with pytest.raises(InvalidCardError) as info:
        card_from_json(bad, url="http://bad")
    assert info.value.field == field


def test_names_are_normalized() -> None:
    assert normalize_agent_name("  Hello World Agent ") == "hello-world-agent"
    assert normalize_agent_name("!!!") == "remote-agent"
    assert len(normalize_agent_name("a" * 200)) == 64
    parsed = parse_agent_card({"name": "N", "description": "d", "skills": [{"id": "s", "description": "x"}]})
    assert from_a2a_card(parsed, url="http://n", name="Custom Name").name == "custom-name"
