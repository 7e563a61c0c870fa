"""Offline and LLM extraction of entities and relations."""

from __future__ import annotations

from genesis_agents.infrastructure.llm import ScriptedChatModel
from genesis_agents.memory.extraction import LLMExtractor, OfflineExtractor, parse_llm_extraction


def test_offline_extracts_capitalised_entities_and_relations() -> None:
    out = OfflineExtractor().extract("Alice Chen leads Team Falcon. Team Falcon builds Orion for Acme Corp.")
    assert out.entities == ["Alice Chen", "Team Falcon", "Orion", "Acme Corp"]
    assert [(t.subject, t.predicate, t.object) for t in out.triples] == [
        ("Alice Chen", "leads", "Team Falcon"), ("Team Falcon", "builds", "Orion"), ("Orion", "for", "Acme Corp")]


def test_offline_links_known_lower_case_mentions_and_skips_noise() -> None:
    known = {"payments team", "ledger"}
    out = OfflineExtractor().extract("Yesterday the payments team shipped ledger 2.0. Who knows?",
                                     known=lambda grams: {g for g in grams if g in known})
    assert set(out.entities) == {"payments team", "ledger"}
    assert [(t.subject, t.predicate, t.object) for t in out.triples] == [("payments team", "shipped", "ledger")]
    assert OfflineExtractor().extract("The price is 42.7 and What is it?").entities == []


def test_llm_extractor_uses_the_model_and_falls_back_when_it_talks_nonsense() -> None:
    llm = ScriptedChatModel(replies=[
        'Sure! ```json\n{"entities": ["Month-to-month"], "triples": [["Month-to-month", "has churn rate", "42.7%"]]}\n```',
        "I cannot help with that.",
    ])
    extractor = LLMExtractor(llm)
    first = extractor.extract("Month-to-month customers churn at 42.7%.")
    assert [(t.subject, t.predicate, t.object) for t in first.triples] == [("Month-to-month", "has churn rate", "42.7%")]
    assert "42.7%" in first.entities
    second = extractor.extract("Alice Chen leads Team Falcon.")
    assert extractor.failures == 1
    assert [(t.subject, t.object) for t in second.triples] == [("Alice Chen", "Team Falcon")]


def test_parse_rejects_unusable_replies() -> None:
    assert parse_llm_extraction("no json here") is None
    assert parse_llm_extraction('{"entities": [], "triples": []}') is None
    assert parse_llm_extraction('{"triples": [["a", "b"]]}') is None
