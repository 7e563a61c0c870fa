"""A circuit breaker for remote peers: stop calling a peer that keeps failing, try again after a pause.

Why: a dead peer would otherwise cost every task that routes to it the full timeout plus retries. With the
breaker open, calls fail at once with ``AgentFailedError`` (the router can then fall back), and one trial
call after ``reset_s`` decides whether the peer is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    reset_s: float = 30.0
    _failures: int = 0
    _opened_at: float | None = None
    _trial_in_flight: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def state(self, now: float | None = None) -> BreakerState:
        now = time.monotonic() if now is None else now
        if self._opened_at is None:
            return "closed"
        return "half_open" if now - self._opened_at >= self.reset_s else "open"

    def allow(self, now: float | None = None) -> bool:
        """May a call go out now? In half-open state exactly one trial call is let through."""
        with self._lock:
            st = self.state(now)
            if st == "closed":
                return True
            if st == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def retry_after(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        return 0.0 if self._opened_at is None else max(0.0, self.reset_s - (now - self._opened_at))

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = now
            self._trial_in_flight = False

    @property
    def failures(self) -> int:
        return self._failures
