"""EvalRunner through a real Genesis host: pass/fail, timeouts, errors, judge, repeats, determinism, resume."""

from __future__ import annotations

import json

import pytest
from genesis_agents.infrastructure.errors import BadInputError
from genesis_agents.infrastructure.eval import EvalRunner, load_suite

from genesis_agents import ScriptedChatModel, UnknownAgentError

BASIC = """
suite: basic
scenarios:
  - id: add-ok
    task: {text: "add 2 and 3", agent: calc}
    expect:
      routing: {agent: calc, subtasks: 1}
      output:
        - {path: data.sum, approx: 5}
        - {path: text, contains: "sum is 5"}
        - {path: data, json_schema: {type: object, required: [sum, count]}}
  - id: add-wrong
    task: {text: "add 2 and 4", agent: calc}
    expect:
      output: {path: data.sum, equals: 5}
"""


async def test_passing_and_failing_scenarios(make_host, write_suite):
    report = await EvalRunner(make_host, concurrency=2).arun(write_suite(BASIC))
    ok, wrong = report.scenario("add-ok"), report.scenario("add-wrong")
    assert ok.outcome == "passed" and ok.quality == 1.0 and len(ok.attempts[0].checks) == 6
    assert wrong.outcome == "failed" and "data.sum" in wrong.reason and wrong.attempts[0].checks[-1].actual == 6.0
    assert wrong.quality == 0.5  # status passed, equals failed
    assert (report.total, report.passed, report.failed, report.pass_rate) == (2, 1, 1, 0.5)
    assert not report.ok
    trace = ok.attempts[0].trace
    assert trace.subtasks[0].agent == "calc" and trace.subtasks[0].decided_by == "explicit"
    assert [s.name for s in trace.spans][:3] == ["plan", "route", "validate"]


async def test_hanging_scenario_times_out_and_the_run_continues(make_host, write_suite):
    path = write_suite("""
        scenarios:
          - id: hangs
            timeout_s: 0.5
            task: {text: wait, agent: hang}
          - id: fine
            task: {text: "add 1 1", agent: calc}
            expect: {output: {path: data.sum, equals: 2}}
          - id: raises
            task: {text: boom, agent: broken}
    """)
    report = await EvalRunner(make_host, concurrency=3, timeout_s=30).arun(path)
    hang = report.scenario("hangs")
    assert hang.outcome == "timeout" and "0.5 s" in hang.reason
    assert 400 < hang.latency_ms < 10_000
    assert report.scenario("fine").outcome == "passed"
    broken = report.scenario("raises")
    assert broken.outcome == "failed" and "disk on fire" in broken.reason
    assert (report.timeouts, report.passed, report.failed) == (1, 1, 1)


async def test_expected_errors_and_unknown_agents(make_host, write_suite):
    many = ", ".join(f"{{data: {i}}}" for i in range(40))  # more inputs than the host's max_inputs (32)
    path = write_suite(f"""
        scenarios:
          - id: too-many-inputs
            task: {{text: "add 1", agent: calc, inputs: [{many}]}}
            expect: {{raises: limit_exceeded}}
          - id: wrong-code
            task: {{text: "add 1", agent: calc, inputs: [{many}]}}
            expect: {{raises: bad_input}}
          - id: no-error
            task: {{text: "add 1", agent: calc}}
            expect: {{raises: limit_exceeded}}
          - id: unexpected-error
            task: {{text: "add 1", agent: calc, inputs: [{many}]}}
    """)
    report = await EvalRunner(make_host).arun(path)
    assert report.scenario("too-many-inputs").outcome == "passed"
    assert report.scenario("wrong-code").outcome == "failed"
    assert report.scenario("no-error").outcome == "failed"
    unexpected = report.scenario("unexpected-error")
    assert unexpected.outcome == "error" and "LimitExceededError" in unexpected.reason
    bad = write_suite("""
        scenarios:
          - id: typo
            task: {text: hi, agent: calculator}
    """, "bad.yaml")
    with pytest.raises(UnknownAgentError, match="bad.yaml:3: scenario 'typo' task.agent"):
        await EvalRunner(make_host).arun(bad)
    routing_typo = write_suite("""
        scenarios:
          - id: r
            task: {text: hi, agent: calc}
            expect: {routing: {agent: videogenn}}
    """, "r.yaml")
    with pytest.raises(UnknownAgentError, match="r.yaml:4"):
        await EvalRunner(make_host).arun(routing_typo)


