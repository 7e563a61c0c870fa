"""The terminal report: a rich progress bar while running, then a results table, a summary and the comparison."""

from __future__ import annotations

from typing import Any, Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..results import AttemptResult, Comparison, EvalReport

STYLE = {"passed": "green", "failed": "red", "error": "red", "timeout": "magenta", "skipped": "yellow",
         "regression": "red", "improvement": "green", "unchanged": "dim", "new": "cyan", "removed": "yellow"}


class ProgressBar:
    """Use as ``EvalRunner(progress=bar)`` inside ``with bar:``; shows done/total and the last outcome."""

    def __init__(self, console: Console | None = None, description: str = "eval") -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=self.console,
                                  transient=False)
        self._task: Any = None
        self.description = description
        self.counts: dict[str, int] = {}

    def __enter__(self) -> Self:
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=None, last="")
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, attempt: AttemptResult, done: int, total: int) -> None:
        self.counts[attempt.outcome] = self.counts.get(attempt.outcome, 0) + 1
        summary = " ".join(f"[{STYLE[k]}]{k} {v}[/]" for k, v in sorted(self.counts.items()))
        if self._task is not None:
            self._progress.update(self._task, completed=done, total=total, last=summary)


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def results_table(report: EvalReport, *, only_problems: bool = False, max_rows: int = 200) -> Table:
    table = Table(title=f"eval: {report.label}", show_lines=False)
    for col, kw in (("outcome", {"no_wrap": True}), ("scenario", {"no_wrap": True}), ("pass", {"justify": "right"}),
                    ("quality", {"justify": "right"}), ("cost $", {"justify": "right"}),
                    ("latency", {"justify": "right", "no_wrap": True}), ("reason", {"overflow": "fold", "ratio": 1})):
        table.add_column(col, **kw)
    order = {"failed": 0, "error": 1, "timeout": 2, "skipped": 3, "passed": 4}
    rows = sorted(report.scenarios, key=lambda s: (order[s.outcome], s.suite, s.id))
    if only_problems:
        rows = [s for s in rows if s.outcome != "passed"]
    for sc in rows[:max_rows]:
        passes = f"{sc.passes}/{sc.n}" + (f" p@{sc.n}={sc.pass_at_k.get(str(sc.n), 0):.2f}" if sc.n > 1 else "")
        table.add_row(f"[{STYLE[sc.outcome]}]{sc.outcome}[/]", f"{sc.suite}::{sc.id}", passes,
                      f"{sc.quality:.2f}" + (f"±{sc.quality_std:.2f}" if sc.quality_std else ""),
                      f"{sc.cost_usd:.4f}", _fmt_ms(sc.latency_ms), sc.reason[:300])
    if len(rows) > max_rows:
        table.caption = f"{len(rows) - max_rows} more rows in the JSON/HTML report"
    return table


def comparison_table(cmp: Comparison) -> Table:
    table = Table(title=f"vs baseline {cmp.baseline_label}")
    for col in ("metric", "baseline", "current", "delta", "verdict"):
        table.add_column(col, justify="right" if col in ("baseline", "current", "delta") else "left")
    for m in cmp.metrics:
        rel = f" ({m.relative:+.0%})" if m.relative is not None else ""
        table.add_row(m.metric, f"{m.baseline:.4g}", f"{m.current:.4g}", f"{m.delta:+.4g}{rel}",
                      f"[{STYLE[m.verdict]}]{m.verdict}[/]")
    for s in cmp.scenarios:
        table.add_row(f"{s.suite}::{s.id}", str(s.baseline), str(s.current), "", f"[{STYLE[s.change]}]{s.change}[/]")
    return table


def print_report(report: EvalReport, console: Console | None = None, *, only_problems: bool = False) -> None:
    console = console or Console()
    console.print(results_table(report, only_problems=only_problems))
    verdict = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
    console.print(
        f"{verdict}  {report.passed} passed, {report.failed} failed, {report.errors} errors, {report.timeouts} "
        f"timeouts, {report.skipped} skipped  |  pass rate {report.pass_rate:.1%}  quality {report.quality_score:.3f}"
        f"  cost ${report.cost_usd:.4f}  latency p50 {_fmt_ms(report.latency_ms_p50)} p95 "
        f"{_fmt_ms(report.latency_ms_p95)}  |  wall {report.wall_time_s:.2f} s at concurrency {report.concurrency}")
    if report.comparison is not None:
        console.print(comparison_table(report.comparison))
        if report.comparison.regressed:
            console.print("[red]regression against the baseline:[/] " + "; ".join(report.comparison.regressions))
