"""``genesis analyze FILE "question"``: ask DeepAnalyze directly (no routing; safety still applies).

    genesis analyze examples/data/churn.csv "churn rate by contract"
    genesis analyze sales.parquet "forecast next quarter's revenue" --output out/ --json

``--json`` prints the structured result (``AgentResult.data`` plus text and artifact paths) for scripts.
Exit codes: 0 answered, 1 the run failed, 2 bad input (missing file, unknown column, too few points...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import EXIT_BAD_INPUT, EXIT_FAILED, copy_artifacts
from .common import error_line as _error_line


def _source_input(file: str) -> Any:
    from genesis_agents.infrastructure.contracts import TaskInput
    from genesis_agents.infrastructure.errors import NotFoundError

    if "://" in file and not file.startswith("file://"):
        return TaskInput(uri=file)
    path = Path(file).expanduser()
    if not path.exists():
        raise NotFoundError(f"file {file!r} does not exist", field="FILE", hint="check the path")
    return TaskInput(path=path.resolve())


async def _run(file: str, question: str, params: dict[str, Any], llm: str | None) -> Any:
    from genesis_agents.infrastructure.contracts import Task
    from genesis_agents.infrastructure.facade import Genesis

    task = Task(text=question, agent="deepanalyze", task_type="analytics", inputs=[_source_input(file)], params=params)
    g = Genesis(llm=llm) if llm else Genesis()
    try:
        return await g.arun(task)
    finally:
        await g.aclose()


def analyze_command(
    file: Annotated[str, typer.Argument(help="table file (.csv .parquet .xlsx .jsonl .json .db .sqlite .duckdb) or URL")],
    question: Annotated[str, typer.Argument(help="the business question, e.g. 'churn rate by contract type'")],
    as_json: Annotated[bool, typer.Option("--json", help="print the structured result as JSON")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="copy charts and dashboard.html here")] = None,
    table: Annotated[str | None, typer.Option("--table", help="table or sheet to read")] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", min=1, help="forecast steps (overrides the question)")] = None,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="skip PNG charts and the dashboard")] = False,
    llm: Annotated[str | None, typer.Option("--llm", help="LLM spec for text-to-SQL (default: none)")] = None,
) -> None:
    """Answer a business question about a table with numbers, charts and a dashboard."""
    import asyncio

    from genesis_agents.infrastructure.errors import GenesisError

    params: dict[str, Any] = {}
    if table:
        params["table"] = table
    if horizon:
        params["horizon"] = horizon
    if no_charts:
        params.update(charts=False, dashboard=False)
    try:
        run = asyncio.run(_run(file, question, params, llm))
    except GenesisError as exc:
        _error_line(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    sub = run.results[0] if run.results else None
    res = sub.result if sub else None
    if sub is None or sub.status != "succeeded" or res is None:
        err = (sub.error if sub else None) or run.error or {}
        msg = err.get("message", "analysis failed")
        if err.get("field"):
            msg = f"{err['field']}: {msg}"
        if err.get("hint"):
            msg += f" ({err['hint']})"
        _error_line(msg)
        raise typer.Exit(EXIT_BAD_INPUT if err.get("code") in ("bad_input", "not_found", "limit_exceeded") else EXIT_FAILED)
    paths = copy_artifacts(res.artifacts, output) if output is not None else [a.path for a in res.artifacts]
    if as_json:
        typer.echo(json.dumps({"run_id": run.run_id, "text": res.text, "data": res.data, "artifacts": paths},
                              indent=2, default=str))
        return
    _print_human(res, paths)


def _print_human(res: Any, paths: list[str]) -> None:
    from genesis_agents.agents.deepanalyze.fmt import fmt
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(res.text, highlight=False)
    rows = (res.data.get("result") or {}).get("table")
    unit = (res.data.get("metric") or {}).get("unit", "number")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        t = Table(show_lines=False)
        cols = list(rows[0].keys())[:8]
        for c in cols:
            t.add_column(str(c))
        for r in rows[:25]:
            t.add_row(*[fmt(r.get(c), unit if c == "value" else ("rate" if c == "share" else "number")) for c in cols])
        con.print(t)
    for p in paths:
        con.print(f"[green]artifact:[/] {p}", highlight=False)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add ``genesis analyze`` to the CLI."""
    app.command("analyze")(analyze_command)
