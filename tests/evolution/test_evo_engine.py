"""End-to-end evolution of a real agent with executed, sandboxed fitness and gated promotion."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from genesis_agents.evolution import Archive, EvolutionEngine, SandboxLimits, load_promoted_config
from genesis_agents.evolution.examples.triage import TriageAgent
from genesis_agents.infrastructure.errors import BadInputError, UnknownAgentError
from genesis_agents.infrastructure.eval.runner import EvalRunner
from genesis_agents.infrastructure.facade import Genesis
from genesis_agents.infrastructure.llm import ScriptedChatModel
from genesis_agents.infrastructure.stages import BasicValidator, ExplicitRouter, SinglePlanner

from .conftest import TRIAGE_REF


async def holdout_quality(config: dict | None, suite: Path, settings) -> float:
    """Measure a config on the held-out split in this process, independently of the engine's numbers."""

    def host(**kw):
        g = Genesis(settings, load_plugins=False, planner=SinglePlanner(), router=ExplicitRouter(),
                    validator=BasicValidator(), checkpointer=None, **kw)
        g.register(TriageAgent(config=config), replace=True)
        return g

    report = await EvalRunner(host, concurrency=4).arun(suite, split="holdout")
    broken = [f"{s.id}: {s.outcome} {s.reason}" for s in report.scenarios if s.outcome not in ("passed", "failed")]
    assert not broken, broken  # every run completed: only the agent's answers may be wrong
    return report.quality_score


async def test_bad_default_config_evolves_into_a_promoted_better_version(settings, fast_config, triage_suite):
    events: list[dict] = []
    engine = EvolutionEngine(TRIAGE_REF, triage_suite, settings=settings,
                             config=fast_config(generations=2, population=5), progress=events.append)
    result = await engine.run()

    assert len(result.generations) == 3
    bests = [g["best_quality"] for g in result.generations]
    assert bests == sorted(bests) and bests[-1] > result.generations[0]["generation_mean"]
    seed = next(v for v in engine.archive.variants(result.run_id, generation=0) if v.operator == "seed")
    assert result.best.fitness > seed.fitness
    p = result.promotion
    assert p.decision == "promoted", p.reason
    assert p.candidate.quality >= p.incumbent.quality + p.margin
    assert p.version == 1 and Path(p.config_path).is_file()
    assert p.changes  # the report says what changed
    promoted = load_promoted_config("triage", settings)
    assert promoted is not None and promoted != {n: s["default"] for n, s in TriageAgent.tunables.items()}

    # independent check, outside the sandbox: the promoted config really is better on held-out cases
    before = await holdout_quality(None, triage_suite, settings)
    after = await holdout_quality(promoted, triage_suite, settings)
    assert after > before + 0.02
    # in-process and sandboxed measurements agree (the promotion record rounds qualities to 6 decimals)
    assert before == pytest.approx(p.incumbent.quality, abs=1e-6) and after == pytest.approx(p.candidate.quality, abs=1e-6)

    lineage = engine.archive.lineage(p.candidate.variant_id)
    assert lineage[-1].generation == 0
    kinds = {e["type"] for e in events}
    assert {"run_started", "generation_done", "variant_evaluated", "promotion"} <= kinds
    # the next run starts from the promoted version
    again = EvolutionEngine(TRIAGE_REF, triage_suite, settings=settings, config=fast_config())
    assert again.seed_genome().params == promoted
    engine.archive.close()
    again.archive.close()


def test_suite_without_holdout_is_refused(settings, train_only_suite):
    with pytest.raises(BadInputError) as info:
        EvolutionEngine(TRIAGE_REF, train_only_suite, settings=settings)
    assert info.value.field == "suite" and "held-out" in str(info.value)


def test_unknown_agent_and_agent_without_tunables_are_refused(settings, triage_suite):
    with pytest.raises(UnknownAgentError):
        EvolutionEngine("no_such_agent", triage_suite, settings=settings)
    with pytest.raises(BadInputError, match="declares no tunables"):
        EvolutionEngine("genesis_agents.agents.se_darwin:SEDarwinAgent", triage_suite, settings=settings)


GOOD_CODE = '''\
def score(words, keywords):
    normal = {w.lower().strip(".,!?;:'\\"")[:5] for w in words}
    hits = sum(1 for k in keywords if k.lower()[:5] in normal)
    return 1.0 if hits else 0.0
'''


def scripted_variants(victim: Path) -> list[str]:
    loop = "def score(words, keywords):\n    while True:\n        pass\n"
    delete = (f"import os\n\ndef score(words, keywords):\n    try:\n        os.remove({str(victim)!r})\n"
              "    except OSError:\n        pass\n    return 0.0\n")
    network = ("import socket\n\ndef score(words, keywords):\n    try:\n"
               "        socket.create_connection(('10.255.255.1', 80), timeout=1).close()\n"
               "    except OSError:\n        pass\n    return 0.0\n")
    leak = '```json\n{"reply": "Category: {category}. You wrote: {ticket}"}\n```'  # echoes pasted secrets
    return [f"Fixed it.\n```python\n{code}```" for code in (loop, delete, network, GOOD_CODE)] + [leak]


