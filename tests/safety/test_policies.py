import pytest
from genesis_agents.infrastructure.errors import ConfigError
from genesis_agents.safety import PolicyRule, SafetyPolicy


def test_most_specific_rule_wins() -> None:
    policy = SafetyPolicy(default="revise", rules=[
        PolicyRule(namespace="acme", action="coach"),
        PolicyRule(agent="videogen", action="monitor"),
        PolicyRule(agent="videogen", namespace="acme", action="block"),
        PolicyRule(remote=True, action="block"),
    ])
    assert policy.action_for("deepanalyze") == "revise"
    assert policy.action_for("deepanalyze", "acme") == "coach"
    assert policy.action_for("videogen") == "monitor"
    assert policy.action_for("videogen", "acme") == "block"
    assert policy.action_for("peer", remote=True) == "block"
    assert policy.action_for("peer", "acme", remote=True) == "coach"  # namespace rule is more specific


def test_policy_file_round_trip(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("default: coach\nfail_mode: open\nmax_rounds: 3\nrules:\n  - {agent: se_darwin, action: block}\n")
    policy = SafetyPolicy.from_file(path)
    assert policy.fail_mode == "open" and policy.max_rounds == 3
    assert policy.action_for("se_darwin") == "block" and policy.action_for("x") == "coach"


def test_bad_policy_names_the_field(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("default: allow\n")
    with pytest.raises(ConfigError) as err:
        SafetyPolicy.from_file(path)
    assert err.value.field == "safety.default"
    with pytest.raises(ConfigError, match="does not exist"):
        SafetyPolicy.from_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError) as err:
        SafetyPolicy.from_data({"max_rounds": 0})
    assert err.value.field == "safety.max_rounds"
