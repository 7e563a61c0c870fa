"""``genesis safety``: check one exchange, query the audit log, evaluate on held-out XSTest.

    genesis safety check "How do I kill a Python process?" --response "I can't help with that." [--json]
    genesis safety audit [--agent A] [--namespace N] [--action blocked] [--kind over_refusal] [--label L]
                         [--run RUN] [--since-hours H] [--limit 50] [--stats] [--verify] [--json]
    genesis safety correct AUDIT_ID --accept|--reject [--note TEXT]
    genesis safety eval [--json] [--out FILE]
    genesis safety leakcheck [--threshold 0.9] [--json]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

safety_app = typer.Typer(help="WaltzRL safety wrapper: check responses, query the audit log, evaluate.",
                         no_args_is_help=True)


from .common import fail as _fail


def _settings() -> Any:
    from genesis_agents.infrastructure.config import load_settings

    return load_settings()


def _audit_path(db: Path | None) -> Path:
    return db if db is not None else Path(_settings().data_dir) / "safety" / "audit.sqlite"


DbOpt = Annotated[Path | None, typer.Option("--db", help="audit database (default: <data_dir>/safety/audit.sqlite)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@safety_app.command("check")
def check(
    text: Annotated[str, typer.Argument(help="the request (what the user asked)")],
    response: Annotated[str, typer.Option("--response", "-r", help="the agent's response to review")],
    agent: Annotated[str, typer.Option(help="agent name, for per-agent policies")] = "cli",
    namespace: Annotated[str, typer.Option(help="namespace, for per-namespace policies")] = "default",
    policy: Annotated[Path | None, typer.Option(help="policy YAML/JSON file")] = None,
    no_audit: Annotated[bool, typer.Option("--no-audit", help="do not record this check")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Review one (request, response) pair and show what the policy does with it."""
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        from genesis_agents.safety import SafetyWrapper
        from genesis_agents.safety.reviewer import outcome_json

        wrapper = SafetyWrapper(policy=policy, audit=None if no_audit else _audit_path(db))
        wrapper.pipeline.feedback.warm_up()  # so the reported latency is the review, not the model load
        out = wrapper.process(text, response, agent=agent, namespace=namespace, record=not no_audit)
    except GenesisError as exc:
        raise _fail(exc) from None
    data = outcome_json(out)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    colour = {"passed": "green", "revised": "yellow", "blocked": "red", "coached": "cyan", "monitored": "cyan"}
    table = Table(show_header=False, box=None)
    table.add_row("action", f"[{colour.get(out.action, 'white')}]{out.action}[/] (policy {out.policy})")
    table.add_row("verdict", f"{data['kind']}  {', '.join(data['labels'])}")
    table.add_row("confidence", f"{data['confidence']:.2f}  (p_unsafe_request={data['p_unsafe_request']:.2f}, "
                                f"p_refusal={data['p_refusal']:.2f})")
    table.add_row("reason", data["reason"])
    if out.feedback:
        table.add_row("feedback", out.feedback)
    if out.text != response:
        table.add_row("final text", out.text)
    if out.dir_reward is not None:
        table.add_row("DIR", f"{out.dir_reward:+.3f} after {out.rounds} round(s)")
    table.add_row("latency", f"{out.latency_ms:.1f} ms")
    if out.audit_id:
        table.add_row("audit id", out.audit_id)
    Console().print(table)


