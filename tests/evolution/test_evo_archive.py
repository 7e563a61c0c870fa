"""The archive (real SQLite), Pareto selection, convergence rules and versioned configs with rollback."""

from __future__ import annotations

import random

import pytest
from genesis_agents.evolution import (
    Archive,
    ConvergenceRules,
    Genome,
    Variant,
    VariantScores,
    active_version,
    history,
    load_promoted_config,
    nondominated_sort,
    pareto_front,
    record_trajectory,
    rollback,
    write_version,
)
from genesis_agents.evolution.examples.triage import TriageAgent
from genesis_agents.evolution.genome import defaults, parse_tunables
from genesis_agents.evolution.selection import Ranking
from genesis_agents.infrastructure.contracts import AgentResult, Task
from genesis_agents.infrastructure.errors import BadInputError, NotFoundError

SPECS = parse_tunables(TriageAgent.tunables)


def scored(q: float, cost: float = 0.0, latency: float = 100.0, *, run_id: str = "r", gen: int = 0,
           parents=(), status: str = "evaluated", passed: int = 3, **params) -> Variant:
    genome = Genome(params={**defaults(SPECS), "min_score": round(q / 2, 4), **params})
    return Variant(run_id=run_id, generation=gen, parents=list(parents), genome=genome, status=status,
                   scores=VariantScores(quality=q, cost_usd=cost, latency_ms=latency, n_scenarios=3, n_passed=passed))


def test_pareto_front_and_ranking():
    a = scored(0.9, cost=0.01, latency=300)   # best quality
    b = scored(0.7, cost=0.001, latency=300)  # cheaper
    c = scored(0.6, cost=0.01, latency=50)    # faster
    d = scored(0.5, cost=0.02, latency=400)   # dominated by everything
    e = scored(0.95, status="failed")         # failed variants never enter the front
    front = pareto_front([a, b, c, d, e])
    assert [v.id for v in front] == [a.id, b.id, c.id]
    fronts = nondominated_sort([a, b, c, d])
    assert {v.id for v in fronts[0]} == {a.id, b.id, c.id} and fronts[1] == [d]
    rng = random.Random(0)
    picks = [Ranking([a, b, c, d]).tournament(rng).id for _ in range(200)]
    assert picks.count(d.id) < picks.count(a.id)


def test_latency_noise_does_not_split_the_front():
    a = scored(0.8, latency=101.0)
    b = scored(0.8, latency=104.0, normalize="lower")  # same bucket (25 ms): b does not escape domination
    c = scored(0.7, latency=103.0)
    assert {v.id for v in pareto_front([a, b, c])} == {a.id, b.id}


def test_convergence_rules():
    rules = ConvergenceRules(max_generations=10, patience=2, min_delta=0.01, max_evaluations=50)
    assert rules.check(best_by_generation=[0.1, 0.2, 0.3], evaluations=10, wall_s=1, cost_usd=0) is None
    assert "no improvement over 2" in rules.check(best_by_generation=[0.1, 0.5, 0.505, 0.505], evaluations=10,
                                                  wall_s=1, cost_usd=0)
    assert "evaluation budget" in rules.check(best_by_generation=[0.1], evaluations=50, wall_s=1, cost_usd=0)
    assert "10 generations" in rules.check(best_by_generation=[0.1 * i for i in range(10)], evaluations=1,
                                           wall_s=1, cost_usd=0)
    timed = ConvergenceRules(max_wall_s=5, max_cost_usd=0.1, target_quality=0.99)
    assert "time budget" in timed.check(best_by_generation=[0.1], evaluations=1, wall_s=6, cost_usd=0)
    assert "cost budget" in timed.check(best_by_generation=[0.1], evaluations=1, wall_s=1, cost_usd=0.2)
    assert "target quality" in timed.check(best_by_generation=[0.995], evaluations=1, wall_s=1, cost_usd=0)


