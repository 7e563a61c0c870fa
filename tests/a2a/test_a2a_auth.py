"""API keys (real SQLite file), rate limiting and the circuit breaker."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from genesis_agents.infrastructure.a2a.auth import ALL_NAMESPACES, KeyStore, Principal, RateLimiter
from genesis_agents.infrastructure.a2a.breaker import CircuitBreaker
from genesis_agents.infrastructure.errors import BadInputError, NotFoundError


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.sqlite")


def test_create_verify_and_hashed_at_rest(keys: KeyStore, tmp_path: Path) -> None:
    record, token = keys.create("billing-app", namespaces=["acme", "beta"])
    assert token.startswith("gsk_") and record.key_id in token
    principal = keys.verify(token)
    assert principal is not None and principal.name == "billing-app"
    assert principal.allows("acme") and principal.allows("beta") and not principal.allows("default")
    assert principal.default_namespace == "acme"
    secret = token.split("_", 2)[2]  # gsk_<key id>_<secret>; the secret itself may contain "_"
    raw = (tmp_path / "keys.sqlite").read_bytes()
    for wal in tmp_path.glob("keys.sqlite-wal"):
        raw += wal.read_bytes()
    assert secret.encode() not in raw and token.encode() not in raw
    with sqlite3.connect(tmp_path / "keys.sqlite") as db:
        stored = db.execute("SELECT secret_sha256 FROM api_keys").fetchone()[0]
    assert len(stored) == 64 and stored != secret


def test_wrong_tokens_are_rejected(keys: KeyStore) -> None:
    _, token = keys.create("a")
    key_id = token.split("_")[1]
    for bad in [None, "", "Bearer x", token[:-1] + ("A" if token[-1] != "A" else "B"), f"gsk_{key_id}_",
                f"gsk_deadbeef0000_{token.split('_', 2)[2]}", "gsk_" + "x" * 300, token + "x"]:
        assert keys.verify(bad) is None, bad


def test_revoke_by_id_and_name_and_list(keys: KeyStore) -> None:
    r1, t1 = keys.create("app")
    r2, t2 = keys.create("app")
    r3, t3 = keys.create("other", namespaces=[ALL_NAMESPACES])
    assert keys.verify(t3) is not None and keys.verify(t3).allows("anything")  # type: ignore[union-attr]
    assert [k.key_id for k in keys.revoke(r1.key_id)] == [r1.key_id]
    assert keys.verify(t1) is None and keys.verify(t2) is not None
    assert [k.key_id for k in keys.revoke("app")] == [r2.key_id]
    assert keys.verify(t2) is None
    with pytest.raises(NotFoundError) as info:
        keys.revoke("app")
    assert info.value.field == "key"
    listed = {k.key_id: k for k in keys.list()}
    assert listed[r1.key_id].revoked and listed[r2.key_id].revoked and not listed[r3.key_id].revoked
    assert [k.key_id for k in keys.list(include_revoked=False)] == [r3.key_id]


def test_revocation_is_seen_by_another_store_on_the_same_file(tmp_path: Path) -> None:
    server_side = KeyStore(tmp_path / "k.sqlite")
    cli_side = KeyStore(tmp_path / "k.sqlite")
    rec, token = cli_side.create("x")
    assert server_side.verify(token) is not None
    cli_side.revoke(rec.key_id)
    assert server_side.verify(token) is None


@pytest.mark.parametrize("kwargs, field", [
    ({"name": ""}, "name"),
    ({"name": "x", "namespaces": []}, "namespaces"),
    ({"name": "x", "namespaces": ["bad ns!"]}, "namespaces"),
    ({"name": "x", "rate_per_s": 0}, "rate_per_s"),
    ({"name": "x", "burst": 0}, "burst"),
])
def test_bad_key_requests_name_the_field(keys: KeyStore, kwargs: dict, field: str) -> None:
    with pytest.raises(BadInputError) as info:
        keys.create(**kwargs)
    assert info.value.field == field


def test_token_bucket() -> None:
    limiter = RateLimiter(rate_per_s=10, burst=3)
    p = Principal(key_id="k", name="k", namespaces=("default",))
    assert [limiter.acquire(p, now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire(p, now=100.0)
    assert wait == pytest.approx(0.1)
    assert limiter.acquire(p, now=100.1) == 0.0  # one token refilled after 1/rate s
    fast = Principal(key_id="f", name="f", namespaces=("default",), rate_per_s=1000, burst=1000)
    assert sum(limiter.acquire(fast, now=5.0) == 0.0 for _ in range(1000)) == 1000
    assert limiter.acquire(p, now=100.1) > 0  # buckets are per key


def test_token_bucket_is_thread_safe() -> None:
    limiter = RateLimiter(rate_per_s=0.001, burst=500)
    p = Principal(key_id="k", name="k", namespaces=("default",))
    allowed: list[int] = []

    def hammer() -> None:
        allowed.append(sum(limiter.acquire(p, now=1.0) == 0.0 for _ in range(200)))

    threads = [threading.Thread(target=hammer) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500


def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    b = CircuitBreaker(failure_threshold=2, reset_s=10)
    assert b.allow(now=0) and b.state(now=0) == "closed"
    b.record_failure(now=0)
    assert b.state(now=0) == "closed"
    b.record_failure(now=1)
    assert b.state(now=1) == "open" and not b.allow(now=5) and b.retry_after(now=5) == pytest.approx(6)
    assert b.allow(now=11) and b.state(now=11) == "half_open"
    assert not b.allow(now=11)  # only one trial call
    b.record_failure(now=11)  # trial failed: open again
    assert not b.allow(now=12)
    assert b.allow(now=22)
    b.record_success()
    assert b.state(now=22) == "closed" and b.failures == 0
