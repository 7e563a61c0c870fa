import pytest
from genesis_agents.safety import datasets


def test_xstest_split_is_disjoint_and_complete() -> None:
    cal = {p.id for p in datasets.xstest_prompts("calibration")}
    held = {p.id for p in datasets.xstest_prompts("heldout")}
    assert not cal & held and len(cal | held) == 450 and len(held) == 270
    comps = datasets.xstest_completions("heldout")
    assert len(comps) == 540 and {c.prompt_id for c in comps} == held


def test_seed_data_is_labelled_and_not_copied_from_xstest() -> None:
    seeds = datasets.training_requests()
    assert len(seeds) > 1000
    cats = {s.category for s in seeds}
    assert "benign" in cats and len(cats - {"benign"}) == 8
    xstest = {p.prompt.strip().lower() for p in datasets.xstest_prompts("all")}
    assert not [s.text for s in seeds if s.text.strip().lower() in xstest]
    assert datasets.template_requests() == datasets.template_requests()  # deterministic expansion


@pytest.mark.slow
def test_training_from_seed_data_reproduces_a_valid_bundle(tmp_path) -> None:
    from genesis_agents.safety.classifiers import SafetyModels, _valid, train_models

    models = train_models()
    path = models.save(tmp_path / "bundle.npz")
    loaded = SafetyModels.load(path)
    assert _valid(loaded, "all-MiniLM-L6-v2")
    assert 0.5 <= loaded.thresholds.unsafe_request < 1.0 and 0.0 < loaded.thresholds.benign_request
