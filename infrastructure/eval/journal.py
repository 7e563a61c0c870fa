"""The results journal: one JSON line per finished attempt, so an interrupted run can resume.

A line is reused only when the scenario's fingerprint (a hash of its definition) still matches, so editing
a scenario re-runs it. A torn last line (the process died mid-write) is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from .results import AttemptResult


class ResultsJournal:
    """Append-only JSONL of ``AttemptResult``s keyed by (scenario key, attempt index, fingerprint)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def load(self) -> dict[tuple[str, int], tuple[str, AttemptResult]]:
        """(suite::id, attempt) -> (fingerprint, result), the latest line winning."""
        done: dict[tuple[str, int], tuple[str, AttemptResult]] = {}
        if not self.path.is_file():
            return done
        for text in self.path.read_text(encoding="utf-8").splitlines():
            if not text.strip():
                continue
            try:
                row = json.loads(text)
                result = AttemptResult.model_validate(row["result"])
                done[(row["key"], int(row["attempt"]))] = (str(row["fingerprint"]), result)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError):
                continue  # torn or foreign line: that attempt simply runs again
        return done

    def reset(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("", encoding="utf-8")

    def append(self, key: str, fingerprint: str, result: AttemptResult) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": key, "attempt": result.attempt, "fingerprint": fingerprint,
                           "result": result.model_dump(mode="json")}, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
