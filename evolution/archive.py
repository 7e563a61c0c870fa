"""The trajectory pool and variant archive: one SQLite file under the data dir.

It holds evolution runs, every variant with its lineage and scores (DGM-style archive: nothing good is
ever lost, so later generations can branch from any ancestor), and trajectories of real tasks logged from
production (``record_trajectory``) that feed the LLM operators as insights. It is the state an interrupted
evolution run resumes from, and it can be pruned.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..infrastructure.contracts import new_id
from ..infrastructure.errors import NotFoundError
from .genome import Genome, Variant, VariantScores, distance

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, agent TEXT NOT NULL, agent_ref TEXT NOT NULL, suite TEXT NOT NULL,
    config TEXT NOT NULL, status TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT -1,
    stop_reason TEXT, report TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS variants (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, generation INTEGER NOT NULL, parents TEXT NOT NULL,
    operator TEXT NOT NULL, genome TEXT NOT NULL, genome_key TEXT NOT NULL, status TEXT NOT NULL,
    quality REAL, scores TEXT, reason TEXT, holdout TEXT, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS variants_run ON variants(run_id, generation);
CREATE INDEX IF NOT EXISTS variants_key ON variants(run_id, genome_key);
CREATE TABLE IF NOT EXISTS generations (
    run_id TEXT NOT NULL, generation INTEGER NOT NULL, stats TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (run_id, generation)
);
CREATE TABLE IF NOT EXISTS trajectories (
    id TEXT PRIMARY KEY, agent TEXT NOT NULL, task TEXT NOT NULL, success INTEGER NOT NULL, score REAL,
    outcome TEXT NOT NULL, plan TEXT, insight TEXT NOT NULL, source TEXT NOT NULL, variant_id TEXT,
    run_id TEXT, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS trajectories_agent ON trajectories(agent, created_at);
"""


def archive_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "evolution" / "archive.db"


