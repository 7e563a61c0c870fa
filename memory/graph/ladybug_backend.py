"""Embedded LadybugDB (the maintained Kuzu fork): the default graph store, one directory in the data dir.

LadybugDB needs a typed schema (node and rel tables); the queries themselves stay in the Cypher subset that
Neo4j and FalkorDB also speak (see ``graph.base``). One process may open the database read-write at a time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from genesis_agents.infrastructure.errors import BackendUnavailableError

_SCHEMA = (
    "CREATE NODE TABLE IF NOT EXISTS Entity(id STRING, ns STRING, key STRING, name STRING, PRIMARY KEY(id))",
    "CREATE NODE TABLE IF NOT EXISTS Item(id STRING, ns STRING, item STRING, PRIMARY KEY(id))",
    "CREATE REL TABLE IF NOT EXISTS REL(FROM Entity TO Entity, predicate STRING, ns STRING, item STRING, props STRING)",
    "CREATE REL TABLE IF NOT EXISTS MENTIONS(FROM Item TO Entity)",
)


class LadybugBackend:
    """A LadybugDB database file opened in this process. ``buffer_pool_mb`` bounds its memory."""

    name = "ladybug"

    def __init__(self, path: str | Path, *, buffer_pool_mb: int = 512, threads: int = 2) -> None:
        self.path = Path(path)
        self.url = str(self.path)
        try:
            import ladybug
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise BackendUnavailableError("ladybug", "package 'ladybug' is not installed", url=self.url) from exc
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = ladybug.Database(str(self.path), buffer_pool_size=buffer_pool_mb * 1024 * 1024,
                                        max_num_threads=threads)
            self._conn = ladybug.Connection(self._db, num_threads=threads)
        except Exception as exc:  # ladybug raises RuntimeError for locks, corrupt files, ...
            raise BackendUnavailableError("ladybug", str(exc), url=self.url,
                                          hint="is another process using this memory directory?") from exc
        self._lock = threading.Lock()

    def setup(self) -> None:
        for statement in _SCHEMA:
            self.run(statement, write=True)

    def run(self, cypher: str, params: dict[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        try:
            with self._lock:
                result = self._conn.execute(cypher, params or {})
                results = result if isinstance(result, list) else [result]
                last = results[-1]
                columns = last.get_column_names()
                rows = [dict(zip(columns, row)) for row in last.get_all()]
                for r in results:
                    r.close()
                return rows
        except BackendUnavailableError:
            raise
        except Exception as exc:
            raise BackendUnavailableError("ladybug", f"query failed: {exc}", url=self.url) from exc

    def run_rows(self, cypher: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """A read, rows as tuples in RETURN order (no dict per row)."""
        try:
            with self._lock:
                result = self._conn.execute(cypher, params or {})
                results = result if isinstance(result, list) else [result]
                rows = [tuple(row) for row in results[-1].get_all()]
                for r in results:
                    r.close()
                return rows
        except Exception as exc:
            raise BackendUnavailableError("ladybug", f"query failed: {exc}", url=self.url) from exc

    def close(self) -> None:
        try:
            self._conn.close()
            self._db.close()
        except Exception:  # closing twice or after a failed open is harmless
            pass