async def test_judge_is_skipped_without_a_model_and_scored_with_one(make_host, write_suite):
    path = write_suite("""
        scenarios:
          - id: judged
            task: {text: "add 2 and 2", agent: calc}
            expect:
              judge: {rubric: "states the sum correctly", min_score: 0.7}
          - id: judged-but-wrong
            task: {text: "add 2 and 2", agent: calc}
            expect:
              output: {path: data.sum, equals: 5}
              judge: {rubric: "states the sum correctly"}
    """)
    report = await EvalRunner(make_host).arun(path)
    skipped = report.scenario("judged")
    assert skipped.outcome == "skipped" and "no judge model configured" in skipped.reason
    assert report.scenario("judged-but-wrong").outcome == "failed"  # skipped never hides a failure
    assert report.skipped == 1 and report.passed == 0 and report.pass_rate == 0.0

    judge = ScriptedChatModel(rules=[{"match": "add 2 and 2", "reply": '{"score": 0.9, "reason": "correct sum"}'}])
    report = await EvalRunner(make_host, judge=judge).arun(path, ids=["judged"])
    sc = report.scenario("judged")
    assert sc.outcome == "passed" and sc.attempts[0].checks[-1].score == 0.9 and report.judge == "ScriptedChatModel"
    low = ScriptedChatModel(replies=["score: 3/10 because it rambles"])
    report = await EvalRunner(make_host, judge=low).arun(path, ids=["judged"])
    assert report.scenario("judged").outcome == "failed" and report.scenario("judged").quality == pytest.approx(0.65)
    garbage = ScriptedChatModel(replies=["I refuse to grade"])
    report = await EvalRunner(make_host, judge=garbage).arun(path, ids=["judged"])
    assert report.scenario("judged").outcome == "error" and "no score" in report.scenario("judged").reason


async def test_repeats_pass_at_k_and_scripted_determinism(make_host, write_suite):
    path = write_suite("""
        scenarios:
          - id: flaky
            repeat: 4
            min_pass_rate: 0.5
            seed: 100
            task: {text: "tell me", agent: narrator}
            llm: {replies: ["yes", "no"], cycle: false}
            expect: {output: {path: text, equals: "yes"}}
          - id: strict
            repeat: 3
            task: {text: "tell me", agent: narrator}
            llm: ["no"]
            expect: {output: {path: text, equals: "yes"}}
    """)
    report = await EvalRunner(make_host, concurrency=4).arun(path)
    flaky = report.scenario("flaky")
    # a fresh scripted model per attempt: every attempt sees reply #1, whatever the concurrency
    assert [a.trace.text for a in flaky.attempts] == ["yes"] * 4
    assert [a.seed for a in flaky.attempts] == [100, 101, 102, 103]
    assert flaky.outcome == "passed" and flaky.pass_at_k == {"1": 1.0, "4": 1.0}
    strict = report.scenario("strict")
    assert strict.outcome == "failed" and strict.n == 3 and strict.passes == 0 and "0/3 attempts" in strict.reason
    assert strict.quality == pytest.approx(0.5) and strict.quality_std == 0.0

    with pytest.raises(BadInputError, match="scripted LLM replies"):
        host = make_host()
        try:
            await EvalRunner(host).arun(path)
        finally:
            await host.aclose()


