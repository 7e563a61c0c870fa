"""AOPValidator: solvable, complete, non-redundant, acyclic, within limits and budget."""

from __future__ import annotations

from pathlib import Path

from genesis_agents.infrastructure.contracts import (
    Budget,
    Plan,
    PlanValidator,
    RoutingDecision,
    Subtask,
    Task,
    TaskInput,
)
from genesis_agents.infrastructure.routing import AOPValidator, PlanLimits


def decide(sid: str, agent: str | None) -> RoutingDecision:
    return RoutingDecision(subtask_id=sid, agent=agent, decided_by="capability" if agent else "unassigned",
                           explanation="test")


def codes(report) -> list[str]:
    return sorted(i.code for i in report.issues)


CSV = TaskInput(path=Path("sales.csv"))


def sales_video_plan() -> Plan:
    return Plan(task_id="t", subtasks=[Subtask(id="s1", text="Analyse the sales", inputs=[CSV]),
                                       Subtask(id="s2", text="Make a video of the findings", depends_on=["s1"])])


def test_protocol_and_ok_plan(cards) -> None:
    v = AOPValidator()
    assert isinstance(v, PlanValidator) and v.name == "aop"
    task = Task(text="analyse the sales and make a video of the findings", inputs=[CSV])
    report = v.validate(sales_video_plan(), [decide("s1", "deepanalyze"), decide("s2", "videogen")], cards, task)
    assert report.ok and report.issues == [] and report.validator == "aop"
    assert report.estimated_cost_usd == 0.12  # medium + high tier


def test_unsolvable_plans(cards) -> None:
    v = AOPValidator()
    task = Task(text="analyse the sales and make a video of the findings", inputs=[CSV])
    pdf = TaskInput(path=Path("contract.pdf"))
    plan = sales_video_plan()
    plan.subtasks[0].inputs = [pdf]
    report = v.validate(plan, [decide("s1", "deepanalyze"), decide("s2", None)], cards,
                        task.model_copy(update={"inputs": [pdf]}))
    assert not report.ok and codes(report) == ["input_type", "unassigned"]
    assert "does not accept input 'contract.pdf'" in " ".join(i.message for i in report.issues)
    report = v.validate(sales_video_plan(), [decide("s1", "ghost")], cards, task)
    assert codes(report) == ["unknown_agent", "unrouted"]
    typed = Plan(task_id="t", subtasks=[Subtask(id="s1", text="Analyse the sales", task_type="video")])
    report = v.validate(typed, [decide("s1", "deepanalyze")], cards, Task(text="Analyse the sales"))
    assert report.ok and codes(report) == ["skill_mismatch"]


def test_cycles_and_limits(cards) -> None:
    cyc = Plan(task_id="t", subtasks=[Subtask(id="a", text="Book a flight", depends_on=["b"]),
                                      Subtask(id="b", text="Book a hotel", depends_on=["a"])])
    report = AOPValidator().validate(cyc, [decide("a", "travel"), decide("b", "travel")], cards,
                                     Task(text="Book a flight and a hotel"))
    assert not report.ok and "cycle" in codes(report)
    cities = ["Rome", "Paris", "Oslo", "Vienna"]
    chain = Plan(task_id="t", subtasks=[Subtask(id=f"s{i}", text=f"Book the train to {city}",
                                                depends_on=[f"s{i - 1}"] if i else [])
                                        for i, city in enumerate(cities)])
    report = AOPValidator(limits=PlanLimits(max_depth=3)).validate(
        chain, [decide(f"s{i}", "travel") for i in range(4)], cards, Task(text="Book trains to Rome, Paris, Oslo and Vienna"))
    assert codes(report) == ["limits"] and "max_depth=3" in report.issues[0].message


def test_completeness_and_redundancy(cards) -> None:
    plan = Plan(task_id="t", subtasks=[Subtask(id="a", text="Book a flight to Rome on Monday"),
                                       Subtask(id="b", text="Book a flight to Rome Monday", depends_on=["a"]),
                                       Subtask(id="c", text="Reserve something", depends_on=["b"])])
    task = Task(text="Book a flight to Rome on Monday, draft the supplier NDA and the quarterly budget memo",
                inputs=[TaskInput(path=Path("notes.txt"))])
    v = AOPValidator()
    decisions = [decide("a", "travel"), decide("b", "travel"), decide("c", "travel")]
    report = v.validate(plan, decisions, cards, task)
    assert report.ok and codes(report) == ["incomplete", "redundant", "unused_input"]
    merged = v.merge_duplicates(plan, decisions)
    assert [s.id for s in merged.subtasks] == ["a", "c"] and merged.subtasks[1].depends_on == ["a"]
    assert "merged near-duplicates b→a" in merged.explanation
    assert v.merge_duplicates(merged, decisions) is merged


def test_budget(cards) -> None:
    task = Task(text="analyse the sales and make a video of the findings", inputs=[CSV],
                budget=Budget(max_cost_usd=0.05, max_steps=1))
    report = AOPValidator().validate(sales_video_plan(), [decide("s1", "deepanalyze"), decide("s2", "videogen")],
                                     cards, task)
    assert not report.ok and codes(report) == ["over_budget", "over_budget"]
    cheap = AOPValidator(tier_price_usd={"high": 0.0, "medium": 0.0})
    ok = cheap.validate(sales_video_plan(), [decide("s1", "deepanalyze"), decide("s2", "videogen")], cards,
                        task.model_copy(update={"budget": Budget(max_cost_usd=0.05)}))
    assert ok.ok and ok.estimated_cost_usd == 0.0
