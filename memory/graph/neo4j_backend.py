"""Neo4j (or any Bolt server speaking the shared Cypher subset, e.g. FalkorDB) through the official driver.

Reads and writes go through the driver's managed, retrying transactions (``execute_read``/``execute_write``)
with short connection timeouts, so a server that is down fails fast with a ``BackendUnavailableError`` naming
the URL instead of hanging a recall.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from genesis_agents.infrastructure.errors import BackendUnavailableError

log = logging.getLogger(__name__)
_INDEXES = (("Entity", "id"), ("Item", "id"), ("Entity", "ns"), ("Item", "ns"))


class Neo4jBackend:
    """A Bolt endpoint. ``database`` selects the Neo4j database (None = the server default)."""

    name = "neo4j"

    def __init__(self, uri: str, *, user: str = "neo4j", password: str = "", database: str | None = None,
                 connection_timeout_s: float = 3.0, retry_time_s: float = 5.0, connect_attempts: int = 3,
                 max_param_bytes: int | None = 3000) -> None:
        self.url = uri
        # FalkorDB 4.16's Bolt server crashes (stack smashing) on messages of ~4.6 KB; list parameters are
        # split below this size. A real Neo4j takes any size: pass None there for fewer round trips.
        self.max_param_bytes = max_param_bytes
        self.database = database
        try:
            import neo4j
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise BackendUnavailableError("neo4j", "package 'neo4j' is not installed", url=uri) from exc
        self._neo4j = neo4j
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=(user, password), connection_timeout=connection_timeout_s,
                max_transaction_retry_time=retry_time_s, connection_acquisition_timeout=connection_timeout_s * 2,
            )
        except Exception as exc:
            raise BackendUnavailableError("neo4j", f"{type(exc).__name__}: {exc}", url=uri) from exc
        self._verify(connect_attempts)

    def _verify(self, attempts: int) -> None:
        """Check the server answers. A refused handshake right after another client disconnected is a
        known transient on some Bolt servers (FalkorDB), so a few quick attempts are made before failing."""
        last: Exception | None = None
        for attempt in range(max(1, attempts)):
            try:
                self._driver.verify_connectivity()
                return
            except self._neo4j.exceptions.AuthError as exc:
                last = exc
                break
            except Exception as exc:
                last = exc
                time.sleep(0.2 * (attempt + 1))
        self._driver.close()
        raise BackendUnavailableError("neo4j", f"{type(last).__name__}: {last}", url=self.url,
                                      hint="check GENESIS_NEO4J_URI / user / password")

    def setup(self) -> None:
        """Index the lookup properties. Servers word "index already exists" differently (Neo4j: an
        equivalent index exists; FalkorDB over Bolt: a general database error), so any error other than
        a connection failure just means the index is there or cannot be made - lookups stay correct."""
        unreachable = (self._neo4j.exceptions.ServiceUnavailable, self._neo4j.exceptions.SessionExpired)
        for label, prop in _INDEXES:
            try:
                self.run(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})", write=True)
            except BackendUnavailableError as exc:
                if isinstance(exc.__cause__, unreachable):
                    raise
                log.debug("index on %s.%s not created: %s", label, prop, exc)

    def run(self, cypher: str, params: dict[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        def work(tx: Any) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(cypher, params or {})]

        try:
            with self._driver.session(database=self.database) as session:
                if write:
                    return session.execute_write(work)
                return session.execute_read(work)
        except Exception as exc:
            raise BackendUnavailableError("neo4j", f"{type(exc).__name__}: {exc}", url=self.url) from exc

    def close(self) -> None:
        try:
            self._driver.close()
        except Exception:  # pragma: no cover - closing a broken driver
            pass
