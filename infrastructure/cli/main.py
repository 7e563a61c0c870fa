"""``genesis``: run tasks, inspect agents and runs, check the environment.

Subcommand groups of other parts (memory, safety, eval, serve, analyze, video, evolve, route/plan) live in
their own modules in this package, each exposing ``register(app, groups)``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import EXIT_FAILED, console, copy_artifacts, fail, print_json

app = typer.Typer(name="genesis", help="Genesis multi-agent framework.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
agents_app = typer.Typer(help="List and manage agents.", no_args_is_help=True)
runs_app = typer.Typer(help="List, inspect and resume runs.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")
app.add_typer(runs_app, name="runs")

CLI_MODULES = ["routing", "memory", "safety", "eval", "analyze", "video", "serve", "evolve"]


def _host(**overrides: Any) -> Any:
    from genesis_agents.infrastructure.facade import Genesis

    return Genesis(**overrides)


# ------------------------------------------------------------------------------------------ run


@app.command("run")
def run_cmd(
    text: Annotated[str, typer.Argument(help="what you want done")],
    inputs: Annotated[list[Path] | None, typer.Option("--input", "-i", help="input file (repeatable)")] = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="pin an agent (skip routing)")] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="tenant namespace")] = "default",
    llm: Annotated[str | None, typer.Option("--llm", help="LLM spec, e.g. scripted:replies.json")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="copy artifacts to this folder")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the RunResult as JSON")] = False,
) -> None:
    """Plan, route, execute, review and remember one task."""
    import asyncio

    from genesis_agents.infrastructure.errors import GenesisError

    async def go() -> Any:
        host = _host(**({"llm": llm} if llm else {}))
        try:
            task = host.make_task(text, inputs=[p.resolve() for p in inputs or []], agent=agent, namespace=namespace)
            if as_json:
                return await host.arun(task)
            return await _run_live(host, task)
        finally:
            await host.aclose()

    try:
        result = asyncio.run(go())
    except GenesisError as exc:
        raise fail(exc) from None
    if output is not None:
        copy_artifacts(result.artifacts, output)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        _print_result(result)
    if result.status not in ("succeeded",):
        raise typer.Exit(EXIT_FAILED)


async def _run_live(host: Any, task: Any) -> Any:
    from rich.status import Status

    out = console()
    result = None
    with Status("planning...", console=out) as status:
        async for ev in host.astream(task):
            if ev.type == "planned":
                out.print(f"[bold]plan[/] ({ev.plan.planner}): " + " | ".join(
                    f"{s.id}: {s.text[:60]}" + (f" (after {', '.join(s.depends_on)})" if s.depends_on else "")
                    for s in ev.plan.subtasks))
            elif ev.type == "routed":
                for d in ev.decisions:
                    out.print(f"[bold]route[/] {d.subtask_id} -> {d.agent or '[red]unassigned[/]'} "
                              f"[dim]({d.decided_by}: {d.explanation[:90]})[/]")
            elif ev.type == "subtask_started":
                status.update(f"{ev.agent} working on {ev.subtask_id}...")
            elif ev.type == "progress":
                pct = f" {ev.progress:.0%}" if ev.progress is not None else ""
                status.update(f"{ev.agent}{pct}: {ev.message[:80]}")
            elif ev.type == "reviewed":
                out.print(f"[bold]safety[/] {ev.subtask_id}: {ev.verdict.action} [dim]{ev.verdict.reason[:80]}[/]")
            elif ev.type == "done":
                result = ev.result
    return result


def _print_result(result: Any) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=f"run {result.run_id}: {result.status}")
    for col in ("subtask", "agent", "status", "safety", "ms", "detail"):
        table.add_column(col)
    for r in result.results:
        detail = (r.error or {}).get("message", "") if r.error else (r.result.text[:60] if r.result else "")
        safety = r.result.safety.action if r.result and r.result.safety else "-"
        table.add_row(r.subtask_id, r.agent or "-", r.status, safety, f"{r.duration_ms:.0f}", detail)
    out.print(table)
    if result.error:
        out.print(f"[red]error:[/] {result.error.get('message')}")
    if result.text:
        out.print(result.text)
    for a in result.artifacts:
        out.print(f"[green]artifact[/] {a.path} ({a.media_type}, {a.size_bytes} bytes)")


# ------------------------------------------------------------------------------------------ agents


@agents_app.command("list")
def agents_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show registered agents (built-in, plugins, remote) and plugins that failed to load."""
    host = _host()
    try:
        cards = host.cards()
        problems = host.registry.problems
        if as_json:
            print_json({"agents": [c.model_dump(mode="json") for c in cards],
                        "problems": [p.__dict__ for p in problems]})
            return
        from rich.table import Table

        table = Table(title="agents")
        for col in ("name", "version", "cost", "skills", "description"):
            table.add_column(col)
        for c in cards:
            table.add_row(c.name + (" (remote)" if c.url else ""), c.version, c.cost_tier,
                          ", ".join(s.id for s in c.skills), c.description[:70])
        console().print(table)
        for p in problems:
            console(stderr=True).print(f"[yellow]skipped plugin[/] {p.name} ({p.source}): {p.error}")
    finally:
        host.close()


