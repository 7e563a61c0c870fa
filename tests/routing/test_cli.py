"""``genesis route`` / ``genesis plan`` through a real Typer app (the commands this package registers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from genesis_agents.infrastructure.cli import routing as routing_cli
from typer.testing import CliRunner

from .conftest import ROOT

CARDS = str(ROOT / "benchmarks" / "routing" / "cards.yaml")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    routing_cli.register(app, {"agents": typer.Typer(), "runs": typer.Typer()})
    return app


def invoke(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, list(args))


def test_route_json(app: typer.Typer, tmp_path: Path) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_text("month,revenue\n2024-01,10\n")
    res = invoke(app, "route", "analyse the sales and make a video of the findings", "--cards", CARDS,
                 "--input", str(csv), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [s["id"] for s in out["plan"]["subtasks"]] == ["s1", "s2"]
    assert out["plan"]["subtasks"][1]["depends_on"] == ["s1"]
    assert [d["agent"] for d in out["decisions"]] == ["deepanalyze", "videogen"]
    assert out["validation"]["ok"] is True and "travel" in out["cards"]


def test_route_explain_table(app: typer.Typer) -> None:
    res = invoke(app, "route", "Book a hotel in Lisbon and explain why cats purr", "--cards", CARDS, "--explain")
    assert res.exit_code == 0, res.output
    assert "routing decisions" in res.output and "travel" in res.output
    assert "unassigned" in res.output and "not executable" in res.output


def test_plan_json(app: typer.Typer) -> None:
    res = invoke(app, "plan", "Book a flight to Paris and draft an NDA for the new supplier", "--cards", CARDS,
                 "--json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["planner"] == "htdag" and len(plan["subtasks"]) == 2


def test_errors_are_one_red_line(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - id: a\n    agent: x\n    when: {regex: '('}\n")
    res = invoke(app, "route", "anything", "--cards", CARDS, "--rules", str(bad))
    assert res.exit_code == 2
    assert "rules.yaml:4" in res.output and "Traceback" not in res.output
    res = invoke(app, "route", "anything", "--cards", CARDS, "--input", str(tmp_path / "missing.csv"))
    assert res.exit_code == 2 and "input file not found" in res.output
    res = invoke(app, "plan", "   ", "--cards", CARDS)
    assert res.exit_code == 2 and "empty" in res.output
    res = invoke(app, "plan", "x", "--cards", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2 and "cards file not found" in res.output
