"""The SE-Darwin agent inside a real Genesis host, and the `genesis evolve` CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from genesis_agents.agents.se_darwin import SEDarwinAgent, parse_request
from genesis_agents.evolution import load_promoted_config
from genesis_agents.infrastructure.cli.evolve import parse_budget, register
from genesis_agents.infrastructure.contracts import Task
from genesis_agents.infrastructure.errors import BadInputError
from genesis_agents.infrastructure.facade import Genesis
from genesis_agents.infrastructure.stages import BasicValidator, ExplicitRouter, SinglePlanner
from typer.testing import CliRunner


def test_parse_request_from_text_and_params():
    r = parse_request(Task(text="Please improve the DeepAnalyze agent on suite suites/da.yaml."))
    assert r == {"agent": "deepanalyze", "suite": "suites/da.yaml"}
    r = parse_request(Task(text="evolve triage against suite triage_suite.yaml", params={"generations": "3"}))
    assert r["agent"] == "triage" and r["suite"] == "triage_suite.yaml" and r["generations"] == 3
    r = parse_request(Task(text="make it better", params={"agent": "videogen", "suite": "videogen"}))
    assert r == {"agent": "videogen", "suite": "videogen"}
    with pytest.raises(BadInputError) as info:
        parse_request(Task(text="improve the triage agent please"))
    assert info.value.field == "params.suite"
    with pytest.raises(BadInputError) as info:
        parse_request(Task(text="improve the triage agent on suite s.yaml", params={"population": "many"}))
    assert info.value.field == "params.population"


async def test_se_darwin_agent_runs_evolution_inside_genesis(settings, triage_suite):
    host = Genesis(settings, load_plugins=False, planner=SinglePlanner(), router=ExplicitRouter(),
                   validator=BasicValidator(), agents=[SEDarwinAgent(settings=settings)])
    try:
        assert [c.name for c in host.cards()] == ["se_darwin"]
        run = await host.arun(f"improve the triage agent on suite {triage_suite}", agent="se_darwin",
                              params={"generations": 1, "population": 4, "stages": "minimal", "seed": 3,
                                      "safety": "passthrough"})
    finally:
        await host.aclose()
    assert run.status == "succeeded", run.error or run.results
    result = run.results[0].result
    assert result.data["promotion"]["decision"] == "promoted"
    assert "Held-out quality" in result.text and "Decision: promoted" in result.text
    (plot,) = result.artifacts
    assert plot.media_type == "image/png" and Path(plot.path).stat().st_size > 1000
    assert load_promoted_config("triage", settings) is not None


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test root"""

    register(app, {})
    return app


def test_cli_evolve_history_rollback_and_bad_input(tmp_path, triage_suite, train_only_suite, monkeypatch):
    runner = CliRunner()
    app = make_app()
    data = tmp_path / "cli-data"
    res = runner.invoke(app, ["evolve", "triage", "--suite", str(triage_suite), "--generations", "1",
                              "--population", "4", "--stages", "minimal", "--seed", "3", "--data-dir", str(data),
                              "--safety", "passthrough",
                              "--budget", "12", "--budget", "10m", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["promotion"]["decision"] == "promoted" and out["evaluations"] <= 12
    assert Path(out["plot"]).stat().st_size > 1000

    res = runner.invoke(app, ["evolve", "history", "triage", "--data-dir", str(data), "--json"])
    assert res.exit_code == 0, res.output
    hist = json.loads(res.stdout)
    assert [v["version"] for v in hist["versions"]] == [1] and hist["versions"][0]["active"]
    assert hist["runs"][0]["status"] == "done"

    res = runner.invoke(app, ["evolve", "history", "triage", "--data-dir", str(data)])
    assert res.exit_code == 0 and "promoted versions of triage" in res.stdout and "active" in res.stdout

    res = runner.invoke(app, ["evolve", "rollback", "triage", "--data-dir", str(data)])
    assert res.exit_code == 0 and "version 1 -> its defaults" in res.stdout
    res = runner.invoke(app, ["evolve", "rollback", "triage", "--data-dir", str(data)])
    assert res.exit_code == 2 and "no promoted version to roll back" in res.output

    res = runner.invoke(app, ["evolve", "triage", "--suite", str(train_only_suite), "--data-dir", str(data)])
    assert res.exit_code == 2 and "held-out" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["evolve", "triage", "--data-dir", str(data)])
    assert res.exit_code == 2 and "--suite is required" in res.output
    res = runner.invoke(app, ["evolve", "triage", "--resume", "evo_missing", "--data-dir", str(data)])
    assert res.exit_code == 2 and "no evolution run 'evo_missing'" in res.output
    res = runner.invoke(app, ["evolve", "triage", "--suite", str(triage_suite), "--budget", "lots"])
    assert res.exit_code == 2 and "--budget" in res.output


def test_parse_budget():
    assert parse_budget(["40", "90s", "$0.5", "2h"]) == {"max_evaluations": 40, "max_wall_s": 7200.0,
                                                        "max_cost_usd": 0.5}
    with pytest.raises(BadInputError):
        parse_budget(["forever"])
