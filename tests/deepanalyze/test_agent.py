"""DeepAnalyze through the real Genesis facade: pinned task, artifacts, memory findings, LLM text-to-SQL."""

from __future__ import annotations

import json

import pytest
from genesis_agents.agents.deepanalyze import CARD, DeepAnalyzeAgent
from genesis_agents.infrastructure.config import load_settings
from genesis_agents.infrastructure.contracts import AgentCard, Task, TaskInput
from genesis_agents.infrastructure.facade import Genesis
from genesis_agents.infrastructure.llm import ScriptedChatModel
from genesis_agents.infrastructure.stages import (
    BasicValidator,
    ExplicitRouter,
    PassthroughReviewer,
    SinglePlanner,
)
from genesis_agents.memory.inprocess import InProcessMemory


def _host(tmp_path, *, llm=None, memory=None):
    settings = load_settings(data_dir=tmp_path / "gd", checkpointer="memory", memory_backend="inprocess",
                             safety_reviewer="passthrough")
    return Genesis(settings, llm=llm, memory=memory or InProcessMemory(), planner=SinglePlanner(),
                   router=ExplicitRouter(), validator=BasicValidator(), safety=PassthroughReviewer(),
                   agents=[DeepAnalyzeAgent()], load_plugins=False)


def test_card_is_complete():
    card = AgentCard.model_validate(CARD.model_dump())
    assert card.name == "deepanalyze" and "analytics" in card.task_types
    for ext in (".csv", ".parquet", ".xlsx", ".jsonl", ".json", ".db", ".sqlite", ".duckdb"):
        assert card.accepts(ext)
    assert all(s.examples for s in card.skills) and len(card.skills) >= 5


async def test_run_through_genesis_with_memory(tmp_path, churn_csv):
    mem = InProcessMemory()
    g = _host(tmp_path, memory=mem)
    try:
        run = await g.arun(Task(text="churn rate by contract", agent="deepanalyze",
                                inputs=[TaskInput(path=churn_csv)]))
        hits = await mem.recall("churn rate Month-to-month", k=5, mode="keyword")
        triples = await mem.neighbours("Month-to-month")
    finally:
        await g.aclose()
    assert run.status == "succeeded", run.error
    res = run.results[0].result
    data = res.data
    rates = {r["contract"]: r["value"] for r in data["result"]["table"]}
    import csv

    with churn_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    mtm = [r for r in rows if r["contract"] == "Month-to-month"]
    assert rates["Month-to-month"] == pytest.approx(sum(r["churn"] == "Yes" for r in mtm) / len(mtm))
    # findings: compact JSON, also remembered with provenance and a (segment, metric, value) relation
    assert data["findings"] and json.dumps(data["findings"])
    assert len(data["memory_ids"]) == min(5, len(data["findings"]))
    assert hits and hits[0].item.kind == "finding"
    prov = hits[0].item.provenance
    assert prov["file"] == str(churn_csv) and prov["query"] == "churn rate by contract" and prov["run"] == run.run_id
    assert any(t.predicate == "churn rate" and t.object.endswith("%") for t in triples)
    # chart data for animation: labels + values of the same length, JSON-serialisable
    cd = data["chart_data"]
    assert len(cd["labels"]) == len(cd["values"]) == 3 and cd["unit"] == "rate"
    json.dumps(cd)
    # artifacts: a real PNG and a self-contained dashboard
    names = {a.name: a for a in res.artifacts}
    png = next(a for a in res.artifacts if a.name.endswith(".png"))
    from pathlib import Path

    assert Path(png.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = Path(names["dashboard.html"].path).read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "<script" not in html and "http://" not in html
    assert "Month-to-month" in html


async def test_bad_input_fails_the_subtask_cleanly(tmp_path, churn_csv):
    g = _host(tmp_path)
    try:
        run = await g.arun(Task(text="churn rate by regoin", agent="deepanalyze", inputs=[TaskInput(path=churn_csv)]))
    finally:
        await g.aclose()
    sub = run.results[0]
    assert sub.status == "failed"
    assert sub.error["code"] == "bad_input" and "region" in sub.error.get("hint", "")


async def test_inline_data_via_params(tmp_path):
    g = _host(tmp_path)
    rows = [{"team": "a", "points": 3}, {"team": "b", "points": 5}, {"team": "a", "points": 4}]
    try:
        run = await g.arun(Task(text="total points by team", agent="deepanalyze", params={"data": rows}))
    finally:
        await g.aclose()
    got = {r["team"]: r["value"] for r in run.results[0].result.data["result"]["table"]}
    assert got == {"a": 7, "b": 5}


async def test_llm_sql_is_validated_and_used(tmp_path, churn_csv):
    llm = ScriptedChatModel(replies=[
        "```sql\nSELECT \"region\", COUNT(*) AS customers FROM t GROUP BY 1 ORDER BY 2 DESC\n```"])
    g = _host(tmp_path, llm=llm)
    try:
        run = await g.arun(Task(text="customers per region", agent="deepanalyze", inputs=[TaskInput(path=churn_csv)]))
    finally:
        await g.aclose()
    data = run.results[0].result.data
    assert data["operation"] == "sql" and data["plan"]["parser"] == "llm"
    import csv

    with churn_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    north = sum(r["region"] == "North" for r in rows)
    assert {r["region"]: r["customers"] for r in data["result"]["table"]}["North"] == north


@pytest.mark.parametrize("reply, reason", [
    ("DROP TABLE t", "only SELECT"),
    ("SELECT 1; SELECT 2", "one statement"),
    ("SELECT regoin, count(*) FROM t GROUP BY 1", "unknown column"),
    ("SELECT * FROM read_csv('/etc/passwd')", "does not bind"),
])
async def test_llm_sql_rejected_falls_back_to_rules(tmp_path, churn_csv, reply, reason):
    g = _host(tmp_path, llm=ScriptedChatModel(replies=[reply]))
    try:
        run = await g.arun(Task(text="churn rate by contract", agent="deepanalyze", inputs=[TaskInput(path=churn_csv)]))
    finally:
        await g.aclose()
    data = run.results[0].result.data
    assert data["operation"] == "group" and data["plan"]["parser"] == "rules"
    note = next(n for n in data["notes"] if "rejected" in n)
    assert reason in note


def test_llm_narrative_kept_only_with_supported_numbers(churn_csv):
    from genesis_agents.agents.deepanalyze import AnalyzeOptions, analyze

    opts = AnalyzeOptions(use_llm_sql=False)
    base = analyze(churn_csv, "churn rate by contract", options=opts)
    top = base.data["result"]["table"][0]
    pct = f"{100 * top['value']:.1f}%"
    good = ScriptedChatModel(replies=[f"Month-to-month customers churn most: {pct}."])
    a = analyze(churn_csv, "churn rate by contract", llm=good, options=opts)
    assert a.data["narrative_source"] == "llm" and a.text == f"Month-to-month customers churn most: {pct}."
    invented = ScriptedChatModel(replies=["Month-to-month customers churn most: 61.2%."])
    b = analyze(churn_csv, "churn rate by contract", llm=invented, options=opts)
    assert b.data["narrative_source"] == "rules" and pct in b.text
    assert any("narrative was not used" in n for n in b.data["notes"])
