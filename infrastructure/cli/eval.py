"""``genesis eval``: run scenario suites, write reports, compare against baselines.

    genesis eval run router safety my_suite.yaml --report html,json,junit --out eval-out --baseline base.json
    genesis eval compare base.json eval-out/report.json
    genesis eval list | validate FILE... | schema

Exit codes: 0 all passed (and no regression), 1 a scenario failed or the baseline comparison regressed (or
a backend failed), 2 bad input (invalid suite, unknown agent, missing file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import EXIT_FAILED
from .common import fail as _fail


def _split_csv(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _load_host(spec: str) -> Any:
    """Import ``module:attr`` (a Genesis instance, the class, or a factory taking ``llm=``)."""
    import importlib

    from genesis_agents.infrastructure.errors import BadInputError

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise BadInputError(f"expected module:attr, got {spec!r}", field="host")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BadInputError(f"cannot import {module_name!r}: {exc}", field="host") from None
    if not hasattr(module, attr):
        raise BadInputError(f"{module_name!r} has no attribute {attr!r}", field="host")
    return getattr(module, attr)


def _thresholds(pass_rate_drop: float, quality_drop: float, cost_increase: float, latency_increase: float) -> Any:
    from genesis_agents.infrastructure.eval import Thresholds

    return Thresholds(pass_rate_drop=pass_rate_drop, quality_drop=quality_drop, cost_increase=cost_increase,
                      latency_increase=latency_increase)


PassRateDrop = Annotated[float, typer.Option("--max-pass-rate-drop", min=0, help="allowed absolute drop in pass rate")]
QualityDrop = Annotated[float, typer.Option("--max-quality-drop", min=0, help="allowed absolute drop in quality")]
CostIncrease = Annotated[float, typer.Option("--max-cost-increase", min=0, help="allowed relative cost increase")]
LatencyIncrease = Annotated[float, typer.Option("--max-latency-increase", min=0,
                                                help="allowed relative p50 latency increase")]


def run_cmd(
    suites: Annotated[list[str], typer.Argument(help="suite files (YAML/JSONL) or built-in suite names")],
    baseline: Annotated[Path | None, typer.Option("--baseline", help="compare with this saved report")] = None,
    report: Annotated[str | None, typer.Option("--report", help="formats to write: html,json,junit")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="directory for reports and the results journal")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="only scenarios with any of these tags")] = None,
    split: Annotated[str | None, typer.Option("--split", help="train or holdout")] = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="only these scenario ids")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=256)] = 4,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, help="default per-scenario timeout, s")] = 120.0,
    seed: Annotated[int, typer.Option("--seed", help="base seed for per-attempt seeds")] = 0,
    judge: Annotated[str | None, typer.Option("--judge", help="judge model spec (e.g. provider:model)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="reuse finished attempts from OUT/journal.jsonl")] = False,
    save_baseline: Annotated[Path | None, typer.Option("--save-baseline", help="save this run as a baseline")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON report to stdout")] = False,
    host: Annotated[str | None, typer.Option("--host", help="module:attr of a Genesis instance or factory "
                                             "(default: Genesis from GENESIS_* settings)")] = None,
    pass_rate_drop: PassRateDrop = 0.0,
    quality_drop: QualityDrop = 0.02,
    cost_increase: CostIncrease = 0.25,
    latency_increase: LatencyIncrease = 0.5,
) -> None:
    """Run suites through Genesis and report; exit 1 on a failed scenario or a regression."""
    from genesis_agents.infrastructure.errors import GenesisError
    from genesis_agents.infrastructure.eval import EvalRunner
    from genesis_agents.infrastructure.eval import save_baseline as save
    from genesis_agents.infrastructure.eval.reports import (
        ProgressBar,
        parse_formats,
        print_report,
        write_reports,
    )
    from rich.console import Console

    try:
        formats = parse_formats(report) if report else (["json", "junit", "html"] if out else [])
        if formats and out is None:
            out = Path("eval-out")
        thresholds = _thresholds(pass_rate_drop, quality_drop, cost_increase, latency_increase)
        journal = out / "journal.jsonl" if out else None
        console = Console(stderr=True)
        bar = ProgressBar(console) if not as_json else None
        runner = EvalRunner(_load_host(host) if host else None, concurrency=concurrency, timeout_s=timeout, judge=judge, seed=seed,
                            journal=journal, resume=resume, progress=bar)
        kwargs: dict[str, Any] = {"tags": _split_csv(tags) or None, "split": split, "ids": _split_csv(ids) or None,
                                  "baseline": baseline, "thresholds": thresholds}
        if bar is not None:
            with bar:
                result = runner.run(suites, **kwargs)
        else:
            result = runner.run(suites, **kwargs)
        written = write_reports(result, out, formats) if formats and out else {}
        if save_baseline is not None:
            written["baseline"] = save(result, save_baseline)
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_report(result, Console())
        for fmt, path in written.items():
            Console().print(f"{fmt}: {path}")
    raise typer.Exit(0 if result.ok else EXIT_FAILED)


def compare_cmd(
    baseline: Annotated[Path, typer.Argument(help="the baseline report (A)")],
    current: Annotated[Path, typer.Argument(help="the report to check (B)")],
    report: Annotated[str | None, typer.Option("--report", help="write B with the comparison: html,json,junit")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="directory for the written reports")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
    pass_rate_drop: PassRateDrop = 0.0,
    quality_drop: QualityDrop = 0.02,
    cost_increase: CostIncrease = 0.25,
    latency_increase: LatencyIncrease = 0.5,
) -> None:
    """Compare report B against baseline A; exit 1 if B regressed."""
    from genesis_agents.infrastructure.errors import GenesisError
    from genesis_agents.infrastructure.eval import compare, load_report
    from genesis_agents.infrastructure.eval.reports import parse_formats, write_reports
    from genesis_agents.infrastructure.eval.reports.terminal import comparison_table
    from rich.console import Console

    try:
        base, cur = load_report(baseline), load_report(current)
        cmp = compare(base, cur, _thresholds(pass_rate_drop, quality_drop, cost_increase, latency_increase))
        cur.comparison = cmp
        formats = parse_formats(report) if report else []
        written = write_reports(cur, out or Path("eval-out"), formats) if formats else {}
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(cmp.model_dump_json(indent=2))
    else:
        console = Console()
        console.print(comparison_table(cmp))
        console.print("[red]REGRESSION[/]: " + "; ".join(cmp.regressions) if cmp.regressed else "[green]no regression[/]")
        for fmt, path in written.items():
            console.print(f"{fmt}: {path}")
    raise typer.Exit(EXIT_FAILED if cmp.regressed else 0)


def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the built-in suites with their scenario counts and tags."""
    from genesis_agents.infrastructure.errors import GenesisError
    from genesis_agents.infrastructure.eval import builtin_suites, load_suite
    from rich.console import Console
    from rich.table import Table

    rows = []
    try:
        for name, path in builtin_suites().items():
            suite = load_suite(path)
            tags = sorted({t for s in suite.scenarios for t in s.tags})
            holdout = sum(s.split == "holdout" for s in suite.scenarios)
            rows.append({"name": name, "path": str(path), "scenarios": len(suite.scenarios), "holdout": holdout,
                         "tags": tags, "description": suite.description})
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="built-in eval suites")
    for col in ("name", "scenarios", "holdout", "tags", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], str(r["scenarios"]), str(r["holdout"]), ", ".join(r["tags"]), r["description"])
    Console().print(table)


