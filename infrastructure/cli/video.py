"""``genesis video "brief"``: make a short video with VideoGen (no routing; safety still applies).

    genesis video "Make a 20 second video about our spring sale; call to action: shop now at example.com"
    genesis video "Present the churn findings" --input churn.json --duration 30 --output out/
    genesis video "Quick teaser" --resolution 640x360 --fps 12 --json

``--input`` takes a JSON file (``{"findings": [...], "chart_data": {"title", "labels", "values", "unit"}}``,
``{label: value}`` or a list of records) or an image (PNG/JPEG/WebP; name it ``logo.png`` for a logo).
Exit codes: 0 rendered, 1 the run failed, 2 bad input (empty brief, unsupported resolution, unreadable file...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import EXIT_BAD_INPUT, EXIT_FAILED, copy_artifacts
from .common import error_line as _error_line

BAD_INPUT_CODES = ("bad_input", "not_found", "limit_exceeded", "config_error")


def _inputs(paths: list[Path]) -> list[Any]:
    from genesis_agents.infrastructure.contracts import TaskInput
    from genesis_agents.infrastructure.errors import NotFoundError

    out = []
    for p in paths:
        path = p.expanduser()
        if not path.is_file():
            raise NotFoundError(f"file {str(p)!r} does not exist", field="--input", hint="check the path")
        out.append(TaskInput(path=path.resolve()))
    return out


async def _run(task: Any, llm: str | None, show_progress: bool) -> Any:
    from genesis_agents.infrastructure.contracts import DoneEvent, ProgressEvent
    from genesis_agents.infrastructure.facade import Genesis

    g = Genesis(llm=llm) if llm else Genesis()
    try:
        if not show_progress:
            return await g.arun(task)
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        result = None
        with Progress(TextColumn("[bold]video[/]"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), TextColumn("{task.description}"), transient=True) as bar:
            job = bar.add_task("planning", total=1.0)
            async for event in g.astream(task):
                if isinstance(event, ProgressEvent) and event.progress is not None:
                    bar.update(job, completed=event.progress, description=event.message[:60])
                elif isinstance(event, DoneEvent):
                    result = event.result
        return result
    finally:
        await g.aclose()


def video_command(
    brief: Annotated[str, typer.Argument(help="what the video should say, e.g. 'a 20 second video about ...'")],
    input_: Annotated[list[Path] | None, typer.Option("--input", "-i", help="JSON data or image file (repeatable)")] = None,
    duration: Annotated[float | None, typer.Option("--duration", "-d", min=1, help="target length in seconds (default 20)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="copy the MP4, SRT, poster and storyboard here")] = None,
    resolution: Annotated[str | None, typer.Option("--resolution", "-r", help="WIDTHxHEIGHT, e.g. 1280x720 (default)")] = None,
    fps: Annotated[int | None, typer.Option("--fps", help="frames per second (default 24)")] = None,
    rounds: Annotated[int | None, typer.Option("--rounds", min=0, max=5, help="critique-and-refine rounds (default 2)")] = None,
    narration: Annotated[str | None, typer.Option("--narration", help="auto | on | off (espeak-ng)")] = None,
    cta: Annotated[str | None, typer.Option("--cta", help="call-to-action text for the last scene")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the structured result as JSON")] = False,
    llm: Annotated[str | None, typer.Option("--llm", help="LLM spec for storyboard planning (default: none)")] = None,
) -> None:
    """Turn a brief (and optional data or images) into an MP4 with subtitles and a poster frame."""
    import asyncio

    from genesis_agents.infrastructure.contracts import Task
    from genesis_agents.infrastructure.errors import BadInputError, GenesisError

    params: dict[str, Any] = {}
    for key, value in (("duration_s", duration), ("resolution", resolution), ("fps", fps), ("max_rounds", rounds),
                       ("narration", narration), ("cta", cta)):
        if value is not None:
            params[key] = value
    try:
        if not brief.strip():
            raise BadInputError("the brief is empty", field="BRIEF", hint='e.g. genesis video "our spring sale"')
        task = Task(text=brief, agent="videogen", task_type="video", inputs=_inputs(input_ or []), params=params)
        run = asyncio.run(_run(task, llm, show_progress=not as_json))
    except GenesisError as exc:
        _error_line(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    sub = run.results[0] if run is not None and run.results else None
    res = sub.result if sub else None
    if sub is None or sub.status != "succeeded" or res is None or res.status != "ok":
        err = (sub.error if sub else None) or (run.error if run is not None else None) or {}
        msg = err.get("message") or (res.error if res is not None else None) or "video generation failed"
        if err.get("field"):
            msg = f"{err['field']}: {msg}"
        if err.get("hint"):
            msg += f" ({err['hint']})"
        _error_line(msg)
        raise typer.Exit(EXIT_BAD_INPUT if err.get("code") in BAD_INPUT_CODES else EXIT_FAILED)
    paths = copy_artifacts(res.artifacts, output) if output is not None else [a.path for a in res.artifacts]
    if as_json:
        typer.echo(json.dumps({"run_id": run.run_id, "text": res.text, "data": res.data, "artifacts": paths},
                              indent=2, default=str))
        return
    _print_human(res, paths)


def _print_human(res: Any, paths: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(res.text, highlight=False)
    crit = res.data.get("critique", {})
    before, after = crit.get("before", {}), crit.get("after", {})
    t = Table(title="critique (measured on the rendered video)")
    t.add_column("critic")
    t.add_column("before", justify="right")
    t.add_column("after", justify="right")
    for name in after:
        t.add_row(name, f"{before.get(name, 0):.2f}", f"{after[name]:.2f}")
    con.print(t)
    scenes = Table(title="storyboard")
    for col in ("scene", "kind", "title", "seconds"):
        scenes.add_column(col)
    for s in res.data.get("storyboard", {}).get("scenes", []):
        scenes.add_row(s["id"], s["kind"], s["title"][:50], f"{s['duration_s']:.1f}")
    con.print(scenes)
    for p in paths:
        con.print(f"[green]artifact:[/] {p}", highlight=False)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add ``genesis video`` to the CLI."""
    app.command("video")(video_command)
