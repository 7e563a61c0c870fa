"""The run record: one row per run (task, status, result) so runs can be listed, shown and resumed.

The LangGraph checkpointer holds the step-by-step state; this table holds what a person looks for.
A run whose process died stays ``running`` here until ``genesis runs resume`` finishes it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .contracts import RunResult, RunStatus, Task
from .errors import NotFoundError


class RunRecord(BaseModel):
    run_id: str
    task: Task
    status: RunStatus
    created_at: float
    updated_at: float
    result: RunResult | None = None


class RunStore:
    """SQLite-backed (``path``) or in-memory (``path=None``) store of run records. Thread-safe."""

    def __init__(self, path: Path | None, *, max_in_memory: int = 1000) -> None:
        self.path = path
        self.max_in_memory = max_in_memory
        self._lock = threading.Lock()
        self._mem: dict[str, RunRecord] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, task TEXT NOT NULL, status TEXT NOT NULL,"
                " created_at REAL NOT NULL, updated_at REAL NOT NULL, result TEXT)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at)")

    def start(self, run_id: str, task: Task) -> None:
        now = time.time()
        with self._lock:
            if self._db is None:
                self._mem[run_id] = RunRecord(run_id=run_id, task=task, status="running", created_at=now,
                                              updated_at=now)
                return
            self._db.execute(
                "INSERT INTO runs(run_id, task, status, created_at, updated_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(run_id) DO UPDATE SET status='running', updated_at=excluded.updated_at",
                (run_id, task.model_dump_json(), "running", now, now),
            )

    def finish(self, result: RunResult) -> None:
        """Record the result. In memory, the oldest finished runs beyond ``max_in_memory`` are dropped (a
        long-lived host must not grow without bound)."""
        now = time.time()
        with self._lock:
            if self._db is None:
                rec = self._mem.pop(result.run_id, None)
                created = rec.created_at if rec else now
                self._mem[result.run_id] = RunRecord(run_id=result.run_id, task=result.task, status=result.status,
                                                     created_at=created, updated_at=now, result=result)
                over = len(self._mem) - self.max_in_memory
                if over > 0:  # oldest finished first (dict order is insertion order; running runs stay);
                    # stops at the first ``over`` finished ones instead of scanning every record per finish
                    finished = (rid for rid, r in self._mem.items() if r.status != "running")
                    for rid in list(islice(finished, over)):
                        del self._mem[rid]
                return
            self._db.execute(
                "INSERT INTO runs(run_id, task, status, created_at, updated_at, result) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(run_id) DO UPDATE SET status=excluded.status, updated_at=excluded.updated_at, "
                "result=excluded.result",
                (result.run_id, result.task.model_dump_json(), result.status, result.started_at, now,
                 result.model_dump_json()),
            )

    def get(self, run_id: str) -> RunRecord:
        with self._lock:
            if self._db is None:
                rec = self._mem.get(run_id)
            else:
                row = self._db.execute(
                    "SELECT run_id, task, status, created_at, updated_at, result FROM runs WHERE run_id=?", (run_id,)
                ).fetchone()
                rec = _row(row) if row else None
        if rec is None:
            raise NotFoundError(f"no run with id {run_id!r}", field="run_id", hint="see `genesis runs list`")
        return rec

    def list(self, *, limit: int = 50, status: str | None = None) -> list[RunRecord]:
        with self._lock:
            if self._db is None:
                recs = sorted(self._mem.values(), key=lambda r: r.created_at, reverse=True)
                return [r for r in recs if status is None or r.status == status][:limit]
            sql = "SELECT run_id, task, status, created_at, updated_at, NULL FROM runs"
            args: list[Any] = []
            if status:
                sql += " WHERE status=?"
                args.append(status)
            sql += " ORDER BY created_at DESC LIMIT ?"
            args.append(limit)
            return [_row(r) for r in self._db.execute(sql, args).fetchall()]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _row(row: tuple[Any, ...]) -> RunRecord:
    run_id, task, status, created, updated, result = row
    return RunRecord(run_id=run_id, task=Task.model_validate_json(task), status=status, created_at=created,
                     updated_at=updated, result=RunResult.model_validate(json.loads(result)) if result else None)
