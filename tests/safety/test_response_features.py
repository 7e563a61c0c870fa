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