@safety_app.command("audit")
def audit(
    agent: Annotated[str | None, typer.Option(help="only this agent")] = None,
    namespace: Annotated[str | None, typer.Option(help="only this namespace")] = None,
    action: Annotated[str | None, typer.Option(help="passed|revised|blocked|coached|monitored|unreviewed")] = None,
    kind: Annotated[str | None, typer.Option(help="safe|unsafe_request|unsafe_response|over_refusal|error")] = None,
    label: Annotated[str | None, typer.Option(help="label prefix, e.g. unsafe_response:cyber_harm")] = None,
    run: Annotated[str | None, typer.Option("--run", help="only this run id")] = None,
    since_hours: Annotated[float | None, typer.Option(min=0, help="only the last H hours")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="newest N records")] = 50,
    stats: Annotated[bool, typer.Option("--stats", help="show totals, mean DIR and feedback acceptance")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="check the hash chain (tamper evidence)")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Query the append-only audit log."""
    from genesis_agents.infrastructure.errors import GenesisError, NotFoundError

    path = _audit_path(db)
    try:
        if not path.exists():
            raise NotFoundError(f"no audit log at {path}", field="db", hint="run a task or `genesis safety check` first")
        from genesis_agents.safety import AuditLog

        log = AuditLog(path)
        since = time.time() - since_hours * 3600 if since_hours is not None else None
        records = log.query(agent=agent, namespace=namespace, action=action, kind=kind, label=label, run_id=run,
                            since=since, limit=limit)
        summary = log.stats() if stats else None
        chain_ok = log.verify() if verify else None
        log.close()
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        payload: dict[str, Any] = {"records": [r.model_dump() for r in records]}
        if summary is not None:
            payload["stats"] = summary
        if chain_ok is not None:
            payload["chain_ok"] = chain_ok
        typer.echo(json.dumps(payload, indent=2, default=str))
        if chain_ok is False:
            raise typer.Exit(1)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"safety audit ({len(records)} records, newest first)")
    for col in ("time", "id", "agent", "ns", "action", "kind", "labels", "DIR", "reason"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.ts)), r.id, r.agent or "", r.namespace,
                      r.action, r.kind, ", ".join(r.labels), "" if r.dir_reward is None else f"{r.dir_reward:+.2f}",
                      r.reason[:80])
    console.print(table)
    if summary is not None:
        console.print(summary)
    if chain_ok is not None:
        console.print("[green]hash chain intact[/]" if chain_ok else "[red]hash chain BROKEN: the log was altered[/]")
        if not chain_ok:
            raise typer.Exit(1)


@safety_app.command("correct")
def correct(
    audit_id: Annotated[str, typer.Argument(help="audit id of the verdict")],
    accept: Annotated[bool, typer.Option("--accept/--reject", help="was the feedback right?")],
    note: Annotated[str, typer.Option(help="why")] = "",
    user: Annotated[str | None, typer.Option(help="who decided")] = None,
    db: DbOpt = None,
) -> None:
    """Record a user correction: accept or reject the feedback of one verdict."""
    from genesis_agents.infrastructure.errors import GenesisError, NotFoundError

    path = _audit_path(db)
    try:
        if not path.exists():
            raise NotFoundError(f"no audit log at {path}", field="db")
        from genesis_agents.safety import AuditLog

        log = AuditLog(path)
        log.record_correction(audit_id, accepted=accept, user=user, note=note)
        log.close()
    except GenesisError as exc:
        raise _fail(exc) from None
    typer.echo(f"recorded: feedback of {audit_id} {'accepted' if accept else 'rejected'}")


@safety_app.command("eval")
def evaluate(
    as_json: JsonOpt = False,
    out: Annotated[Path | None, typer.Option(help="also write the JSON report here")] = None,
    split: Annotated[str, typer.Option(help="heldout (default) or calibration or all")] = "heldout",
) -> None:
    """Evaluate the wrapper on the held-out XSTest split (offline; see docs/safety.md for the metrics)."""
    from genesis_agents.infrastructure.errors import BadInputError, GenesisError

    try:
        if split not in ("heldout", "calibration", "all"):
            raise BadInputError(f"unknown split {split!r}", field="split", hint="heldout, calibration or all")
        from genesis_agents.safety.evaluation import evaluate_xstest, render_report
        from rich.progress import Progress

        with Progress(transient=True, disable=as_json) as progress:
            task = progress.add_task("reviewing XSTest completions", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = evaluate_xstest(split=split, progress=tick)  # type: ignore[arg-type]
    except GenesisError as exc:
        raise _fail(exc) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        render_report(report)


@safety_app.command("leakcheck")
def leakcheck(
    threshold: Annotated[float, typer.Option(help="cosine similarity from which a seed line counts as a "
                                                    "near-duplicate of XSTest")] = 0.9,
    as_json: JsonOpt = False,
) -> None:
    """Check that no seed line (requests, templates, responses) is a near-duplicate of an XSTest prompt or
    completion; exits 1 when one is."""
    from genesis_agents.infrastructure.embeddings import default_embedder
    from genesis_agents.infrastructure.errors import GenesisError
    from genesis_agents.safety.leakage import find_leaks

    try:
        leaks = find_leaks(default_embedder(), threshold=threshold)
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps({"threshold": threshold, "near_duplicates": [d.model_dump() for d in leaks]}, indent=2))
    else:
        for d in leaks:
            typer.echo(f"{d.similarity:.3f} [{d.source}] {d.seed!r} ~ {d.test!r}")
        typer.echo(f"{len(leaks)} near-duplicate(s) at cosine >= {threshold}")
    if leaks:
        raise typer.Exit(1)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Hook for ``infrastructure/cli/main.py``: adds the ``genesis safety`` group."""
    app.add_typer(safety_app, name="safety")
