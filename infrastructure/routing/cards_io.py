"""Load agent cards from YAML/JSON files (benchmarks, the CLI's ``--cards`` option, remote card dumps)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..contracts import AgentCard
from ..errors import InvalidCardError


def load_cards(path: str | Path) -> list[AgentCard]:
    """Cards from a file holding ``{cards: [...]}`` or a list of cards. Errors name the card and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidCardError(f"cards file not found: {p}", field="cards") from None
    try:
        raw = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidCardError(f"{p}: cannot parse ({exc})", field="cards") from None
    if isinstance(raw, dict):
        raw = raw.get("cards")
    if not isinstance(raw, list) or not raw:
        raise InvalidCardError(f"{p}: expected a non-empty list of cards (or a mapping with 'cards')",
                               field="cards")
    cards = []
    for i, item in enumerate(raw):
        try:
            cards.append(AgentCard.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            name = item.get("name", i) if isinstance(item, dict) else i
            raise InvalidCardError(f"{p}: card {name!r}: {err['msg']}", field=f"cards[{i}].{where}") from None
    return cards