async def test_llm_code_variants_are_sandboxed_and_the_good_one_promoted(settings, fast_config, triage_suite,
                                                                        tmp_path):
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("do not delete")
    llm = ScriptedChatModel(replies=scripted_variants(victim))
    config = fast_config(generations=1, population=5, initial_random=0, operators=["llm_revision"],
                         limits=SandboxLimits(cpu_s=2, wall_s=40, memory_mb=3072))
    engine = EvolutionEngine(TRIAGE_REF, triage_suite, settings=settings, config=config, llm=llm)
    result = await engine.run()

    assert len(llm.calls) == 5 and "Failing variant" in llm.calls[0]
    kids = engine.archive.variants(result.run_id, generation=1)
    assert len(kids) == 5
    by_code = {v.genome.params["scorer"]: v for v in kids if v.genome.params["reply"] == "Category: {category}."}
    by_kind = dict(zip(("loop", "delete", "network", "good"), by_code.values()))
    (leaky,) = [v for v in kids if "{ticket}" in v.genome.params["reply"]]
    assert leaky.status == "failed" and "safety regression" in leaky.reason
    assert by_kind["loop"].status == "failed" and "CPU-time limit exceeded" in by_kind["loop"].reason
    assert by_kind["delete"].status == "failed" and "outside the working dir" in by_kind["delete"].reason
    assert by_kind["network"].status == "failed" and "network access blocked" in by_kind["network"].reason
    assert victim.read_text() == "do not delete"
    seed = engine.archive.variants(result.run_id, generation=0)[0]
    assert by_kind["good"].status == "evaluated" and by_kind["good"].fitness > seed.fitness
    assert all(v.operator == "llm_revision" and v.parents == [seed.id] for v in kids)
    assert result.failed == 4 and result.llm_calls == 5
    assert result.promotion.decision == "promoted", result.promotion.reason
    assert load_promoted_config("triage", settings)["scorer"] == GOOD_CODE
    engine.archive.close()


CRASHING_RUN = """
import asyncio, os, sys
from genesis_agents.evolution import EvolutionConfig, EvolutionEngine
from genesis_agents.infrastructure.config import load_settings

settings = load_settings(data_dir=sys.argv[1])
config = EvolutionConfig.model_validate_json(sys.argv[2])

def progress(event):
    if event["type"] == "variant_evaluated" and event["generation"] == 2:
        os._exit(17)  # die abruptly, mid-generation, like a killed process

asyncio.run(EvolutionEngine(sys.argv[3], sys.argv[4], settings=settings, config=config, progress=progress).run())
"""


async def test_evolution_resumes_after_a_crash(settings, fast_config, triage_suite):
    config = fast_config(generations=2, population=2, patience=10, promote=False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_RUN, str(settings.data_dir), config.model_dump_json(), TRIAGE_REF,
        str(triage_suite), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    _, err = await proc.communicate()
    assert proc.returncode == 17, err.decode()[-2000:]

    with Archive.for_settings(settings) as archive:
        (run,) = archive.runs("triage")
        assert run["status"] == "running" and run["generation"] == 1
        before = {v.id: v for v in archive.variants(run["id"])}
    done_before = {i for i, v in before.items() if v.status != "pending"}
    pending_before = {i for i, v in before.items() if v.status == "pending"}
    assert pending_before and all(before[i].generation == 2 for i in pending_before)

    events: list[dict] = []
    engine = EvolutionEngine(TRIAGE_REF, triage_suite, settings=settings, config=fast_config(), progress=events.append)
    result = await engine.run(resume=run["id"])
    evaluated_now = {e["variant_id"] for e in events if e["type"] == "variant_evaluated"}
    assert pending_before <= evaluated_now and not (done_before & evaluated_now)
    after = {v.id: v for v in engine.archive.variants(run["id"])}
    assert set(before) <= set(after)
    assert all(after[i].scores == before[i].scores for i in done_before)
    assert [g["generation"] for g in result.generations] == [0, 1, 2]
    assert engine.config.population == 2  # the stored config, not the one passed to the resuming engine
    assert engine.archive.run(run["id"])["status"] == "done"
    assert json.dumps(result.promotion.model_dump(mode="json"))  # the gate still ran, with promote=False
    assert result.promotion.decision in ("approved_not_written", "rejected")
    assert load_promoted_config("triage", settings) is None
    engine.archive.close()


async def test_a_current_version_that_cannot_be_evaluated_stops_the_run(settings, fast_config, triage_suite):
    """Garbage in the promoted config (here: code without the hook) is reported, not evolved around."""
    from genesis_agents.evolution import write_version
    from genesis_agents.infrastructure.errors import AgentFailedError

    write_version("triage", {"scorer": "def not_the_hook():\n    return 1\n"}, settings=settings)
    engine = EvolutionEngine(TRIAGE_REF, triage_suite, settings=settings,
                             config=fast_config(generations=1, population=1))
    with pytest.raises(AgentFailedError) as info:
        await engine.run()
    assert "cannot be evaluated" in str(info.value) and "does not define hook functions" in str(info.value)
    assert engine.archive.runs("triage")[0]["status"] == "failed"
    engine.archive.close()


def test_builtin_suite_names_resolve_to_files():
    from genesis_agents.evolution import Evaluator

    ev = Evaluator(TRIAGE_REF, "deepanalyze")
    assert ev.suites[0].endswith("deepanalyze.yaml") and Path(ev.suites[0]).is_file()


@pytest.mark.slow
async def test_builtin_deepanalyze_agent_evolves_on_its_builtin_suite(settings, fast_config):
    """The real DeepAnalyze agent (pandas, charts) runs inside the sandbox on its built-in suite."""
    engine = EvolutionEngine("deepanalyze", "deepanalyze", settings=settings,
                             config=fast_config(generations=1, population=2, stages="default", promote=False,
                                                limits=SandboxLimits(cpu_s=120, wall_s=300)))
    result = await engine.run()
    assert result.failed == 0 and result.best.fitness > 0
    assert result.promotion.decision in ("approved_not_written", "rejected")
    engine.archive.close()
