"""The ``genesis`` CLI: runs, run records, doctor, one-line errors with non-zero exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from genesis_agents.infrastructure.cli.main import app
from typer.testing import CliRunner

from .helpers import EchoAgent, host

runner = CliRunner()


def test_runs_list_and_show_read_the_run_records(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    monkeypatch.setenv("GENESIS_DATA_DIR", str(data))
    g = host(tmp_path, EchoAgent())
    result = g.run("remember the alamo", agent="echo")
    g.close()
    listed = runner.invoke(app, ["runs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert rows[0]["run_id"] == result.run_id and rows[0]["status"] == "succeeded"
    shown = runner.invoke(app, ["runs", "show", result.run_id])
    assert shown.exit_code == 0, shown.output
    assert "agent:echo" in shown.stdout and "trace" in shown.stdout
    missing = runner.invoke(app, ["runs", "show", "run_nope"])
    assert missing.exit_code == 2
    assert "no run with id 'run_nope'" in missing.stderr and "Traceback" not in missing.output


def test_run_rejects_bad_input_in_one_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GENESIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GENESIS_SAFETY_REVIEWER", "passthrough")
    monkeypatch.setenv("GENESIS_MEMORY_BACKEND", "inprocess")
    empty = runner.invoke(app, ["run", "   "])
    assert empty.exit_code == 2 and "task text is empty" in empty.stderr
    unknown = runner.invoke(app, ["run", "hello", "--agent", "deepanalyse"])
    assert unknown.exit_code == 2 and "did you mean deepanalyze" in unknown.stderr
    missing = runner.invoke(app, ["run", "hello", "--input", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "input file not found" in missing.stderr
    assert "Traceback" not in empty.output + unknown.output + missing.output


def test_doctor_reports_every_part(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GENESIS_DATA_DIR", str(tmp_path / "data"))
    out = runner.invoke(app, ["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(out.stdout)}
    for name in ("embeddings", "checkpointer", "vector store", "graph store", "video encoder", "agents"):
        assert checks[name]["status"] == "ok", checks[name]
    assert out.exit_code == 0