class Archive:
    """Thread-safe access to the archive database (WAL mode: readers never block the writer)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @classmethod
    def for_settings(cls, settings: Any) -> Archive:
        return cls(archive_path(settings.data_dir))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Archive:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    # ------------------------------------------------------------------------------------------ runs

    def create_run(self, *, agent: str, agent_ref: str, suite: str, config: dict[str, Any],
                   run_id: str | None = None) -> str:
        run_id = run_id or new_id("evo_")
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT INTO runs (id, agent, agent_ref, suite, config, status, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                       (run_id, agent, agent_ref, suite, json.dumps(config, default=str), now, now))
        return run_id

    def run(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no evolution run {run_id!r}", field="run_id")
        out = dict(row)
        out["config"] = json.loads(out["config"])
        out["report"] = json.loads(out["report"]) if out["report"] else None
        return out

    def runs(self, agent: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        sql = "SELECT id, agent, suite, status, generation, stop_reason, created_at, updated_at FROM runs"
        args: tuple[Any, ...] = ()
        if agent:
            sql, args = sql + " WHERE agent = ?", (agent,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at DESC LIMIT ?", args + (limit,)).fetchall()
        return [dict(r) for r in rows]

    def update_run(self, run_id: str, **fields: Any) -> None:
        allowed = {"status", "generation", "stop_reason", "report"}
        sets = {k: (json.dumps(v, default=str) if k == "report" else v) for k, v in fields.items() if k in allowed}
        sets["updated_at"] = time.time()
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                       (*sets.values(), run_id))

    def save_generation(self, run_id: str, generation: int, stats: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?)",
                       (run_id, generation, json.dumps(stats, default=str), time.time()))
            db.execute("UPDATE runs SET generation = ?, updated_at = ? WHERE id = ?",
                       (generation, time.time(), run_id))

    def generations(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT stats FROM generations WHERE run_id = ? ORDER BY generation",
                                    (run_id,)).fetchall()
        return [json.loads(r["stats"]) for r in rows]

    # ------------------------------------------------------------------------------------------ variants

    def add_variants(self, variants: Sequence[Variant]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT INTO variants (id, run_id, generation, parents, operator, genome, genome_key, status, "
                "quality, scores, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(v.id, v.run_id, v.generation, json.dumps(v.parents), v.operator,
                  v.genome.model_dump_json(), v.genome.key(), v.status,
                  v.scores.quality if v.scores else None,
                  v.scores.model_dump_json() if v.scores else None, v.reason, v.created_at) for v in variants],
            )

    def update_variant(self, variant: Variant) -> None:
        with self._tx() as db:
            db.execute("UPDATE variants SET status = ?, quality = ?, scores = ?, reason = ? WHERE id = ?",
                       (variant.status, variant.fitness if variant.scores else None,
                        variant.scores.model_dump_json() if variant.scores else None, variant.reason, variant.id))

    def set_holdout(self, variant_id: str, scores: VariantScores | None, reason: str | None = None) -> None:
        blob = json.dumps({"scores": scores.model_dump() if scores else None, "reason": reason})
        with self._tx() as db:
            db.execute("UPDATE variants SET holdout = ? WHERE id = ?", (blob, variant_id))

    def holdout(self, variant_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT holdout FROM variants WHERE id = ?", (variant_id,)).fetchone()
        return json.loads(row["holdout"]) if row and row["holdout"] else None

    @staticmethod
    def _variant(row: sqlite3.Row) -> Variant:
        return Variant(
            id=row["id"], run_id=row["run_id"], generation=row["generation"], parents=json.loads(row["parents"]),
            operator=row["operator"], genome=Genome.model_validate_json(row["genome"]), status=row["status"],
            scores=VariantScores.model_validate_json(row["scores"]) if row["scores"] else None,
            reason=row["reason"], created_at=row["created_at"],
        )

    def variant(self, variant_id: str) -> Variant:
        with self._lock:
            row = self._db.execute("SELECT * FROM variants WHERE id = ?", (variant_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no variant {variant_id!r}", field="variant_id")
        return self._variant(row)

    def variants(self, run_id: str, *, generation: int | None = None, status: str | None = None) -> list[Variant]:
        sql = "SELECT * FROM variants WHERE run_id = ?"
        args: list[Any] = [run_id]
        if generation is not None:
            sql, args = sql + " AND generation = ?", args + [generation]
        if status is not None:
            sql, args = sql + " AND status = ?", args + [status]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY generation, created_at, id", args).fetchall()
        return [self._variant(r) for r in rows]

    def find_by_key(self, run_id: str, genome_key: str) -> Variant | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM variants WHERE run_id = ? AND genome_key = ? "
                                   "ORDER BY created_at LIMIT 1", (run_id, genome_key)).fetchone()
        return self._variant(row) if row else None

    def best(self, run_id: str, k: int = 5) -> list[Variant]:
        """Evaluated variants, best quality first (ties: cheaper, then faster)."""
        evaluated = self.variants(run_id, status="evaluated")
        evaluated.sort(key=lambda v: (-v.fitness, v.scores.cost_usd if v.scores else 0,
                                      v.scores.latency_ms if v.scores else 0, v.created_at))
        return evaluated[:k]

    def failed(self, run_id: str, k: int = 5) -> list[Variant]:
        """Variants that failed as a whole or failed some scenarios, most recent first (revision material)."""
        out = [v for v in self.variants(run_id) if v.status == "failed" or (
            v.status == "evaluated" and v.scores is not None and v.scores.n_passed < v.scores.n_scenarios)]
        out.sort(key=lambda v: (-v.generation, -v.created_at))
        return out[:k]

    def diverse_pairs(self, run_id: str, specs: dict[str, Any], k: int = 3, top: int = 8) -> list[tuple[Variant, Variant]]:
        """Pairs of good variants that differ most (recombining near-clones teaches nothing)."""
        good = [v for v in self.best(run_id, top) if v.fitness > 0]
        pairs = [(a, b) for i, a in enumerate(good) for b in good[i + 1:]]
        pairs.sort(key=lambda p: -(distance(p[0].genome, p[1].genome, specs) + 0.5 * (p[0].fitness + p[1].fitness)))
        return pairs[:k]

    def lineage(self, variant_id: str) -> list[Variant]:
        """The variant and all its ancestors, nearest first."""
        out: list[Variant] = []
        seen: set[str] = set()
        frontier = [variant_id]
        while frontier:
            vid = frontier.pop(0)
            if vid in seen:
                continue
            seen.add(vid)
            try:
                v = self.variant(vid)
            except NotFoundError:
                continue
            out.append(v)
            frontier.extend(v.parents)
        return out

    def prune(self, run_id: str, *, keep_best: int = 20, keep_failed: int = 10) -> int:
        """Delete variants that are neither among the best, the recent failures, nor their ancestors."""
        keep: set[str] = set()
        for v in self.best(run_id, keep_best) + self.failed(run_id, keep_failed):
            keep.update(a.id for a in self.lineage(v.id))
        with self._lock:
            seeds = self._db.execute("SELECT id FROM variants WHERE run_id = ? AND generation = 0",
                                     (run_id,)).fetchall()
        keep.update(r["id"] for r in seeds)
        doomed = [v.id for v in self.variants(run_id) if v.id not in keep]
        with self._tx() as db:
            db.executemany("DELETE FROM variants WHERE id = ?", [(i,) for i in doomed])
        return len(doomed)

    # ------------------------------------------------------------------------------------------ trajectories

    def add_trajectory(self, *, agent: str, task: str, success: bool, outcome: dict[str, Any], insight: str,
                       score: float | None = None, plan: Any = None, source: str = "production",
                       variant_id: str | None = None, run_id: str | None = None) -> str:
        tid = new_id("traj_")
        with self._tx() as db:
            db.execute("INSERT INTO trajectories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (tid, agent, task[:4000], int(success), score, json.dumps(outcome, default=str)[:20000],
                        json.dumps(plan, default=str) if plan is not None else None, insight[:1000], source,
                        variant_id, run_id, time.time()))
        return tid

    def trajectories(self, agent: str, *, success: bool | None = None, limit: int = 20) -> list[dict[str, Any]]:
        sql = "SELECT * FROM trajectories WHERE agent = ?"
        args: list[Any] = [agent]
        if success is not None:
            sql, args = sql + " AND success = ?", args + [int(success)]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at DESC LIMIT ?", args + [limit]).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["success"] = bool(d["success"])
            d["outcome"] = json.loads(d["outcome"])
            d["plan"] = json.loads(d["plan"]) if d["plan"] else None
            out.append(d)
        return out

    def insights(self, agent: str, limit: int = 10) -> list[str]:
        """Short lessons from recent failed and successful trajectories, failures first."""
        failed = self.trajectories(agent, success=False, limit=limit)
        ok = self.trajectories(agent, success=True, limit=limit)
        return [f"FAILED: {t['insight']}" for t in failed][: limit // 2 + 1] + \
            [f"WORKED: {t['insight']}" for t in ok][: limit // 2]

    def prune_trajectories(self, agent: str, *, keep: int = 500) -> int:
        with self._tx() as db:
            cur = db.execute("DELETE FROM trajectories WHERE agent = ? AND id NOT IN (SELECT id FROM trajectories "
                             "WHERE agent = ? ORDER BY created_at DESC LIMIT ?)", (agent, agent, keep))
            return cur.rowcount


def record_trajectory(agent: str, task: Any, result: Any, *, settings: Any = None, success: bool | None = None,
                      score: float | None = None, plan: Any = None, run_id: str | None = None,
                      archive: Archive | None = None) -> str:
    """Production outcome logging: feed a real task's outcome into the pool as an insight.

    ``task`` is a ``Task`` or text; ``result`` an ``AgentResult``, ``RunResult`` or dict. Success defaults
    to the result's status. Call it from an app or a runtime hook after each run.
    """
    text = getattr(task, "text", None) or str(task)
    if hasattr(result, "model_dump"):
        outcome = result.model_dump(mode="json", exclude={"trace", "task"} if hasattr(result, "trace") else None)
    elif isinstance(result, dict):
        outcome = result
    else:
        outcome = {"text": str(result)}
    if plan is None and isinstance(outcome.get("plan"), dict):
        plan = outcome["plan"]  # a RunResult carries its plan: outcome -> plan logging
    status = str(outcome.get("status", "ok"))
    if success is None:
        success = status in ("ok", "succeeded")
    error = outcome.get("error")
    reason = (error.get("message") if isinstance(error, dict) else error) or ""
    summary = str(outcome.get("text", ""))[:160].replace("\n", " ")
    insight = f"{text[:200]!r} -> {'ok' if success else 'failed'}" + (
        f": {str(reason)[:300]}" if not success and reason else (f": {summary}" if summary else ""))
    own = archive is None
    if archive is None:
        from ..infrastructure.config import load_settings

        archive = Archive.for_settings(settings or load_settings())
    try:
        return archive.add_trajectory(agent=agent, task=text, success=success, outcome=outcome, insight=insight,
                                      score=score, plan=plan, run_id=run_id or outcome.get("run_id"))
    finally:
        if own:
            archive.close()
