"""Replanning on failure with the real HTDAG planner and HALO router: the retry goes to another agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genesis_agents import Agent, AgentCard, AgentResult, Genesis, Skill, Task


def _invoice_card(name: str) -> AgentCard:
    return AgentCard(name=name, description="Totals invoices and lists overdue invoices for accounts receivable.",
                     skills=[Skill(id="invoice-totals", description="sum invoice amounts, list overdue invoices",
                                   examples=["what do customers owe us on open invoices",
                                             "list the overdue invoices and their totals"])])


class FlakyInvoices(Agent):
    """Two instances share one call log; whichever is called first fails, the next one answers."""

    calls: list[str] = []

    def __init__(self, name: str) -> None:
        super().__init__()
        self.card = _invoice_card(name)  # type: ignore[misc]

    async def run(self, task: Task, ctx: Any) -> AgentResult:
        FlakyInvoices.calls.append(self.card.name)
        if len(FlakyInvoices.calls) == 1:
            raise ConnectionError("ledger service unreachable")
        return AgentResult(text=f"{self.card.name}: open invoices total 1,250.00")


async def test_failed_subtask_is_replanned_onto_another_agent(tmp_path: Path) -> None:
    FlakyInvoices.calls = []
    g = Genesis(data_dir=tmp_path, load_plugins=False, memory_backend="inprocess", safety_reviewer="passthrough",
                agents=[FlakyInvoices("invoices-a"), FlakyInvoices("invoices-b")])
    result = await g.arun("what do customers owe us on open invoices")
    assert result.status == "succeeded", [r.error for r in result.results]
    first, second = FlakyInvoices.calls
    assert first != second  # the retry excluded the agent that failed
    statuses = {r.subtask_id: r.status for r in result.results}
    retry = next(sid for sid in statuses if sid.endswith("-r1"))
    assert statuses[retry] == "succeeded"
    failed = [r for r in result.results if r.status == "failed"]
    assert len(failed) == 1 and "ledger service unreachable" in failed[0].error["message"]  # still visible
    assert result.text == f"{second}: open invoices total 1,250.00"
    await g.aclose()


async def test_pinned_tasks_are_not_replanned(tmp_path: Path) -> None:
    FlakyInvoices.calls = []
    g = Genesis(data_dir=tmp_path, load_plugins=False, memory_backend="inprocess", safety_reviewer="passthrough",
                agents=[FlakyInvoices("invoices-a"), FlakyInvoices("invoices-b")])
    result = await g.arun("what do customers owe us", agent="invoices-a")
    assert result.status == "failed" and FlakyInvoices.calls == ["invoices-a"]
    await g.aclose()


async def test_out_of_scope_part_is_unassigned_and_the_rest_still_runs(tmp_path: Path) -> None:
    FlakyInvoices.calls = ["warm"]  # no failure this time
    g = Genesis(data_dir=tmp_path, load_plugins=False, memory_backend="inprocess", safety_reviewer="passthrough",
                agents=[FlakyInvoices("invoices-a")])
    result = await g.arun("list the overdue invoices and their totals, then book a flight to Paris")
    statuses = {r.subtask_id: r.status for r in result.results}
    assert sorted(statuses.values()) == ["succeeded", "unassigned"], result.results
    assert result.status == "partial"
    unassigned = next(d for d in result.decisions if d.agent is None)
    assert "out of scope" in unassigned.explanation
    await g.aclose()
