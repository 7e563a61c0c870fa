"""``genesis evolve``: self-improve an agent against a suite, inspect and undo promotions.

    genesis evolve triage --suite triage_suite.yaml --generations 5 --budget 60 --budget 10m
    genesis evolve triage --suite triage_suite.yaml --resume evo_1234   # after a crash
    genesis evolve history triage
    genesis evolve rollback triage

Exit codes: 0 done (promoted or not), 2 bad input (unknown agent, suite without held-out scenarios...),
1 other failures (e.g. the current version cannot be evaluated).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import fail

ACTIONS = ("rollback", "history")


def parse_budget(values: list[str]) -> dict[str, Any]:
    """``40`` evaluations, ``90s``/``10m``/``1h`` wall time, ``$0.50`` evaluation cost; repeatable."""
    from genesis_agents.infrastructure.errors import BadInputError

    out: dict[str, Any] = {}
    for raw in values:
        v = raw.strip().lower()
        if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)", v):
            out["max_wall_s"] = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
        elif m := re.fullmatch(r"\$\s*(\d+(?:\.\d+)?)", v):
            out["max_cost_usd"] = float(m.group(1))
        elif m := re.fullmatch(r"(\d+)\s*(?:evals?|evaluations?)?", v):
            out["max_evaluations"] = int(m.group(1))
        else:
            raise BadInputError(f"cannot read budget {raw!r}", field="--budget",
                                hint="use 40 (evaluations), 10m (time) or $0.5 (cost)")
    return out


def _settings(data_dir: Path | None) -> Any:
    from genesis_agents.infrastructure.config import load_settings

    return load_settings(data_dir=data_dir) if data_dir else load_settings()


def evolve_cmd(
    target: Annotated[str, typer.Argument(help="the agent to evolve, or 'history' / 'rollback' then the agent")],
    agent: Annotated[str | None, typer.Argument(help="the agent (after history/rollback)")] = None,
    suite: Annotated[str | None, typer.Option("--suite", "-s", help="suite file or built-in suite name")] = None,
    generations: Annotated[int, typer.Option(min=1, help="generations after the initial one")] = 8,
    population: Annotated[int, typer.Option(min=1, help="variants bred per generation")] = 6,
    budget: Annotated[list[str] | None, typer.Option("--budget", help="40 | 10m | $0.5 (repeatable)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="sandboxed evaluations at once")] = 2,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    margin: Annotated[float, typer.Option(min=0, max=1, help="held-out quality gain needed to promote")] = 0.02,
    promote: Annotated[bool, typer.Option("--promote/--no-promote", help="write the winner as a new version")] = True,
    resume: Annotated[str | None, typer.Option(help="resume this evolution run id")] = None,
    stages: Annotated[str, typer.Option(help="'default' or 'minimal' (pinned-agent suites)")] = "default",
    safety: Annotated[str | None, typer.Option(help="waltzrl | passthrough (default: settings)")] = None,
    llm: Annotated[str | None, typer.Option(help="LLM for revision/recombination/refinement operators")] = None,
    cpu_s: Annotated[int, typer.Option(min=1, help="sandbox: CPU seconds per evaluation")] = 120,
    memory_mb: Annotated[int, typer.Option(min=64, help="sandbox: address space per evaluation, MiB")] = 3072,
    wall_s: Annotated[float, typer.Option(min=1, help="sandbox: wall-clock seconds per evaluation")] = 180.0,
    run_as: Annotated[str | None, typer.Option(help="sandbox: drop to this user, e.g. nobody (needs root)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Genesis data dir (default: settings)")] = None,
    plot: Annotated[Path | None, typer.Option(help="where to write the fitness PNG")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON (no progress display)")] = False,
) -> None:
    """Evolve AGENT against --suite (or: `evolve history AGENT`, `evolve rollback AGENT`)."""
    from genesis_agents.infrastructure.errors import BadInputError, GenesisError

    try:
        settings = _settings(data_dir)
        if target in ACTIONS:
            if not agent:
                raise BadInputError(f"`genesis evolve {target}` needs the agent name", field="agent")
            _history(agent, settings, as_json) if target == "history" else _rollback(agent, settings, as_json)
            return
        if agent:
            raise BadInputError(f"unexpected extra argument {agent!r}", field="agent",
                                hint="usage: genesis evolve AGENT --suite FILE")
        if not suite and resume:
            from genesis_agents.evolution import Archive

            with Archive.for_settings(settings) as archive:
                suite = archive.run(resume)["suite"]  # resuming: the suite the run was started with
        if not suite:
            raise BadInputError("--suite is required", field="--suite")
        _evolve(target, suite, settings=settings, as_json=as_json, plot=plot, resume=resume, llm=llm,
                options=dict(generations=generations, population=population, workers=workers, seed=seed,
                             promotion_margin=margin, promote=promote, stages=stages, safety=safety,
                             limits={"cpu_s": cpu_s, "memory_mb": memory_mb, "wall_s": wall_s, "run_as": run_as},
                             **parse_budget(budget or [])))
    except GenesisError as exc:
        raise fail(exc) from None


def _evolve(agent: str, suite: str, *, settings: Any, as_json: bool, plot: Path | None, resume: str | None,
            llm: str | None, options: dict[str, Any]) -> None:
    import asyncio

    from genesis_agents.evolution import EvolutionConfig, EvolutionEngine
    from genesis_agents.evolution.report import plot_fitness, result_tables, summary_text
    from genesis_agents.infrastructure.errors import BadInputError
    from genesis_agents.infrastructure.llm import resolve_llm
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        config = EvolutionConfig(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BadInputError(err["msg"], field="--" + ".".join(map(str, err["loc"])).replace("_", "-")) from None
    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, disable=as_json, transient=False)
    total = (config.generations + 1) * config.population
    bar = progress.add_task(f"evolving {agent}", total=total)
    state = {"gen": 0, "best": 0.0}

    def on_event(event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "variant_evaluated":
            progress.advance(bar)
            if event["status"] == "failed" and event.get("reason"):
                progress.console.print(f"  [yellow]variant {event['variant_id']} failed:[/] {event['reason'][:160]}",
                                       highlight=False)
        elif kind == "generation_done":
            state["gen"], state["best"] = event["generation"], event["best_quality"]
            progress.update(bar, completed=event["evaluations"],
                            description=f"gen {event['generation']} best {event['best_quality']:.3f}")
        elif kind == "evolution_done":
            progress.update(bar, total=progress.tasks[0].completed, description=f"done: {event['stop_reason']}")
        elif kind == "holdout_started":
            progress.console.print(f"evaluating {event['candidates']} candidate(s) on held-out scenarios...")

    engine = EvolutionEngine(agent, suite, settings=settings, config=config, llm=resolve_llm(llm),
                             progress=on_event)
    try:
        with progress:
            result = asyncio.run(engine.run(resume=resume))
    finally:
        engine.archive.close()
    plot_path = plot or Path(settings.data_dir) / "evolution" / "plots" / f"{result.run_id}.png"
    plot_fitness(result.generations, plot_path, title=f"SE-Darwin: {result.agent}")
    if as_json:
        data = result.model_dump(mode="json")
        data["plot"] = str(plot_path)
        typer.echo(json.dumps(data, indent=2))
        return
    out = Console()
    for table in result_tables(result):
        out.print(table)
    out.print(summary_text(result), highlight=False)
    out.print(f"fitness plot: {plot_path}", highlight=False)


def _history(agent: str, settings: Any, as_json: bool) -> None:
    from genesis_agents.evolution import Archive, history
    from rich.console import Console
    from rich.table import Table

    versions = history(agent, settings)
    with Archive.for_settings(settings) as archive:
        runs = archive.runs(agent)
    if as_json:
        typer.echo(json.dumps({"agent": agent, "versions": versions, "runs": runs}, indent=2, default=str))
        return
    import datetime as dt

    console = Console()
    table = Table(title=f"promoted versions of {agent}")
    for col in ("version", "created", "state", "holdout q", "previous q", "run", "variant"):
        table.add_column(col)
    for v in versions:
        state = "active" if v["active"] else ("rolled back" if v["rolled_back"] else "superseded")
        created = dt.datetime.fromtimestamp(v["created_at"] or 0, dt.UTC).strftime("%Y-%m-%d %H:%M")
        q = "-" if v["holdout_quality"] is None else f"{v['holdout_quality']:.3f}"
        b = "-" if v["baseline_quality"] is None else f"{v['baseline_quality']:.3f}"
        table.add_row(str(v["version"]), created, state, q, b, str(v["run_id"]), str(v["variant_id"]))
    console.print(table if versions else f"{agent} has no promoted versions (it runs with its defaults)")
    if runs:
        rt = Table(title=f"evolution runs of {agent}")
        for col in ("run", "status", "generations", "stop reason"):
            rt.add_column(col)
        for r in runs:
            rt.add_row(r["id"], r["status"], str(r["generation"] + 1), r["stop_reason"] or "")
        console.print(rt)


def _rollback(agent: str, settings: Any, as_json: bool) -> None:
    from genesis_agents.evolution import rollback
    from rich.console import Console

    info = rollback(agent, settings)
    if as_json:
        typer.echo(json.dumps(info))
        return
    to = f"version {info['to_version']}" if info["to_version"] else "its defaults"
    Console().print(f"[green]rolled back[/] {agent}: version {info['from_version']} -> {to}", highlight=False)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add ``genesis evolve`` to the CLI."""
    app.command("evolve", help="Self-improve an agent on a suite (SE-Darwin); `evolve history|rollback AGENT`.")(
        evolve_cmd)
