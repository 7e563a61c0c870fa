"""Load, health and learned success rates per agent: what the router knows beyond the cards.

- success rate: a Beta(4, 1) prior updated by every recorded outcome, so a new agent starts trusted
  (factor 1.0) and one that keeps failing loses ground gradually;
- circuit breaker: after ``failure_threshold`` consecutive failures the agent is skipped for
  ``cooldown_s``; then one trial call is let through (half-open) and its outcome closes or reopens it;
- load: subtasks in flight versus the card's ``max_concurrency``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]

PRIOR_SUCCESS = 4.0
PRIOR_FAILURE = 1.0
PRIOR_MEAN = PRIOR_SUCCESS / (PRIOR_SUCCESS + PRIOR_FAILURE)


@dataclass
class AgentStats:
    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    in_flight: int = 0
    latency_ms_ewma: float | None = None
    opened_at: float | None = None
    trial_in_flight: bool = False

    @property
    def success_rate(self) -> float:
        """Posterior mean success rate under the Beta prior."""
        return (self.successes + PRIOR_SUCCESS) / (self.successes + self.failures + PRIOR_SUCCESS + PRIOR_FAILURE)


class HealthTracker:
    """Thread-safe per-agent statistics. ``clock`` is injectable so tests control time instead of sleeping."""

    def __init__(self, *, failure_threshold: int = 3, cooldown_s: float = 30.0, ewma_alpha: float = 0.2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.ewma_alpha = ewma_alpha
        self.clock = clock
        self._stats: dict[str, AgentStats] = {}
        self._lock = threading.Lock()

    def stats(self, agent: str) -> AgentStats:
        with self._lock:
            return self._stats.setdefault(agent, AgentStats())

    def state(self, agent: str) -> CircuitState:
        st = self.stats(agent)
        if st.opened_at is None:
            return "closed"
        if self.clock() - st.opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def available(self, agent: str) -> bool:
        """False while the circuit is open, or half-open with its one trial call already running."""
        state = self.state(agent)
        if state == "open":
            return False
        if state == "half_open":
            return not self.stats(agent).trial_in_flight
        return True

    def mark_started(self, agent: str) -> None:
        """Call when a subtask is dispatched to ``agent`` (load accounting, half-open trial)."""
        with self._lock:
            st = self._stats.setdefault(agent, AgentStats())
            st.in_flight += 1
            if st.opened_at is not None and self.clock() - st.opened_at >= self.cooldown_s:
                st.trial_in_flight = True

    def record(self, agent: str, *, success: bool, latency_ms: float) -> None:
        with self._lock:
            st = self._stats.setdefault(agent, AgentStats())
            st.in_flight = max(0, st.in_flight - 1)
            st.trial_in_flight = False
            if latency_ms >= 0:
                st.latency_ms_ewma = latency_ms if st.latency_ms_ewma is None else (
                    self.ewma_alpha * latency_ms + (1 - self.ewma_alpha) * st.latency_ms_ewma)
            if success:
                st.successes += 1
                st.consecutive_failures = 0
                st.opened_at = None
            else:
                st.failures += 1
                st.consecutive_failures += 1
                half_open = st.opened_at is not None
                if st.consecutive_failures >= self.failure_threshold or half_open:
                    st.opened_at = self.clock()

    def factor(self, agent: str, max_concurrency: int) -> tuple[float, str]:
        """Multiplier for the capability probability (<= 1) and a note explaining it."""
        st = self.stats(agent)
        rate = st.success_rate
        f = min(1.0, rate / PRIOR_MEAN)
        notes = []
        if st.successes + st.failures:
            notes.append(f"success rate {rate:.0%} over {st.successes + st.failures} runs")
        if st.in_flight >= max_concurrency:
            f *= 0.8
            notes.append(f"at capacity ({st.in_flight}/{max_concurrency} in flight)")
        return f, "; ".join(notes)
