"""API keys for the A2A server and the HTTP API: hashed at rest, scoped per namespace, revocable, rate-limited.

Why not plain tokens in a config file: keys must be revocable while the server runs and must never be
readable from disk. A key looks like ``gsk_<key_id>_<secret>``; only SHA-256(secret) is stored (the secret
has 256 bits of entropy, so a slow password hash would add latency without adding safety). The key id
makes lookup O(1) and lets ``genesis keys revoke`` name a key without knowing its secret.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ..config import GenesisSettings
from ..contracts import NAMESPACE_PATTERN
from ..errors import BadInputError, NotFoundError

TOKEN_PREFIX = "gsk_"
ALL_NAMESPACES = "*"
_NS = re.compile(NAMESPACE_PATTERN)


class ApiKey(BaseModel):
    """What is stored about a key (never the secret)."""

    key_id: str
    name: str
    namespaces: list[str] = Field(description="namespaces this key may use; ['*'] = all")
    created_at: float
    revoked_at: float | None = None
    rate_per_s: float | None = Field(default=None, description="per-key rate limit override (requests/s)")
    burst: int | None = Field(default=None, description="per-key burst override")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    key_id: str
    name: str
    namespaces: tuple[str, ...]
    rate_per_s: float | None = None
    burst: int | None = None

    def allows(self, namespace: str) -> bool:
        return ALL_NAMESPACES in self.namespaces or namespace in self.namespaces

    @property
    def default_namespace(self) -> str:
        first = self.namespaces[0] if self.namespaces else "default"
        return "default" if first == ALL_NAMESPACES else first


ANONYMOUS = Principal(key_id="anonymous", name="anonymous", namespaces=(ALL_NAMESPACES,))
"""Used only when auth is explicitly disabled (``genesis serve --no-auth``)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyStore:
    """SQLite table of API keys in the data dir. Thread-safe; another process may create/revoke concurrently."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS api_keys (key_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_sha256 TEXT"
            " NOT NULL, namespaces TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL, rate_per_s REAL,"
            " burst INTEGER)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS api_keys_name ON api_keys(name)")

    @classmethod
    def from_settings(cls, settings: GenesisSettings) -> KeyStore:
        return cls(settings.path("a2a", "api_keys.sqlite"))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------------------------------ admin

    def create(
        self,
        name: str,
        *,
        namespaces: Iterable[str] = ("default",),
        rate_per_s: float | None = None,
        burst: int | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key. Returns the record and the token, which is shown once and never stored."""
        name = name.strip()
        if not name or len(name) > 64:
            raise BadInputError("key name must be 1-64 characters", field="name")
        ns = [n.strip() for n in namespaces if n.strip()]
        if not ns:
            raise BadInputError("a key needs at least one namespace", field="namespaces", hint="use '*' for all")
        for n in ns:
            if n != ALL_NAMESPACES and not _NS.match(n):
                raise BadInputError(f"invalid namespace {n!r}", field="namespaces", hint=f"expected {NAMESPACE_PATTERN}")
        if rate_per_s is not None and rate_per_s <= 0:
            raise BadInputError("rate must be > 0", field="rate_per_s")
        if burst is not None and burst < 1:
            raise BadInputError("burst must be >= 1", field="burst")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id=key_id, name=name, namespaces=ns, created_at=time.time(), rate_per_s=rate_per_s,
                        burst=burst)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys(key_id, name, secret_sha256, namespaces, created_at, rate_per_s, burst)"
                " VALUES (?,?,?,?,?,?,?)",
                (key_id, name, _hash(secret), ",".join(ns), record.created_at, rate_per_s, burst),
            )
        return record, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        sql = "SELECT key_id, name, namespaces, created_at, revoked_at, rate_per_s, burst FROM api_keys"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at").fetchall()
        return [_record(r) for r in rows]

    def revoke(self, key_id_or_name: str) -> builtins.list[ApiKey]:
        """Revoke by key id, or every active key with that name. Raises ``NotFoundError`` if none matched."""
        now = time.time()
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id FROM api_keys WHERE (key_id = ? OR name = ?) AND revoked_at IS NULL",
                (key_id_or_name, key_id_or_name),
            ).fetchall()
            if not rows:
                raise NotFoundError(f"no active API key with id or name {key_id_or_name!r}", field="key",
                                    hint="list keys with `genesis keys list`")
            self._db.executemany("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [(now, r[0]) for r in rows])
        return [k for k in self.list() if k.key_id in {r[0] for r in rows}]

    # ------------------------------------------------------------------------------------------ verify

    def verify(self, token: str | None) -> Principal | None:
        """The principal for a valid, unrevoked token; None for anything else (no reason is given on purpose)."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        key_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
        if not sep or not key_id or not secret:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT key_id, name, namespaces, created_at, revoked_at, rate_per_s, burst, secret_sha256"
                " FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        # Hash and compare even when the id is unknown so timing does not reveal which ids exist.
        expected = row[7] if row else _hash("x" * 43)
        ok = hmac.compare_digest(_hash(secret), expected)
        if not row or not ok or row[4] is not None:
            return None
        rec = _record(row[:7])
        return Principal(key_id=rec.key_id, name=rec.name, namespaces=tuple(rec.namespaces),
                         rate_per_s=rec.rate_per_s, burst=rec.burst)


def _record(row: tuple) -> ApiKey:  # type: ignore[type-arg]
    return ApiKey(key_id=row[0], name=row[1], namespaces=row[2].split(","), created_at=row[3], revoked_at=row[4],
                  rate_per_s=row[5], burst=row[6])


# --------------------------------------------------------------------------------------------- rate limits


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token bucket per key: ``rate_per_s`` sustained, ``burst`` at once. In-process (one server process)."""

    rate_per_s: float = 20.0
    burst: int = 40
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, principal: Principal, *, now: float | None = None) -> float:
        """Take one token. Returns 0.0 if allowed, else the seconds until a token is available."""
        rate = principal.rate_per_s or self.rate_per_s
        burst = principal.burst or self.burst
        now = time.monotonic() if now is None else now
        with self._lock:
            b = self._buckets.get(principal.key_id)
            if b is None:
                b = self._buckets[principal.key_id] = _Bucket(tokens=float(burst), updated=now)
            b.tokens = min(float(burst), b.tokens + (now - b.updated) * rate)
            b.updated = now
            if b.tokens >= 1.0 - 1e-9:  # tolerate float drift of the refill arithmetic
                b.tokens = max(0.0, b.tokens - 1.0)
                return 0.0
            return (1.0 - b.tokens) / rate
