"""A shipped glossary of business jargon, so that requests written in jargon still reach plain-worded cards.

The embedding model behind capability matching knows everyday English well but many business terms poorly:
"close the books for September" lands nearer to a calendar card than to a bookkeeping one. ``lexicon.yaml``
holds general domain knowledge — common terms of accounting, law, HR, sales, marketing, customer service, IT,
purchasing, travel, meetings, data analysis, video and agent evaluation — each with a plain-words definition.
It names no agent and no card. When a request uses a term, the capability matcher also compares the term's
definition with every card (the ``gloss_cos`` feature), so the card whose own words fit the
*meaning* of the jargon gains. Requests without a glossary term are scored exactly as before.

Terms match on lightly stemmed words (inflections only) in order, ignoring articles and possessives, longest match first and without
overlaps ("tax return" wins over "return").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from ..embeddings import Embedder
from ..errors import ConfigError
from .text import tokens

LEXICON_FILE = Path(__file__).with_name("lexicon.yaml")
MAX_TERM_WORDS = 6
_SKIP = frozenset(["a", "an", "the", "our", "my", "your", "their", "its", "his", "her", "this", "these", "that",
                   "those"])
"""Words that never change what a term means ("close the books" = "close our books")."""


def light_stem(token: str) -> str:
    """Inflections only (plural, -ing, -ed, final e): a glossary term must not meet an unrelated word, so the
    router's stronger stemmer (which makes 'offer' meet 'off' and 'leaves' meet 'leaver') is not used.
    Applied twice, so that 'bookings' and 'booking' meet."""
    return _strip_inflection(_strip_inflection(token))


def _strip_inflection(token: str) -> str:
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    for suf in ("ing", "ed", "es", "s"):
        if token.endswith(suf) and len(token) - len(suf) >= 3 and not token.endswith("ss"):
            token = token[: -len(suf)]
            break
    return token[:-1] if token.endswith("e") and len(token) > 3 else token


def _words(text: str) -> tuple[str, ...]:
    return tuple(light_stem(t) for t in tokens(text) if t not in _SKIP)


@dataclass(frozen=True)
class GlossHit:
    """One glossary term found in a request, with its plain-words definition."""

    term: str
    definition: str


class Lexicon:
    """Terms (as stemmed word tuples) -> definitions; finds them in text and embeds the definitions once."""

    def __init__(self, entries: dict[tuple[str, ...], tuple[str, str]]) -> None:
        self._entries = entries
        self._longest = max((len(k) for k in entries), default=0)
        self.definitions = sorted({d for _, d in entries.values()})
        self._def_index = {d: i for i, d in enumerate(self.definitions)}
        self._vectors: dict[tuple[str, int], np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>") -> Lexicon:
        """Parse ``{version: 1, terms: {"term | variant": definition}}``; errors name the file and field."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: cannot parse lexicon ({exc})", field="lexicon") from None
        terms = data.get("terms") if isinstance(data, dict) else None
        if not isinstance(terms, dict) or not terms:
            raise ConfigError(f"{source}: expected a mapping 'terms' of 'term | variant: definition'",
                              field="lexicon.terms")
        entries: dict[tuple[str, ...], tuple[str, str]] = {}
        for key, definition in terms.items():
            if not isinstance(key, str) or not isinstance(definition, str) or not definition.strip():
                raise ConfigError(f"{source}: term {key!r} needs a non-empty text definition",
                                  field=f"lexicon.terms.{key}")
            for variant in re.split(r"\s*\|\s*", key.strip()):
                words = _words(variant)
                if not words or len(words) > MAX_TERM_WORDS:
                    raise ConfigError(f"{source}: term variant {variant!r} must have 1-{MAX_TERM_WORDS} words",
                                      field=f"lexicon.terms.{key}")
                entries.setdefault(words, (variant, definition.strip()))
        return cls(entries)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Lexicon:
        p = Path(path) if path else LEXICON_FILE
        try:
            return cls.from_yaml(p.read_text(encoding="utf-8"), source=str(p))
        except FileNotFoundError:
            raise ConfigError(f"lexicon file not found: {p}", field="lexicon") from None

    def merged(self, *others: Lexicon) -> Lexicon:
        """This glossary with ``others`` laid over it: their terms are added, and a term they define again takes
        their definition (an organisation's own meaning of a word wins over the shipped one)."""
        entries = dict(self._entries)
        for other in others:
            entries.update(other._entries)
        return Lexicon(entries)

    @classmethod
    def with_extra(cls, paths: Sequence[str | Path]) -> Lexicon:
        """The shipped glossary extended by glossary files (the ``router_glossary`` setting): the jargon of one
        business — product names, internal abbreviations — defined in plain words, for any card set."""
        if not paths:
            return default_lexicon()
        return default_lexicon().merged(*(cls.load(p) for p in paths))

    def find(self, text: str) -> list[GlossHit]:
        """Glossary terms in ``text``, longest first at each position, without overlaps, deduplicated."""
        words = _words(text)
        hits: list[GlossHit] = []
        seen: set[str] = set()
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                entry = self._entries.get(words[i:i + n])
                if entry is not None:
                    if entry[1] not in seen:
                        seen.add(entry[1])
                        hits.append(GlossHit(*entry))
                    i += n
                    break
            else:
                i += 1
        return hits

    def vectors(self, embedder: Embedder) -> np.ndarray:
        """Embeddings of all definitions (one row each, ``definitions`` order), computed once per embedder."""
        key = (getattr(embedder, "name", type(embedder).__name__), id(embedder))
        with self._lock:
            hit = self._vectors.get(key)
        if hit is None:
            hit = np.asarray(embedder.embed(self.definitions), dtype=np.float32)
            with self._lock:
                self._vectors[key] = hit
        return hit

    def index_of(self, definition: str) -> int:
        return self._def_index[definition]


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shipped glossary (``lexicon.yaml``), parsed once per process."""
    return Lexicon.load()