def validate_cmd(suites: Annotated[list[str], typer.Argument(help="suite files or built-in names")]) -> None:
    """Load suites without running them: schema, duplicate ids, input files (exit 2 on the first error)."""
    from genesis_agents.infrastructure.errors import GenesisError
    from genesis_agents.infrastructure.eval import load_suites
    from rich.console import Console

    try:
        loaded = load_suites(suites)
    except GenesisError as exc:
        raise _fail(exc) from None
    for suite in loaded:
        Console().print(f"[green]ok[/] {suite.name}: {len(suite.scenarios)} scenarios ({suite.path})")


def schema_cmd() -> None:
    """Print the JSON Schema of suite files."""
    from genesis_agents.infrastructure.eval.schema_gen import render_schema

    typer.echo(render_schema(), nl=False)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the ``eval`` command group to the ``genesis`` CLI."""
    eval_app = typer.Typer(help="Scripted evaluation runs: suites, reports, baselines.", no_args_is_help=True)
    eval_app.command("run")(run_cmd)
    eval_app.command("compare")(compare_cmd)
    eval_app.command("list")(list_cmd)
    eval_app.command("validate")(validate_cmd)
    eval_app.command("schema")(schema_cmd)
    app.add_typer(eval_app, name="eval")
    groups["eval"] = eval_app
