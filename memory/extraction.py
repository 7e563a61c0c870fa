"""Knowledge extraction on write: entities and relations from an item's text.

Two extractors with one interface:

- ``OfflineExtractor`` (default, no model): entity candidates are capitalised phrases and identifiers
  ("Team Falcon", "Acme Corp", "C-1042") plus any already-known entity the text names (so a lower-case
  mention still links). Within a sentence, consecutive entities are related by the words between them
  ("Team Falcon builds Orion" -> (Team Falcon, builds, Orion)); if nothing meaningful is between them the
  predicate is ``related_to``.
- ``LLMExtractor``: asks a LangChain chat model for JSON ``{"entities": [...], "triples": [[s, p, o], ...]}``
  and falls back to the offline extractor when the reply is not usable.

Structured triples passed explicitly by agents are added on top by ``HybridMemory``; extraction never
replaces them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from genesis_agents.infrastructure.contracts import Triple
from pydantic import BaseModel, Field

from .text import STOPWORDS, entity_key, word_text

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_TOKEN = re.compile(r"[A-Za-z0-9][\w&'./-]*[\w&]|[A-Za-z0-9]")
_CONNECTORS = {"of", "&", "de"}
_LEADING_DROP = {"the", "a", "an", "our", "their", "this", "that", "these", "those", "its", "his", "her"}
_COMMON_CAPS = STOPWORDS | {
    "who", "what", "which", "when", "where", "why", "how", "yes", "no", "mr", "ms", "mrs", "dr", "please",
    "note", "today", "yesterday", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "i", "we", "you", "they", "he", "she", "it", "there", "here", "also", "however",
    "then", "each", "every", "all", "some", "many", "most", "list", "show", "find", "tell", "give",
}
MAX_ENTITY_WORDS = 6
MAX_PREDICATE_WORDS = 6


class Extraction(BaseModel):
    """What one text yielded: entity display names and relations between them."""

    entities: list[str] = Field(default_factory=list)
    triples: list[Triple] = Field(default_factory=list)


KnownLookup = Callable[[list[str]], set[str]]
"""Given candidate keys (word n-grams of the text), return those that are known entities."""


class Extractor(Protocol):
    name: str

    def extract(self, text: str, *, known: KnownLookup | None = None) -> Extraction: ...


def _is_capitalised(token: str) -> bool:
    """Starts upper-case, or is an identifier mixing letters and digits ('C-1042', 'Q3'); not a bare number."""
    if not any(ch.isalpha() for ch in token):
        return False
    return token[:1].isupper() or any(ch.isdigit() for ch in token)


def ngrams(words: Sequence[str], max_n: int = MAX_ENTITY_WORDS) -> list[str]:
    out: list[str] = []
    for n in range(1, max_n + 1):
        for i in range(len(words) - n + 1):
            out.append(" ".join(words[i:i + n]))
    return out


class OfflineExtractor:
    """Rule-based extraction: capitalised phrases + known entities, relations from word order."""

    name = "offline"

    def __init__(self, *, min_entity_chars: int = 2) -> None:
        self.min_entity_chars = min_entity_chars

    def _candidates(self, sentence: str) -> list[tuple[int, int, str]]:
        """Capitalised phrases as (start char, end char, name)."""
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(sentence)]
        spans: list[tuple[int, int, str]] = []
        i = 0
        while i < len(tokens):
            start, end, tok = tokens[i]
            if not _is_capitalised(tok) or tok.lower() in _COMMON_CAPS:
                i += 1
                continue
            j = i + 1
            last = i
            while j < len(tokens) and j - i < MAX_ENTITY_WORDS * 2:
                word = tokens[j][2]
                if _is_capitalised(word) and word.lower() not in _COMMON_CAPS:
                    last = j
                    j += 1
                elif word.lower() in _CONNECTORS and j + 1 < len(tokens) and _is_capitalised(tokens[j + 1][2]):
                    j += 1
                else:
                    break
            name = sentence[start:tokens[last][1]].strip(" .,'")
            if len(name) >= self.min_entity_chars:
                spans.append((start, tokens[last][1], name))
            i = last + 1
        return spans

    def extract(self, text: str, *, known: KnownLookup | None = None) -> Extraction:
        entities: dict[str, str] = {}
        triples: list[Triple] = []
        seen_triples: set[tuple[str, str, str]] = set()
        for sentence in _SENTENCE.split(text):
            if not sentence.strip():
                continue
            spans = self._candidates(sentence)
            if known is not None:
                spans.extend(self._known_spans(sentence, known, spans))
            # every candidate counts as a mention ("Contract C-7" also mentions a known "C-7"), but relations
            # are read between non-overlapping spans only
            for _, _, name in sorted(spans):
                entities.setdefault(entity_key(name), name)
            spans = _non_overlapping(spans)
            for (s0, e0, a), (s1, _e1, b) in zip(spans, spans[1:]):
                if entity_key(a) == entity_key(b):
                    continue
                predicate = _predicate(sentence[e0:s1])
                key = (entity_key(a), predicate, entity_key(b))
                if key not in seen_triples:
                    seen_triples.add(key)
                    triples.append(Triple(subject=a, predicate=predicate, object=b))
        return Extraction(entities=list(entities.values()), triples=triples)

    @staticmethod
    def _known_spans(sentence: str, known: KnownLookup, taken: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Spans of already-known entities named in lower case (or not caught as capitalised phrases)."""
        matches = list(re.finditer(r"[a-z0-9]+(?:[._'-][a-z0-9]+)*", sentence.lower()))
        words = [m.group() for m in matches]
        grams: dict[str, tuple[int, int]] = {}
        for n in range(1, MAX_ENTITY_WORDS + 1):
            for i in range(len(words) - n + 1):
                grams.setdefault(" ".join(words[i:i + n]), (matches[i].start(), matches[i + n - 1].end()))
        hits = known([g for g in grams if g not in STOPWORDS])
        taken_keys = {entity_key(name) for _, _, name in taken}
        return [(grams[g][0], grams[g][1], sentence[grams[g][0]:grams[g][1]]) for g in hits if g not in taken_keys]


