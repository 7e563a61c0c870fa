"""Shared loading for the routing benchmark: cards, the labelled dataset and its fixed split."""

from __future__ import annotations

import json
from pathlib import Path

from genesis_agents.infrastructure.routing import load_cards

HERE = Path(__file__).resolve().parent


def cards(name: str = "cards.yaml"):
    return load_cards(HERE / name)


def dataset(split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (HERE / "dataset.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def alt_label_map(name: str = "cards_alt_map.json") -> dict[str, str]:
    """Benchmark agent name -> its counterpart in a differently-worded card set."""
    return json.loads((HERE / name).read_text())
