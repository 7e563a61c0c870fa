"""``genesis eval`` commands: exit codes, reports on disk, compare, validate, list, schema."""

from __future__ import annotations

import json
import textwrap

import pytest
import typer
from genesis_agents.infrastructure.cli.eval import register
from typer.testing import CliRunner

HOST_MODULE = '''
import re
from genesis_agents import Agent, AgentCard, AgentResult, Genesis, Skill, load_settings
from genesis_agents.infrastructure.stages import BasicValidator, ExplicitRouter, SinglePlanner


class Calc(Agent):
    card = AgentCard(name="calc", description="adds numbers", skills=[Skill(id="add", description="add")])

    async def run(self, task, ctx):
        total = sum(float(x) for x in re.findall(r"-?\\d+(?:\\.\\d+)?", task.text))
        return AgentResult(text=f"sum {total:g}", data={"sum": total})


def make(**kw):
    settings = load_settings(data_dir=DATA_DIR, memory_backend="inprocess", safety_reviewer="passthrough",
                             checkpointer="memory")
    return Genesis(settings, agents=[Calc()], load_plugins=False, planner=SinglePlanner(), router=ExplicitRouter(),
                   validator=BasicValidator(), **kw)
'''

SUITE = """
suite: cli
scenarios:
  - id: one
    task: {text: "add 1 and 2", agent: calc}
    expect: {output: {path: data.sum, equals: 3}}
  - id: two
    task: {text: "add 2 and 2", agent: calc}
    expect: {output: {path: data.sum, equals: EXPECTED}}
"""


@pytest.fixture
def cli(tmp_path, monkeypatch):
    module = tmp_path / "eval_cli_host.py"
    module.write_text(HOST_MODULE.replace("DATA_DIR", repr(str(tmp_path / "data"))))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """genesis"""

    register(app, {})
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["eval", *args])

    return invoke


def _suite(tmp_path, expected: int, name: str = "cli.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(SUITE).replace("EXPECTED", str(expected)))
    return path


def test_run_writes_reports_and_sets_exit_codes(cli, tmp_path):
    good = _suite(tmp_path, 4)
    res = cli("run", str(good), "--host", "eval_cli_host:make", "--out", "out", "--save-baseline", "base.json")
    assert res.exit_code == 0, res.output
    assert "2 passed" in res.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "junit.xml", "report.html", "journal.jsonl"}
    assert (tmp_path / "base.json").is_file()

    bad = _suite(tmp_path, 5)
    res = cli("run", str(bad), "--host", "eval_cli_host:make", "--baseline", "base.json", "--report", "json",
              "--out", "out2", "--json")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["failed"] == 1 and report["comparison"]["regressed"] is True

    res = cli("compare", "base.json", "out2/report.json")
    assert res.exit_code == 1 and "REGRESSION" in res.output and "cli::two" in res.output
    res = cli("compare", "base.json", "out/report.json", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["regressed"] is False


def test_resume_reuses_the_journal(cli, tmp_path):
    good = _suite(tmp_path, 4)
    assert cli("run", str(good), "--host", "eval_cli_host:make", "--out", "out").exit_code == 0
    res = cli("run", str(good), "--host", "eval_cli_host:make", "--out", "out", "--resume", "--json")
    report = json.loads(res.stdout)
    assert res.exit_code == 0 and all(a["resumed"] for s in report["scenarios"] for a in s["attempts"])


def test_bad_input_is_one_red_line_and_exit_2(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenarios:\n  - id: a\n    task: hi\n    expect: {status: maybe}\n")
    res = cli("run", str(broken), "--host", "eval_cli_host:make")
    assert res.exit_code == 2 and "broken.yaml:4: scenarios[0].expect.status" in res.output
    assert "Traceback" not in res.output
    res = cli("validate", str(broken))
    assert res.exit_code == 2 and "broken.yaml:4" in res.output
    typo = tmp_path / "typo.yaml"
    typo.write_text("scenarios:\n  - id: a\n    task: {text: hi, agent: calcc}\n")
    res = cli("run", str(typo), "--host", "eval_cli_host:make")
    assert res.exit_code == 2 and "unknown agent 'calcc'" in res.output and "did you mean calc" in res.output
    assert cli("run", "no-such-suite", "--host", "eval_cli_host:make").exit_code == 2
    assert cli("run", str(typo), "--host", "nowhere:make").exit_code == 2
    assert cli("run", str(typo), "--report", "pdf").exit_code == 2
    assert cli("validate", str(_suite(tmp_path, 4))).exit_code == 0


def test_list_and_schema(cli):
    res = cli("list", "--json")
    assert res.exit_code == 0, res.output
    names = {row["name"] for row in json.loads(res.stdout)}
    assert {"router", "safety", "deepanalyze", "videogen"} <= names
    res = cli("schema")
    assert res.exit_code == 0 and json.loads(res.stdout)["title"] == "Genesis evaluation suite"
