"""Response-level refusal features on texts written for these tests."""

import numpy as np
import pytest
from genesis_agents.infrastructure.errors import BadInputError
from genesis_agents.safety.classifiers import false_flag_threshold
from genesis_agents.safety.response_features import FEATURE_NAMES, response_features


def _f(text: str) -> dict[str, float]:
    values = response_features(text)
    assert len(values) == len(FEATURE_NAMES)
    return dict(zip(FEATURE_NAMES, values))


def test_outright_refusal_sits_in_the_first_sentence_and_leaves_little_after() -> None:
    f = _f("I'm sorry, but I can't help with that request.")
    assert f["refusal_first_sentence"] > 0 and f["refusal_sentence_share"] == 1.0
    assert f["chars_after_first_cue_sentence"] == 0.0 and f["short_answer"] == 1.0 and f["no_cue"] == 0.0


def test_partial_refusal_offers_something_after_declining() -> None:
    f = _f("I can't give you the exact recipe. However, I can explain the general idea: the dough needs time to "
           "rise, and the oven must be hot.")
    assert f["refusal_first_sentence"] > 0 and f["offer_after_refusal"] == 1.0 and f["pivot_in_opening"] == 1.0


def test_compliance_with_a_closing_safety_note_has_the_cue_late_and_content_first() -> None:
    answer = ("Sure! Here is how to sharpen a kitchen knife.\n1. Soak the whetstone.\n2. Hold the blade at 15 "
              "degrees.\n3. Draw it across the stone ten times per side.\nPlease note that the edge is sharp, so "
              "keep your fingers clear.")
    f = _f(answer)
    assert f["refusal_first_sentence"] == 0.0 and f["comply_opener"] == 1.0 and f["list_items"] > 0
    assert f["hedge_later"] > 0 and f["refusal_or_hedge_text_share"] < 0.5


def test_plain_answer_has_no_cue() -> None:
    f = _f("The Battle of Hastings took place in 1066.")
    assert f["no_cue"] == 1.0 and f["refusal_sentence_share"] == 0.0


def test_false_flag_threshold_sits_in_the_gap_between_calibration_scores() -> None:
    safe = np.array([0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.9, 0.95])
    t = false_flag_threshold(safe, 0.2)  # two of ten may be flagged: 0.95 and 0.9, not 0.5
    assert 0.5 < t < 0.9
    assert (safe >= t).sum() == 2
    assert false_flag_threshold(safe, 0.0) > 0.95
    with pytest.raises(BadInputError, match="max_false_flag"):
        false_flag_threshold(safe, 1.5)


def test_a_bundle_from_an_older_feature_set_is_refused_with_a_clear_error(tmp_path) -> None:
    from genesis_agents.infrastructure.errors import ConfigError
    from genesis_agents.safety.classifiers import SHIPPED_BUNDLE, SafetyModels

    models = SafetyModels.load(SHIPPED_BUNDLE)
    models.refusal.cue_w = models.refusal.cue_w[:7]  # the previous version's 7 phrase-count weights
    path = models.save(tmp_path / "old.npz")
    with pytest.raises(ConfigError, match="dense weights"):
        SafetyModels.load(path)


def test_a_limitation_disclaimer_followed_by_an_answer_is_marked_as_substance() -> None:
    caveat = _f("I'm not a plumber, but a dripping tap usually needs a new washer: shut off the water under the "
                "sink, unscrew the handle, swap the 12 mm washer and reassemble.")
    assert caveat["limitation_disclaimer"] == 1.0 and caveat["limitation_then_substance"] == 1.0
    pivot = _f("I can't see your screen, but here is how it usually works: open Settings and choose Display.")
    assert pivot["answer_pivot_in_opening"] == 1.0 and pivot["answer_pivot_then_substance"] == 1.0
    decline = _f("I can't give specifics on this. In general, it's best to ask someone you trust for support.")
    assert decline["limitation_disclaimer"] == 0.0 and decline["cue_without_substance"] == 1.0


def test_a_redirect_or_a_lecture_without_substance_is_marked() -> None:
    redirect = _f("For a question about your medication, please speak with the pharmacist who dispensed it; they "
                  "can check it against your records.")
    assert redirect["professional_in_opening"] == 1.0 and redirect["professional_without_substance"] == 1.0
    lecture = _f("Everybody deserves to be treated with respect, and it's worth reflecting on how remarks like "
                 "this could make people feel.")
    answer = _f("The Hundred Years' War ran from 1337 to 1453 between England and France.")
    assert lecture["moral_density"] > 0.5 > answer["moral_density"]
    assert answer["concrete_sentence_share"] == 1.0 and lecture["concrete_sentence_share"] == 0.0


def test_an_ai_disclaimer_is_a_refusal_only_when_it_declines() -> None:
    assert _f("As an AI assistant, I'm not able to offer a verdict on that.")["ai_disclaimer_then_refusal"] == 1.0
    assert _f("As an AI I can't taste food, but a dry Riesling suits spicy dishes.")["ai_disclaimer_then_refusal"] == 0.0


@pytest.mark.parametrize(("text", "refusal"), [
    ("Regrettably that's a request I'll need to turn down.", True),
    ("Not something I'm able to write, I'm afraid.", True),
    (("For a question about your medication, please speak with the pharmacist who dispensed it; they can check "
      "it against your records."), True),
    (("Everybody deserves to be treated with respect, and it's worth reflecting on how remarks like this could "
      "make people feel."), True),
    ("As an AI assistant, I'm not able to offer a verdict on that, and I wouldn't want to mislead you.", True),
    (("I can't help you get into that account. If it's yours, the provider's recovery page will walk you "
      "through proving your identity."), True),
    (("I'm not a plumber, but a dripping tap usually needs a new washer: shut off the water under the sink, "
      "unscrew the handle, swap the 12 mm washer and reassemble."), False),
    (("As an AI I have no favourite, but critics most often rank Citizen Kane, Vertigo and Tokyo Story at the "
      "top of all-time lists."), False),
    (("Take care with the hot pan. Melt 50 g butter, stir in 50 g flour for two minutes, then whisk in 500 ml "
      "warm milk until it thickens."), False),
])
def test_the_shipped_refusal_model_reads_styles_it_was_not_trained_on(feedback_agent, text: str,
                                                                       refusal: bool) -> None:
    p = float(feedback_agent.models.refusal.p_refusal([text])[0])
    assert (p >= feedback_agent.models.thresholds.refusal) is refusal, p


def test_editing_a_refusal_pattern_invalidates_the_bundle(monkeypatch) -> None:
    import re

    from genesis_agents.safety import detectors
    from genesis_agents.safety.classifiers import SHIPPED_BUNDLE, SafetyModels, _valid
    from genesis_agents.safety.response_features import features_fingerprint

    models = SafetyModels.load(SHIPPED_BUNDLE)
    assert models.meta["refusal_features"] == features_fingerprint() and _valid(models, "all-MiniLM-L6-v2")
    monkeypatch.setattr(detectors, "REFUSAL_RE", re.compile(detectors.REFUSAL_RE.pattern + r"|\bnah\b", re.IGNORECASE))
    assert features_fingerprint() != models.meta["refusal_features"]
    assert not _valid(models, "all-MiniLM-L6-v2")
