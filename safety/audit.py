"""Append-only SQLite audit log of every verdict, revision and user correction.

Append-only is enforced by the database (triggers abort any UPDATE or DELETE) and made tamper-evident by a
hash chain: each verdict row stores the SHA-256 of its content and of the previous row, and ``verify()``
recomputes the chain. Leaked PII/secrets are redacted before text is written, so the log never becomes a
second copy of the leak.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..infrastructure.contracts import new_id
from ..infrastructure.errors import BackendUnavailableError, BadInputError, NotFoundError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    ts REAL NOT NULL,
    run_id TEXT, subtask_id TEXT, agent TEXT, namespace TEXT, remote INTEGER,
    policy TEXT, action TEXT, kind TEXT, labels TEXT, category TEXT, reason TEXT,
    confidence REAL, score_before REAL, score_after REAL, p_unsafe_request REAL, p_refusal REAL,
    rounds INTEGER, dir_reward REAL, judge TEXT, latency_ms REAL, error TEXT,
    request_text TEXT, original_text TEXT, final_text TEXT, feedback TEXT,
    prev_hash TEXT, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_agent ON verdicts(agent);
CREATE INDEX IF NOT EXISTS verdicts_run ON verdicts(run_id);
CREATE TABLE IF NOT EXISTS revisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    verdict_id TEXT NOT NULL, round INTEGER, method TEXT, kind_before TEXT, kind_after TEXT,
    score_before REAL, score_after REAL, dir REAL, accepted INTEGER, text TEXT, ts REAL
);
CREATE TABLE IF NOT EXISTS corrections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    verdict_id TEXT NOT NULL, ts REAL, accepted INTEGER, user TEXT, note TEXT
);
"""
_TRIGGERS = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;\n"
    for t in ("verdicts", "revisions", "corrections") for op in ("UPDATE", "DELETE")
)
_HASHED = ("id", "ts", "run_id", "subtask_id", "agent", "namespace", "remote", "policy", "action", "kind",
           "labels", "category", "reason", "confidence", "rounds", "dir_reward", "request_text", "original_text",
           "final_text")


class RevisionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round: int
    method: str
    kind_before: str
    kind_after: str
    score_before: float
    score_after: float
    dir: float
    accepted: bool
    text: str = ""


