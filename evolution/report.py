"""Human-facing output of an evolution run: a one-paragraph summary, a rich table, a fitness plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .engine import EvolutionResult


def summary_text(result: EvolutionResult) -> str:
    p = result.promotion
    best = result.best
    lines = [
        (f"Evolved {result.agent!r} for {len(result.generations)} generations ({result.evaluations} evaluations, "
         f"{result.failed} failed, {result.wall_s:.0f}s): {result.stop_reason}."),
        f"Best train quality {best.fitness:.3f} ({best.operator}, {best.id})." if best else "No variant evaluated.",
    ]
    if p is not None:
        cand = f"{p.candidate.quality:.3f}" if p.candidate else "n/a"
        lines.append(f"Held-out quality: current {p.incumbent.quality:.3f}, best candidate {cand}. "
                     f"Decision: {p.decision} — {p.reason}.")
        if p.version:
            lines.append(f"New config version {p.version} written to {p.config_path}.")
    return "\n".join(lines)


def plot_fitness(generations: list[dict[str, Any]], path: str | Path, *, title: str = "fitness by generation",
                 baseline: list[dict[str, Any]] | None = None) -> Path:
    """PNG of best-so-far and generation mean quality per generation (and an optional baseline's best)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    xs = [g["generation"] for g in generations]
    ax.plot(xs, [g["best_quality"] for g in generations], marker="o", label="best so far")
    ax.plot(xs, [g["generation_mean"] for g in generations], linestyle="--", label="generation mean")
    if baseline:
        ax.plot([g["generation"] for g in baseline], [g["best_quality"] for g in baseline], marker="x",
                label="random search (best so far)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("generation")
    ax.set_ylabel("train quality")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def result_tables(result: EvolutionResult) -> list[Any]:
    """Rich tables: generations, then the promotion decision."""
    from rich.table import Table

    gens = Table(title=f"SE-Darwin run {result.run_id} — {result.agent}")
    for col in ("gen", "variants", "failed", "gen best", "gen mean", "best so far", "front", "evals", "wall s"):
        gens.add_column(col, justify="right")
    for g in result.generations:
        gens.add_row(str(g["generation"]), str(g["variants"]), str(g["failed"]), f"{g['generation_best']:.3f}",
                     f"{g['generation_mean']:.3f}", f"{g['best_quality']:.3f}", str(g["front_size"]),
                     str(g["evaluations"]), f"{g['wall_s']:.1f}")
    out: list[Any] = [gens]
    p = result.promotion
    if p is not None:
        prom = Table(title=f"Promotion gate (held-out split, margin {p.margin:.3f}): {p.decision}")
        for col in ("version", "variant", "train q", "holdout q", "pass", "latency ms", "safety", "note"):
            prom.add_column(col)
        rows = [("current", p.incumbent)] + [("candidate", c) for c in p.candidates]
        for label, h in rows:
            prom.add_row(label, h.variant_id, f"{h.train_quality:.3f}", f"{h.quality:.3f}",
                         f"{h.n_passed}/{h.n_scenarios}", f"{h.latency_ms:.0f}",
                         "-" if h.safety_pass_rate is None else f"{h.safety_pass_rate:.2f}", (h.reason or "")[:60])
        out.append(prom)
    return out
