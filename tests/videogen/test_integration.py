"""VideoGen through the real Genesis runtime and through the ``genesis video`` CLI command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from genesis_agents.agents.videogen import inspect_video
from genesis_agents.infrastructure.contracts import Task, TaskInput
from typer.testing import CliRunner

from .conftest import CHURN, FINDINGS

SMALL = {"resolution": "320x180", "fps": 8, "preset": "ultrafast", "narration": "off", "max_rounds": 1}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GENESIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GENESIS_MEMORY_BACKEND", "inprocess")
    monkeypatch.setenv("GENESIS_CHECKPOINTER", "memory")
    return tmp_path


async def test_pinned_task_through_genesis(env: Path) -> None:
    from genesis_agents.infrastructure.facade import Genesis

    g = Genesis()
    try:
        assert any(c.name == "videogen" for c in g.cards())
        run = await g.arun(Task(text="Make a 16 second video of the churn findings", agent="videogen",
                                inputs=[TaskInput(data={"findings": FINDINGS[:2], "chart_data": CHURN})],
                                params=SMALL))
        assert run.status == "succeeded", run.error
        res = run.results[0].result
        assert res is not None and res.safety is not None  # reviewed like every response
        mp4 = next(a for a in run.artifacts if a.media_type == "video/mp4")
        info = inspect_video(mp4.path, ())[0]
        assert (info.width, info.height, info.frames) == (320, 180, 128)
        assert Path(mp4.path).is_relative_to(env / "data")
        hits = await g.memory.recall("video storyboard churn", k=5, namespace="default")
        assert any("videogen" in h.item.tags for h in hits)
    finally:
        await g.aclose()


def _app() -> typer.Typer:
    from genesis_agents.infrastructure.cli.video import register

    app = typer.Typer()
    register(app, {})

    @app.command("version")
    def _version() -> None:  # a second command keeps typer in multi-command mode, as in the real CLI
        """unused"""

    return app


def test_cli_json_and_output_dir(env: Path, churn_json: Path) -> None:
    out = env / "out"
    r = CliRunner().invoke(_app(), ["video", "Make a 20 second video of the churn findings", "--input",
                                    str(churn_json), "--resolution", "320x180", "--fps", "8", "--rounds", "0",
                                    "--narration", "off", "--output", str(out), "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.output)
    assert {Path(p).name for p in payload["artifacts"]} == {"video.mp4", "video.srt", "poster.png",
                                                            "storyboard.json"}
    assert all(Path(p).parent == out and Path(p).is_file() for p in payload["artifacts"])
    assert payload["data"]["video"]["frames"] == 160 and "before" in payload["data"]["critique"]


def test_cli_bad_input_is_one_red_line(env: Path) -> None:
    r = CliRunner().invoke(_app(), ["video", "A video", "--resolution", "999x999"])
    assert r.exit_code == 2
    assert "999x999" in r.output and "1280x720" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(_app(), ["video", "   "])
    assert r.exit_code == 2 and "brief is empty" in r.output
    r = CliRunner().invoke(_app(), ["video", "A video", "--input", str(env / "missing.json")])
    assert r.exit_code == 2 and "does not exist" in r.output


async def test_raw_table_is_analysed_by_delegation(env: Path) -> None:
    """Handed a table and no analysis, VideoGen delegates the numbers to the router (DeepAnalyze answers)."""
    from genesis_agents.infrastructure.facade import Genesis

    churn_csv = Path(__file__).resolve().parents[2] / "examples" / "data" / "churn.csv"
    g = Genesis()
    try:
        run = await g.arun(Task(text="Make a short video of churn rate by contract type", agent="videogen",
                                inputs=[TaskInput(path=churn_csv)], params=SMALL))
        assert run.status == "succeeded", (run.error, run.results)
        spans = [s.name for s in run.trace]
        assert "agent:deepanalyze" in spans and spans.count("review") >= 2  # delegated, and reviewed too
        res = run.results[0].result
        board = json.loads(Path(next(a.path for a in res.artifacts if a.name.endswith(".json"))).read_text())
        text = json.dumps(board)
        assert "Month-to-month" in text  # the delegated analysis' real segments are in the storyboard
    finally:
        await g.aclose()
