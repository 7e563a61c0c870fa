"""``genesis route`` and ``genesis plan``: see how a request would be planned and routed, and why.

Both build on ``Genesis`` (its registered cards, planner, router and validator) unless ``--cards`` points
at a cards file, in which case the routing stages are built from the same settings without a host.
Nothing is executed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import console, fail, print_json

InputsOpt = Annotated[list[Path] | None, typer.Option("--input", "-i", help="input file (repeatable)")]
CardsOpt = Annotated[Path | None, typer.Option("--cards", help="route against the cards in this YAML/JSON file")]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="routing rules YAML (default: settings/built-in)")]
TypeOpt = Annotated[str | None, typer.Option("--task-type", "-t", help="explicit task type")]
NsOpt = Annotated[str, typer.Option("--namespace", "-n", help="tenant namespace")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]


async def _stages(cards_file: Path | None, rules: Path | None) -> tuple[Any, Any, Any, list[Any], Any]:
    """(planner, router, validator, cards, host-or-None)."""
    from genesis_agents.infrastructure.config import load_settings
    from genesis_agents.infrastructure.routing import build_planner, build_router, build_validator, load_cards

    overrides = {"router_rules": rules} if rules else {}
    if cards_file is not None:
        settings = load_settings(**overrides)
        return (build_planner(settings), build_router(settings), build_validator(settings),
                load_cards(cards_file), None)
    from genesis_agents.infrastructure.facade import Genesis

    host = Genesis(**overrides)
    return host.planner, host.router, host.validator, host.cards(), host


async def _plan_and_route(text: str, inputs: list[Path], task_type: str | None, namespace: str,
                          cards_file: Path | None, rules: Path | None, route: bool) -> dict[str, Any]:
    from genesis_agents.infrastructure.contracts import Task, TaskInput
    from genesis_agents.infrastructure.errors import BadInputError

    planner, router, validator, cards, host = await _stages(cards_file, rules)
    try:
        for p in inputs:
            if not p.exists():
                raise BadInputError(f"input file not found: {p}", field="input")
        task = Task(text=text, task_type=task_type, namespace=namespace,
                    inputs=[TaskInput(path=p.resolve()) for p in inputs])
        plan = await planner.plan(task, cards)
        out: dict[str, Any] = {"task": task, "plan": plan, "cards": [c.name for c in cards]}
        if route:
            decisions = [await router.route(s, task, cards) for s in plan.subtasks]
            out["decisions"] = decisions
            out["validation"] = validator.validate(plan, decisions, cards, task)
        return out
    finally:
        if host is not None:
            await host.aclose()


def _run(text: str, inputs: list[Path] | None, task_type: str | None, namespace: str, cards_file: Path | None,
         rules: Path | None, route: bool) -> dict[str, Any]:
    from genesis_agents.infrastructure.errors import BadInputError, GenesisError
    from pydantic import ValidationError

    try:
        return asyncio.run(_plan_and_route(text, inputs or [], task_type, namespace, cards_file, rules, route))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise fail(BadInputError(err["msg"], field=".".join(str(p) for p in err["loc"]) or "task")) from None
    except GenesisError as exc:
        raise fail(exc) from None


def _plan_table(plan: Any) -> Any:
    from rich.table import Table

    table = Table(title=f"plan ({plan.planner}): {plan.explanation}", title_justify="left")
    for col in ("id", "subtask", "depends on", "inputs"):
        table.add_column(col, overflow="fold")
    for s in plan.subtasks:
        table.add_row(s.id, s.text, ", ".join(s.depends_on) or "-", ", ".join(i.name for i in s.inputs) or "-")
    return table


def _decision_table(decisions: list[Any], explain: bool) -> Any:
    from rich.table import Table

    table = Table(title="routing decisions", title_justify="left")
    cols = ["subtask", "agent", "decided by", "signal", "score"] + (["alternatives"] if explain else [])
    for col in cols:
        table.add_column(col, overflow="fold")
    for d in decisions:
        row = [d.subtask_id, d.agent or "[red]unassigned[/]", d.decided_by, d.signal, f"{d.score:.2f}"]
        if explain:
            row.append(", ".join(f"{c.agent} {c.score:.2f}" for c in d.alternatives[:4]) or "-")
        table.add_row(*row)
    return table


def _validation_lines(report: Any) -> list[str]:
    head = "[green]plan is valid[/]" if report.ok else "[red]plan is not executable as is[/]"
    lines = [f"{head} (estimated cost ${report.estimated_cost_usd:.3f})"]
    for i in report.issues:
        colour = "red" if i.severity == "error" else "yellow"
        lines.append(f"  [{colour}]{i.severity}[/] {i.code}{f' ({i.subtask_id})' if i.subtask_id else ''}: "
                     f"{i.message}")
    return lines


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add ``route`` and ``plan`` to the ``genesis`` app."""

    @app.command("route")
    def route_cmd(
        text: Annotated[str, typer.Argument(help="the request to route")],
        explain: Annotated[bool, typer.Option("--explain", "-e", help="show alternatives and reasons")] = False,
        as_json: JsonOpt = False,
        inputs: InputsOpt = None,
        task_type: TypeOpt = None,
        namespace: NsOpt = "default",
        cards: CardsOpt = None,
        rules: RulesOpt = None,
    ) -> None:
        """Plan TEXT and show which agent each subtask goes to, and why (nothing is executed)."""
        out = _run(text, inputs, task_type, namespace, cards, rules, route=True)
        if as_json:
            print_json({"plan": out["plan"].model_dump(mode="json"),
                        "decisions": [d.model_dump(mode="json") for d in out["decisions"]],
                        "validation": out["validation"].model_dump(mode="json"), "cards": out["cards"]})
            return
        con = console()
        con.print(_plan_table(out["plan"]))
        con.print(_decision_table(out["decisions"], explain))
        if explain:
            from rich.markup import escape

            for d in out["decisions"]:
                con.print(f"[bold]{d.subtask_id}[/] → {escape(d.agent or 'unassigned')}: {escape(d.explanation)}")
        for line in _validation_lines(out["validation"]):
            con.print(line)

    @app.command("plan")
    def plan_cmd(
        text: Annotated[str, typer.Argument(help="the request to plan")],
        as_json: JsonOpt = False,
        inputs: InputsOpt = None,
        task_type: TypeOpt = None,
        namespace: NsOpt = "default",
        cards: CardsOpt = None,
    ) -> None:
        """Show the subtask DAG the planner makes of TEXT (nothing is executed)."""
        out = _run(text, inputs, task_type, namespace, cards, None, route=False)
        if as_json:
            print_json(out["plan"].model_dump(mode="json"))
            return
        console().print(_plan_table(out["plan"]))