def _non_overlapping(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Longest spans win; result in text order."""
    chosen: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
            chosen.append(span)
    return sorted(chosen)


def _predicate(between: str) -> str:
    words = [w for w in word_text(between).split() if w not in _LEADING_DROP]
    while words and words[-1] in {"the", "a", "an", "and"}:
        words.pop()
    if not words or len(words) > MAX_PREDICATE_WORDS:
        return "related_to"
    return " ".join(words)


_LLM_PROMPT = """Extract the named entities and the relations between them from the text below.
Reply with JSON only, exactly: {{"entities": ["name", ...], "triples": [["subject", "predicate", "object"], ...]}}
Use short predicates (1-4 words). Text:
{text}"""


class LLMExtractor:
    """Entity/relation extraction with a LangChain chat model; offline rules when the reply is unusable."""

    name = "llm"

    def __init__(self, llm: Any, *, fallback: Extractor | None = None, max_chars: int = 8_000) -> None:
        self.llm = llm
        self.fallback = fallback or OfflineExtractor()
        self.max_chars = max_chars
        self.failures = 0

    def extract(self, text: str, *, known: KnownLookup | None = None) -> Extraction:
        try:
            reply = self.llm.invoke(_LLM_PROMPT.format(text=text[: self.max_chars]))
            parsed = parse_llm_extraction(getattr(reply, "content", reply))
        except Exception:  # a model error must never lose the write: fall back to the rules
            parsed = None
        if parsed is None:
            self.failures += 1
            return self.fallback.extract(text, known=known)
        return parsed


def parse_llm_extraction(content: Any) -> Extraction | None:
    """Parse the model's JSON (tolerating code fences and prose around it); None if unusable."""
    if not isinstance(content, str):
        content = json.dumps(content) if isinstance(content, (dict, list)) else str(content)
    start, end = content.find("{"), content.rfind("}")
    if start == -1 or end <= start:
        return None
    try:
        data = json.loads(content[start:end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    entities = [str(e).strip() for e in data.get("entities", []) if isinstance(e, (str, int)) and str(e).strip()]
    triples: list[Triple] = []
    for row in data.get("triples", []):
        if isinstance(row, dict):
            row = [row.get("subject"), row.get("predicate"), row.get("object")]
        if isinstance(row, (list, tuple)) and len(row) == 3 and all(isinstance(x, str) and x.strip() for x in row):
            triples.append(Triple(subject=row[0].strip(), predicate=row[1].strip(), object=row[2].strip()))
    if not entities and not triples:
        return None
    for t in triples:
        for name in (t.subject, t.object):
            if entity_key(name) not in {entity_key(e) for e in entities}:
                entities.append(name)
    return Extraction(entities=entities, triples=triples)