class AuditRecord(BaseModel):
    """One reviewed response as stored (texts are excerpts, redacted of leaks)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("aud_"))
    ts: float = Field(default_factory=time.time)
    run_id: str | None = None
    subtask_id: str | None = None
    agent: str | None = None
    namespace: str = "default"
    remote: bool = False
    policy: str = "revise"
    action: str
    kind: str
    labels: list[str] = Field(default_factory=list)
    category: str | None = None
    reason: str = ""
    confidence: float = 0.0
    score_before: float | None = None
    score_after: float | None = None
    p_unsafe_request: float | None = None
    p_refusal: float | None = None
    rounds: int = 0
    dir_reward: float | None = None
    judge: str = "local"
    latency_ms: float = 0.0
    error: str | None = None
    request_text: str = ""
    original_text: str = ""
    final_text: str = ""
    feedback: str | None = None
    revisions: list[RevisionRecord] = Field(default_factory=list)
    corrections: list[dict[str, Any]] = Field(default_factory=list)


def _row_hash(prev: str | None, values: dict[str, Any]) -> str:
    payload = json.dumps([prev] + [values.get(k) for k in _HASHED], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


class AuditLog:
    """The audit database. One connection per log guarded by a lock (writes are a few hundred µs)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA + _TRIGGERS)
        except (OSError, sqlite3.Error) as exc:
            raise BackendUnavailableError("safety audit log", str(exc), url=str(self.path)) from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------------------------------ writes
    def append(self, record: AuditRecord) -> str:
        values = record.model_dump(exclude={"revisions", "corrections"})
        values["labels"] = json.dumps(values["labels"])
        values["remote"] = int(values["remote"])
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                prev = self._conn.execute("SELECT hash FROM verdicts ORDER BY seq DESC LIMIT 1").fetchone()
                prev_hash = prev[0] if prev else None
                values["prev_hash"] = prev_hash
                values["hash"] = _row_hash(prev_hash, values)
                cols = ", ".join(values)
                self._conn.execute(f"INSERT INTO verdicts ({cols}) VALUES ({', '.join('?' * len(values))})",
                                   list(values.values()))
                for rev in record.revisions:
                    self._conn.execute(
                        "INSERT INTO revisions (verdict_id, round, method, kind_before, kind_after, score_before, "
                        "score_after, dir, accepted, text, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (record.id, rev.round, rev.method, rev.kind_before, rev.kind_after, rev.score_before,
                         rev.score_after, rev.dir, int(rev.accepted), rev.text, record.ts))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return record.id

    def record_correction(self, verdict_id: str, *, accepted: bool, user: str | None = None,
                          note: str = "") -> None:
        """The user-correction loop: a person accepts or rejects the feedback of one verdict."""
        with self._lock:
            if not self._conn.execute("SELECT 1 FROM verdicts WHERE id=?", (verdict_id,)).fetchone():
                raise NotFoundError(f"no audit record {verdict_id!r}", field="audit_id")
            self._conn.execute("INSERT INTO corrections (verdict_id, ts, accepted, user, note) VALUES (?,?,?,?,?)",
                               (verdict_id, time.time(), int(accepted), user, note))

    # ------------------------------------------------------------------------------------------ reads
    def query(self, *, agent: str | None = None, namespace: str | None = None, action: str | None = None,
              kind: str | None = None, label: str | None = None, run_id: str | None = None,
              since: float | None = None, limit: int = 50) -> list[AuditRecord]:
        if limit < 1 or limit > 100_000:
            raise BadInputError("limit must be between 1 and 100000", field="limit")
        where: list[str] = []
        args: list[object] = []
        for col, val in (("agent", agent), ("namespace", namespace), ("action", action), ("kind", kind),
                         ("run_id", run_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        if label is not None:
            where.append("labels LIKE ?")
            args.append(f'%"{label}%')
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        sql = "SELECT * FROM verdicts" + (" WHERE " + " AND ".join(where) if where else "") + \
              " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            cur = self._conn.execute(sql, [*args, limit])
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
            out = []
            for row in rows:
                revs = self._conn.execute(
                    "SELECT round, method, kind_before, kind_after, score_before, score_after, dir, accepted, text "
                    "FROM revisions WHERE verdict_id=? ORDER BY seq", (row["id"],)).fetchall()
                corr = self._conn.execute("SELECT ts, accepted, user, note FROM corrections WHERE verdict_id=? "
                                          "ORDER BY seq", (row["id"],)).fetchall()
                for k in ("seq", "prev_hash", "hash"):
                    row.pop(k)
                row["labels"] = json.loads(row["labels"] or "[]")
                row["remote"] = bool(row["remote"])
                row["revisions"] = [RevisionRecord(round=r[0], method=r[1], kind_before=r[2], kind_after=r[3],
                                                   score_before=r[4], score_after=r[5], dir=r[6],
                                                   accepted=bool(r[7]), text=r[8] or "") for r in revs]
                row["corrections"] = [{"ts": c[0], "accepted": bool(c[1]), "user": c[2], "note": c[3]} for c in corr]
                out.append(AuditRecord(**row))
        return out

    def get(self, verdict_id: str) -> AuditRecord:
        with self._lock:
            row = self._conn.execute("SELECT seq FROM verdicts WHERE id=?", (verdict_id,)).fetchone()
        if not row:
            raise NotFoundError(f"no audit record {verdict_id!r}", field="audit_id")
        with self._lock:
            cur = self._conn.execute("SELECT run_id FROM verdicts WHERE id=?", (verdict_id,)).fetchone()
        return next(r for r in self.query(run_id=cur[0], limit=100_000) if r.id == verdict_id) if cur[0] else \
            next(r for r in self.query(limit=100_000) if r.id == verdict_id)

    def stats(self) -> dict[str, Any]:
        """Counts by action and kind, mean DIR of revisions, and the feedback acceptance rate."""
        with self._lock:
            total = self._conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
            by_action = dict(self._conn.execute("SELECT action, COUNT(*) FROM verdicts GROUP BY action").fetchall())
            by_kind = dict(self._conn.execute("SELECT kind, COUNT(*) FROM verdicts GROUP BY kind").fetchall())
            dir_row = self._conn.execute("SELECT AVG(dir_reward), COUNT(dir_reward) FROM verdicts "
                                         "WHERE dir_reward IS NOT NULL").fetchone()
            corr = self._conn.execute("SELECT SUM(accepted), COUNT(*) FROM corrections").fetchone()
        return {"verdicts": total, "by_action": by_action, "by_kind": by_kind,
                "mean_dir": round(dir_row[0], 4) if dir_row[0] is not None else None, "revised": dir_row[1],
                "corrections": corr[1], "feedback_accept_rate": round(corr[0] / corr[1], 4) if corr[1] else None}

    def verify(self) -> bool:
        """Recompute the hash chain; False if any verdict row was altered, inserted or removed out of band."""
        with self._lock:
            cur = self._conn.execute("SELECT * FROM verdicts ORDER BY seq")
            names = [d[0] for d in cur.description]
            prev = None
            for raw in cur.fetchall():
                row = dict(zip(names, raw))
                if row["prev_hash"] != prev or _row_hash(prev, row) != row["hash"]:
                    return False
                prev = row["hash"]
        return True
