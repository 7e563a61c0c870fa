"""The business glossary: term matching, file errors, and the ``gloss_cos`` feature it feeds (real embeddings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from genesis_agents.infrastructure.contracts import AgentCard, Skill
from genesis_agents.infrastructure.errors import ConfigError
from genesis_agents.infrastructure.routing.capability import CapabilityIndex
from genesis_agents.infrastructure.routing.lexicon import Lexicon, default_lexicon, light_stem

GLOSSARY = """
version: 1
terms:
  close the books | month end close: finish the period's accounting and finalise the ledger
  month end: the last days of a month
  tax return: a tax filing sent to the authorities
  rfp: formally asking suppliers for offers, procurement
"""


def test_terms_match_on_inflections_longest_first_without_overlaps() -> None:
    lx = Lexicon.from_yaml(GLOSSARY)
    assert [h.term for h in lx.find("Closing the books for September")] == ["close the books"]
    assert [h.term for h in lx.find("please close our books today")] == ["close the books"]  # articles, pronouns
    # the longer term wins at its position, the shorter one is not matched inside it
    assert [h.term for h in lx.find("prepare the month-end close")] == ["month end close"]
    assert [h.term for h in lx.find("before month end, send RFPs and the tax return")] == \
        ["month end", "rfp", "tax return"]
    # one definition is reported once, however many variants appear
    assert len(lx.find("close the books, then the month end close")) == 1
    assert lx.find("the book was closed") == []                          # words out of order
    assert lx.find("") == []


def test_light_stem_keeps_unrelated_words_apart() -> None:
    assert light_stem("bookings") == light_stem("booking") == light_stem("book")
    assert light_stem("complies") == light_stem("comply")
    assert light_stem("leaves") != light_stem("leaver")
    assert light_stem("offer") != light_stem("off")
    assert light_stem("process") == "process"


def test_shipped_glossary_names_no_benchmark_agent() -> None:
    lx = default_lexicon()
    assert len(lx.definitions) >= 100
    assert [h.term for h in lx.find("Draft an NDA and an SOW for the new client")] == ["nda", "sow"]
    assert lx.find("Write a haiku about autumn leaves") == []
    assert lx.find("Write an offer letter")[0].term == "offer letter"


@pytest.mark.parametrize(("text", "field", "message"), [
    ("terms: [1, 2]", "lexicon.terms", "mapping 'terms'"),
    ("terms:\n  nda: ''\n", "lexicon.terms.nda", "non-empty text definition"),
    ("terms:\n  'a | the': definition\n", "lexicon.terms.a | the", "1-6 words"),
    ("terms: {unclosed", "lexicon", "cannot parse"),
])
def test_bad_glossary_names_the_field(text: str, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Lexicon.from_yaml(text, source="my.yaml")
    assert exc.value.field == field and message in str(exc.value) and "my.yaml" in str(exc.value)


def test_missing_glossary_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        Lexicon.load(tmp_path / "nope.yaml")
    assert exc.value.field == "lexicon" and "not found" in str(exc.value)


def _cards() -> list[AgentCard]:
    return [
        AgentCard(name="bookkeeper", description="Keeps the company's accounts.",
                  skills=[Skill(id="books", description="Record bills and receipts and reconcile the ledger.",
                                examples=["Log these supplier bills"])]),
        AgentCard(name="calendar", description="Arranges meetings in people's calendars.",
                  skills=[Skill(id="meet", description="Find a time slot and send invites.",
                                examples=["Set up a call with Ana on Tuesday"])]),
        AgentCard(name="buyer", description="Buys goods and services for the company from suppliers.",
                  skills=[Skill(id="buy", description="Compare suppliers and place orders.",
                                examples=["Order 20 office chairs"])]),
    ]


def test_gloss_feature_moves_jargon_to_the_card_that_fits_its_meaning() -> None:
    cards = _cards()
    text = "Close the books for October"
    with_glossary = CapabilityIndex(cards, lexicon=Lexicon.from_yaml(GLOSSARY))
    scores = {s.agent: s for s in with_glossary.score(text)}
    gloss = {a: s.features["gloss_cos"] for a, s in scores.items()}
    assert max(gloss, key=gloss.get) == "bookkeeper" and gloss["bookkeeper"] > 0.05
    assert sum(gloss.values()) == pytest.approx(0.0, abs=1e-6)            # centred on the card set
    assert with_glossary.score(text)[0].agent == "bookkeeper"
    # a glossary without the term: the feature is 0 for every card and the ranking uses the other signals
    unrelated = CapabilityIndex(cards, lexicon=Lexicon.from_yaml("terms:\n  rfp: asking suppliers for offers\n"))
    assert all(s.features["gloss_cos"] == 0.0 for s in unrelated.score(text))
    assert scores["bookkeeper"].probability > {s.agent: s for s in unrelated.score(text)}["bookkeeper"].probability
    # the same glossary term points elsewhere when its meaning does
    rfp = {s.agent: s.features["gloss_cos"] for s in with_glossary.score("Send out an RFP for cleaning")}
    assert max(rfp, key=rfp.get) == "buyer"


def test_tune_ablation_switches_the_glossary_off(tmp_path: Path) -> None:
    """``tune.py --cv K --lexicon none|FILE``: the ablation really changes the feature the model sees."""
    import sys

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks" / "routing"))
    try:
        import tune
    finally:
        sys.path.pop(0)
    from genesis_agents.infrastructure.routing.capability import FEATURES

    rows = [{"text": "Close the books for October", "label": "bookkeeper"}]
    col = FEATURES.index("gloss_cos")
    custom = tmp_path / "glossary.yaml"
    custom.write_text(GLOSSARY)
    _, with_file, gold = tune.features("custom", _cards(), rows, tune.load_lexicon(str(custom)))
    _, without, _ = tune.features("none", _cards(), rows, tune.load_lexicon("none"))
    assert gold == [0]
    assert with_file[0, 0, col] > 0.05 and (without[..., col] == 0.0).all()
    assert tune.load_lexicon(None) is default_lexicon()


def test_own_glossary_is_laid_over_the_shipped_one(tmp_path: Path) -> None:
    """``router_glossary``: an organisation's jargon (here an invented in-house term) reaches the router from
    settings; its files add terms and redefine shipped ones, and a missing file is a clear config error."""
    from genesis_agents.infrastructure.config import load_settings
    from genesis_agents.infrastructure.contracts import Subtask, Task
    from genesis_agents.infrastructure.routing.factory import build_router

    own = tmp_path / "our_terms.yaml"
    own.write_text("terms:\n"
                   "  zephyr sweep: reconcile the accounts, close the books and finalise the ledger for the period\n"
                   "  nda: our internal name for the quarterly newsletter draft\n")
    merged = default_lexicon().merged(Lexicon.load(own))
    assert [h.term for h in merged.find("Run the zephyr sweep for Q3")] == ["zephyr sweep"]
    assert merged.find("Draft an NDA")[0].definition.startswith("our internal name")   # redefined
    assert merged.find("Write an offer letter")[0].term == "offer letter"                # shipped terms kept
    assert default_lexicon().find("Run the zephyr sweep for Q3") == []                   # shipped one untouched

    text = "Run the zephyr sweep for Q3"
    task = Task(text=text)

    def decide(settings_dir: Path, **kw: object) -> tuple[str | None, dict[str, float], str]:
        router = build_router(load_settings(data_dir=settings_dir, **kw))
        decision = router.route_sync(Subtask(id="s1", text=text), task, _cards())
        return decision.agent, {c.agent: c.signals["gloss_cos"] for c in decision.alternatives}, decision.explanation

    agent, gloss, why = decide(tmp_path / "a", router_glossary=[own])
    assert agent == "bookkeeper" and max(gloss, key=gloss.get) == "bookkeeper" and gloss["bookkeeper"] > 0.05
    assert "jargon 'zephyr sweep' fits it" in why
    _, plain, why = decide(tmp_path / "b")
    assert all(v == 0.0 for v in plain.values()) and "jargon" not in why  # without it the term means nothing
    with pytest.raises(ConfigError) as exc:
        build_router(load_settings(data_dir=tmp_path / "c", router_glossary=[tmp_path / "missing.yaml"]))
    assert exc.value.field == "lexicon" and "missing.yaml" in str(exc.value)


def test_router_takes_one_glossary_path_as_well_as_a_list(tmp_path: Path) -> None:
    from genesis_agents.infrastructure.routing.router import HaloRouter

    own = tmp_path / "our_terms.yaml"
    own.write_text("terms:\n  zephyr sweep: reconcile the accounts and close the books for the period\n")
    for glossary in (own, str(own), [own]):
        assert [h.term for h in HaloRouter(glossary=glossary).lexicon.find("Run the zephyr sweep")] == ["zephyr sweep"]