# ------------------------------------------------------------------------------------------ runs


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    status: Annotated[str | None, typer.Option("--status")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recent runs, newest first."""
    from genesis_agents.infrastructure.config import load_settings
    from genesis_agents.infrastructure.runs import RunStore

    settings = load_settings()
    store = RunStore(settings.path("runs.sqlite"))
    records = store.list(limit=limit, status=status)
    if as_json:
        print_json([{"run_id": r.run_id, "status": r.status, "created_at": r.created_at, "text": r.task.text}
                    for r in records])
        return
    import datetime as dt

    from rich.table import Table

    table = Table(title=f"runs in {settings.data_dir}")
    for col in ("run", "status", "started", "task"):
        table.add_column(col)
    for r in records:
        table.add_row(r.run_id, r.status, dt.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                      r.task.text[:70])
    console().print(table)


@runs_app.command("show")
def runs_show(run_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A run's plan, routing decisions, results and trace (spans with timings and usage)."""
    from genesis_agents.infrastructure.config import load_settings
    from genesis_agents.infrastructure.errors import GenesisError
    from genesis_agents.infrastructure.runs import RunStore

    try:
        record = RunStore(load_settings().path("runs.sqlite")).get(run_id)
    except GenesisError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(record.model_dump(mode="json"))
        return
    out = console()
    out.print(f"[bold]{record.run_id}[/] {record.status}: {record.task.text}")
    result = record.result
    if result is None:
        out.print("[yellow]no result yet[/] (still running, or its process died: `genesis runs resume ID`)")
        return
    for d in result.decisions:
        alts = ", ".join(f"{c.agent} {c.score:.2f}" for c in d.alternatives[:3])
        out.print(f"route {d.subtask_id} -> {d.agent or 'unassigned'} ({d.decided_by}; {d.explanation}) [{alts}]")
    _print_result(result)
    from rich.table import Table

    table = Table(title="trace")
    for col in ("span", "ms", "status", "tokens", "attributes"):
        table.add_column(col)
    for s in result.trace:
        attrs = ", ".join(f"{k}={v}" for k, v in s.attributes.items())[:80]
        table.add_row(s.name, f"{s.duration_ms:.1f}", s.status, str(s.usage.total_tokens if s.usage else 0), attrs)
    out.print(table)


@runs_app.command("resume")
def runs_resume(run_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Continue a run whose process died; finished subtasks are not re-run."""
    from genesis_agents.infrastructure.errors import GenesisError

    host = _host()
    try:
        result = host.resume(run_id)
    except GenesisError as exc:
        raise fail(exc) from None
    finally:
        host.close()
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        _print_result(result)
    if result.status != "succeeded":
        raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------------------------------ doctor


@app.command("doctor")
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the environment and the stores; say how to fix what is missing."""
    from .doctor import run_checks

    checks = run_checks()
    if as_json:
        print_json([c.__dict__ for c in checks])
    else:
        from rich.table import Table

        table = Table(title="genesis doctor")
        for col in ("check", "status", "detail", "fix"):
            table.add_column(col)
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            table.add_row(c.name, f"[{colour[c.status]}]{c.status}[/]", c.detail, c.fix)
        console().print(table)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------------------------------ wiring


def _register_modules() -> None:
    groups = {"agents": agents_app, "runs": runs_app}
    for name in CLI_MODULES:
        try:
            module = importlib.import_module(f"genesis_agents.infrastructure.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"genesis_agents.infrastructure.cli.{name}":
                continue  # that part is not installed
            raise
        module.register(app, groups)


_register_modules()


def main() -> None:
    """Console entry point: GenesisErrors become one red line and a non-zero exit code."""
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        app()
    except GenesisError as exc:
        sys.exit(fail(exc).exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
