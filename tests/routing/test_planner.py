"""HTDAGPlanner: deterministic decomposition, data flow, inputs, limits, LLM planning, replanning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genesis_agents.infrastructure.contracts import Plan, Planner, Subtask, Task, TaskInput
from genesis_agents.infrastructure.errors import AgentFailedError, PlanError
from genesis_agents.infrastructure.llm import ScriptedChatModel
from genesis_agents.infrastructure.routing import HTDAGPlanner, PlanLimits
from genesis_agents.infrastructure.routing.decompose import link, segment


def test_satisfies_protocol() -> None:
    assert isinstance(HTDAGPlanner(), Planner) and HTDAGPlanner.name == "htdag"


async def test_analysis_then_video_with_data_flow(cards) -> None:
    csv = TaskInput(path=Path("sales.csv"))
    task = Task(text="analyse the sales and make a video of the findings", inputs=[csv])
    plan = await HTDAGPlanner().plan(task, cards)
    assert [s.id for s in plan.subtasks] == ["s1", "s2"]
    s1, s2 = plan.subtasks
    assert s1.text == "Analyse the sales" and s2.text == "Make a video of the findings"
    assert s2.depends_on == ["s1"] and s1.depends_on == []
    assert [i.name for i in s1.inputs] == ["sales.csv"] and s2.inputs == []
    assert "s2 depends on s1" in plan.explanation and plan.planner == "htdag"
    assert plan.order() == ["s1", "s2"]


async def test_independent_actions_run_in_parallel(cards) -> None:
    plan = await HTDAGPlanner().plan(Task(text="Book a flight to Paris and draft an NDA for the new supplier"),
                                     cards)
    assert [s.text for s in plan.subtasks] == ["Book a flight to Paris", "Draft an NDA for the new supplier"]
    assert all(not s.depends_on for s in plan.subtasks)


async def test_same_agent_actions_are_merged(cards) -> None:
    plan = await HTDAGPlanner().plan(Task(text="Book a flight to Paris and reserve a hotel near the venue"),
                                     cards)
    assert len(plan.subtasks) == 1 and "merged" in plan.explanation
    unmerged = await HTDAGPlanner(merge_same_agent=False).plan(
        Task(text="Book a flight to Paris and reserve a hotel near the venue"), cards)
    assert len(unmerged.subtasks) == 2


@pytest.mark.parametrize("text", ["Analyse revenue and churn by region", "What is the churn rate in Q3?",
                                  "Find and fix the broken printer"])
def test_single_action_stays_whole(text: str) -> None:
    assert len(segment(text)) == 1


def test_sequencing_lists_and_context() -> None:
    segs = link(segment("We sell shoes online. Analyse our sales data, then build a dashboard and email it "
                        "to the team."))
    assert [s.text for s in segs] == ["Analyse our sales data (We sell shoes online.)", "Build a dashboard",
                                      "Email it to the team."]
    assert [s.depends_on for s in segs] == [[], [0], [1]]
    steps = link(segment("Please do the following:\n1. clean the data\n2. compute churn\n3. make a video"))
    assert [s.text for s in steps] == ["Clean the data", "Compute churn", "Make a video"]
    assert [s.depends_on for s in steps] == [[], [0], [1]]
    unknown_verb = segment("Grant Ana access to the warehouse and create an onboarding checklist for her")
    assert [s.text for s in unknown_verb] == ["Grant Ana access to the warehouse",
                                              "Create an onboarding checklist for her"]
    bullets = link(segment("- book a hotel in Rome\n- write a press release"))
    assert [s.depends_on for s in bullets] == [[], []]


async def test_pinned_task_is_not_decomposed(cards) -> None:
    task = Task(text="analyse the sales and make a video", agent="deepanalyze", task_type="analytics")
    plan = await HTDAGPlanner().plan(task, cards)
    assert len(plan.subtasks) == 1 and plan.subtasks[0].agent == "deepanalyze"
    assert plan.subtasks[0].task_type == "analytics"


async def test_limits_merge_extra_actions(cards) -> None:
    text = ("Book a flight to Rome, then draft an NDA, then write a slogan, then reset my password, "
            "then schedule a meeting with Ana")
    plan = await HTDAGPlanner(limits=PlanLimits(max_subtasks=3)).plan(Task(text=text), cards)
    assert len(plan.subtasks) == 3 and "plan limits" in plan.explanation
    assert "schedule a meeting" in plan.subtasks[-1].text
    deep = await HTDAGPlanner(limits=PlanLimits(max_depth=2)).plan(Task(text=text), cards)
    assert len(deep.subtasks) == 2


async def test_near_duplicate_actions_are_dropped(cards) -> None:
    plan = await HTDAGPlanner(merge_same_agent=False).plan(
        Task(text="Book a flight to Rome. Book a flight to Rome!"), cards)
    assert len(plan.subtasks) == 1 and "near-duplicate" in plan.explanation


async def test_input_named_in_text_goes_to_that_subtask(cards) -> None:
    task = Task(text="Summarise contract.pdf and plot revenue per month",
                inputs=[TaskInput(path=Path("contract.pdf")), TaskInput(path=Path("revenue.xlsx"))])
    plan = await HTDAGPlanner().plan(task, cards)
    assert len(plan.subtasks) == 2
    assert [i.name for i in plan.subtasks[0].inputs] == ["contract.pdf"]
    assert [i.name for i in plan.subtasks[1].inputs] == ["revenue.xlsx"]


# ------------------------------------------------------------------------------------------- LLM

LLM_PLAN = {"explanation": "analysis feeds the video", "subtasks": [
    {"id": "a", "text": "Analyse the sales table", "inputs": ["sales.csv"], "agent": "deepanalyze"},
    {"id": "v", "text": "Make a video of the findings", "depends_on": ["a"]}]}


async def test_llm_plan_is_validated_and_used(cards) -> None:
    llm = ScriptedChatModel(replies=["```json\n" + json.dumps(LLM_PLAN) + "\n```"])
    task = Task(text="sales video please", inputs=[TaskInput(path=Path("sales.csv"))])
    plan = await HTDAGPlanner().plan(task, cards, llm=llm)
    assert plan.planner == "htdag+llm" and [s.id for s in plan.subtasks] == ["a", "v"]
    assert plan.subtasks[1].depends_on == ["a"] and plan.subtasks[0].inputs[0].name == "sales.csv"
    assert plan.subtasks[0].agent is None and plan.subtasks[0].metadata["planner_hint"] == "deepanalyze"
    assert "deepanalyze" in llm.calls[0] and "sales.csv" in llm.calls[0]


async def test_llm_plan_local_repairs(cards) -> None:
    bad = {"subtasks": [{"id": "a", "text": "Analyse", "depends_on": ["zzz", "a"], "agent": "ghost",
                         "inputs": ["nope.csv"]}]}
    plan = await HTDAGPlanner().plan(Task(text="analyse"), cards, llm=ScriptedChatModel(replies=[json.dumps(bad)]))
    assert plan.subtasks[0].depends_on == [] and plan.subtasks[0].agent is None
    assert "dropped dependency 'zzz'" in plan.explanation and "unknown agent 'ghost'" in plan.explanation


async def test_llm_invalid_then_repaired_on_second_round(cards) -> None:
    llm = ScriptedChatModel(replies=['{"subtasks": []}', json.dumps(LLM_PLAN)])
    plan = await HTDAGPlanner().plan(Task(text="x y z", inputs=[TaskInput(path=Path("sales.csv"))]), cards,
                                     llm=llm)
    assert plan.planner == "htdag+llm" and "1 repair round" in plan.explanation
    assert "previous answer was invalid" in llm.calls[1]


async def test_llm_cycle_or_garbage_falls_back_to_deterministic(cards) -> None:
    cyclic = {"subtasks": [{"id": "a", "text": "A", "depends_on": ["b"]},
                           {"id": "b", "text": "B", "depends_on": ["a"]}]}
    llm = ScriptedChatModel(replies=[json.dumps(cyclic), "no idea"])
    task = Task(text="analyse the sales and make a video of the findings")
    plan = await HTDAGPlanner().plan(task, cards, llm=llm)
    assert plan.planner == "htdag" and "LLM plan rejected" in plan.explanation
    assert plan.subtasks[1].depends_on == ["s1"]
    # an exhausted script raises inside the model: still a deterministic plan
    plan = await HTDAGPlanner().plan(task, cards, llm=ScriptedChatModel(replies=[]))
    assert plan.planner == "htdag" and "LLM call failed" in plan.explanation


# ------------------------------------------------------------------------------------------- replan

def two_step_plan() -> Plan:
    return Plan(task_id="t", planner="htdag", subtasks=[
        Subtask(id="s1", text="Analyse the sales table and compute revenue by region"),
        Subtask(id="s2", text="Make a video of the findings", depends_on=["s1"])])


async def test_replan_excludes_failed_agent_and_rewires(cards) -> None:
    planner = HTDAGPlanner(max_replans=2)
    new = await planner.replan(two_step_plan(), "s1", AgentFailedError("deepanalyze", "boom"), cards)
    assert new is not None and [s.id for s in new.subtasks] == ["s1-r1", "s2"]
    retry = new.subtasks[0]
    assert retry.metadata["exclude_agents"] == ["deepanalyze"] and retry.metadata["attempt"] == 1
    assert new.subtasks[1].depends_on == ["s1-r1"] and "replanned s1" in new.explanation
    again = await planner.replan(new, "s1-r1", {"message": "x", "details": {"agent": "sales"}}, cards)
    assert again is not None and again.subtasks[0].id == "s1-r2"
    assert again.subtasks[0].metadata["exclude_agents"] == ["deepanalyze", "sales"]
    assert await planner.replan(again, "s1-r2", "still failing", cards) is None


async def test_replan_gives_up_without_alternatives(cards) -> None:
    only = [c for c in cards if c.name == "deepanalyze"]
    assert await HTDAGPlanner().replan(two_step_plan(), "s1", AgentFailedError("deepanalyze", "x"), only) is None
    with pytest.raises(PlanError):
        await HTDAGPlanner().replan(two_step_plan(), "nope", "x", cards)


async def test_replan_with_llm_rewrites_the_step(cards) -> None:
    rewrite = {"subtasks": [{"id": "x", "text": "Load the sales table"},
                            {"id": "y", "text": "Compute revenue by region", "depends_on": ["x"]}]}
    llm = ScriptedChatModel(replies=[json.dumps(rewrite)])
    new = await HTDAGPlanner().replan(two_step_plan(), "s1", AgentFailedError("sales", "x"), cards, llm=llm)
    assert new is not None and [s.id for s in new.subtasks] == ["s1-r1.1", "s1-r1.2", "s2"]
    assert new.subtasks[1].depends_on == ["s1-r1.1"]
    assert set(new.subtasks[2].depends_on) == {"s1-r1.1", "s1-r1.2"}
    assert "boom" not in llm.calls[0] and "failed" in llm.calls[0]