async def test_seeds_are_stable_and_reach_the_task(make_host, write_suite):
    path = write_suite("scenarios: [{id: a, repeat: 2, task: {text: 'add 1', agent: calc}}]\n")
    one = await EvalRunner(make_host, seed=7).arun(path)
    two = await EvalRunner(make_host, seed=7).arun(path)
    other = await EvalRunner(make_host, seed=8).arun(path)
    seeds = [a.seed for a in one.scenario("a").attempts]
    assert seeds == [a.seed for a in two.scenario("a").attempts] and seeds[1] == seeds[0] + 1
    assert seeds != [a.seed for a in other.scenario("a").attempts]


async def test_resume_from_the_journal(make_host, write_suite, tmp_path):
    path = write_suite(BASIC)
    journal = tmp_path / "out" / "journal.jsonl"
    first = await EvalRunner(make_host, journal=journal).arun(path)
    assert not any(a.resumed for s in first.scenarios for a in s.attempts)
    lines = journal.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["fingerprint"]
    journal.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # crash mid-write of the 2nd line
    seen: list[tuple[str, bool]] = []
    second = await EvalRunner(make_host, journal=journal, progress=lambda a, d, t: seen.append((a.scenario_id, a.resumed))
                              ).arun(path)
    resumed = {s.id: s.attempts[0].resumed for s in second.scenarios}
    assert sum(resumed.values()) == 1 and len(seen) == 2
    assert [s.outcome for s in second.scenarios] == [s.outcome for s in first.scenarios]
    # editing a scenario changes its fingerprint: it runs again
    write_suite(BASIC.replace("equals: 5", "equals: 6"))
    third = await EvalRunner(make_host, journal=journal).arun(path)
    assert third.scenario("add-wrong").outcome == "passed" and not third.scenario("add-wrong").attempts[0].resumed
    assert third.scenario("add-ok").attempts[0].resumed
    fresh = await EvalRunner(make_host, journal=journal, resume=False).arun(path)
    assert not any(a.resumed for s in fresh.scenarios for a in s.attempts)


async def test_concurrency_limit_is_respected(make_host, write_suite, calc_agent):
    scenarios = "\n".join(f"  - {{id: s{i}, task: {{text: 'add {i} 1', agent: calc}}}}" for i in range(30))
    path = write_suite("scenarios:\n" + scenarios + "\n")
    report = await EvalRunner(make_host, concurrency=3).arun(path)
    assert report.passed == 30 and 1 < calc_agent.max_in_flight <= 3


def test_sync_run_filters_and_bad_arguments(make_host, write_suite):
    path = write_suite(BASIC)
    report = EvalRunner(make_host).run(path, ids=["add-ok"])
    assert [s.id for s in report.scenarios] == ["add-ok"] and report.ok
    assert EvalRunner(make_host).run(path, tags=["nothing"]).total == 0
    with pytest.raises(BadInputError, match="concurrency"):
        EvalRunner(make_host, concurrency=0)
    with pytest.raises(BadInputError, match="split"):
        EvalRunner(make_host).run(path, split="test")
    assert load_suite(path).name == "basic"


async def test_suites_built_in_code(make_host):
    """SE-Darwin builds scenarios in memory: no file needed."""
    from genesis_agents.infrastructure.eval import Scenario, Suite

    suite = Suite(name="mem", scenarios=[
        Scenario.model_validate({"id": "a", "task": {"text": "add 1 2", "agent": "calc"},
                                 "expect": {"output": {"path": "data.sum", "equals": 3}}}),
        Scenario.model_validate({"id": "b", "split": "holdout", "task": {"text": "add 2 2", "agent": "calc"}}),
    ])
    report = await EvalRunner(make_host).arun(suite, split="train")
    assert [s.key for s in report.scenarios] == ["mem::a"] and report.ok
    with pytest.raises(BadInputError, match="duplicate scenario id"):
        Suite(name="dup", scenarios=[Scenario(id="x", task="t"), Scenario(id="x", task="u")])