def test_archive_queries_lineage_prune_and_persistence(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        run_id = archive.create_run(agent="triage", agent_ref="x:Y", suite="s.yaml", config={"seed": 1})
        seed = scored(0.4, run_id=run_id, passed=1)
        seed.operator = "seed"
        kids = [scored(0.5 + i / 20, run_id=run_id, gen=1, parents=[seed.id], stem=i) for i in range(6)]
        grandkid = scored(0.99, run_id=run_id, gen=2, parents=[kids[5].id, kids[4].id], stem=8)
        broken = scored(0.0, run_id=run_id, gen=2, parents=[kids[0].id], status="failed", normalize="lower")
        broken.reason = "sandbox violation: network access blocked"
        archive.add_variants([seed, *kids, grandkid, broken])

    with Archive(path) as archive:  # reopened: everything persisted
        assert [v.id for v in archive.best(run_id, 2)] == [grandkid.id, kids[5].id]
        failed = archive.failed(run_id)
        assert failed[0].id == broken.id and seed.id in {v.id for v in failed}  # seed fails 2 of 3 cases
        pairs = archive.diverse_pairs(run_id, SPECS, k=2)
        assert pairs and all(a.id != b.id and a.fitness > 0 and b.fitness > 0 for a, b in pairs)
        assert [v.id for v in archive.lineage(grandkid.id)][:1] == [grandkid.id]
        assert {kids[5].id, kids[4].id, seed.id} <= {v.id for v in archive.lineage(grandkid.id)}
        assert archive.find_by_key(run_id, kids[2].genome.key()).id == kids[2].id
        deleted = archive.prune(run_id, keep_best=1, keep_failed=1)
        left = {v.id for v in archive.variants(run_id)}
        assert deleted == 3 and {grandkid.id, kids[5].id, kids[4].id, seed.id, broken.id, kids[0].id} == left
        archive.save_generation(run_id, 0, {"generation": 0, "best_quality": 0.4})
        assert archive.run(run_id)["generation"] == 0 and archive.generations(run_id)[0]["best_quality"] == 0.4
        with pytest.raises(NotFoundError):
            archive.run("evo_missing")


def test_record_trajectory_feeds_insights(settings):
    task = Task(text="Refund please, I was charged twice")
    record_trajectory("triage", task, AgentResult(status="failed", error="category 'other' for a billing ticket"),
                      settings=settings)
    record_trajectory("triage", "The app crashes", {"status": "ok", "text": "Routed to Engineering"},
                      settings=settings, score=1.0)
    with Archive.for_settings(settings) as archive:
        traj = archive.trajectories("triage")
        assert len(traj) == 2 and {t["success"] for t in traj} == {True, False}
        insights = archive.insights("triage")
        assert insights[0].startswith("FAILED:") and "billing ticket" in insights[0]
        assert any(i.startswith("WORKED:") and "Engineering" in i for i in insights)
        assert archive.prune_trajectories("triage", keep=1) == 1


def test_versions_promote_load_rollback_history(settings):
    assert load_promoted_config("triage", settings) is None
    v1 = write_version("triage", {"stem": 4}, settings=settings, run_id="evo_1",
                       report={"candidate": {"quality": 0.8}, "incumbent": {"quality": 0.4}})
    v2 = write_version("triage", {"stem": 6}, settings=settings, run_id="evo_2")
    assert (v1["version"], v2["version"]) == (1, 2)
    assert load_promoted_config("triage", settings) == {"stem": 6} and active_version("triage", settings) == 2
    assert rollback("triage", settings) == {"agent": "triage", "from_version": 2, "to_version": 1}
    assert load_promoted_config("triage", settings) == {"stem": 4}
    rows = history("triage", settings)
    assert [(r["version"], r["active"], r["rolled_back"]) for r in rows] == [(1, True, False), (2, False, True)]
    assert rows[0]["holdout_quality"] == 0.8 and rows[0]["baseline_quality"] == 0.4
    assert rollback("triage", settings)["to_version"] is None
    assert load_promoted_config("triage", settings) is None
    with pytest.raises(NotFoundError, match="no promoted version to roll back"):
        rollback("triage", settings)
    with pytest.raises(BadInputError) as info:
        write_version("Bad Name!", {}, settings=settings)
    assert info.value.field == "agent"


def test_damaged_config_falls_back_to_defaults(settings):
    write_version("triage", {"stem": 4}, settings=settings)
    path = settings.data_dir / "evolution" / "agents" / "triage" / "v0001.json"
    path.write_text("{not json")
    assert load_promoted_config("triage", settings) is None
