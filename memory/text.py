"""Tokenising and BM25 keyword scoring shared by the in-process memory and the offline extractor.

Kept dependency-free on purpose: the in-process memory must work with nothing but the standard library,
and the hybrid memory's keyword signal (SQLite FTS5) uses the same tokeniser for its queries so that both
backends agree on what a "word" is.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+(?:[._'-][a-z0-9]+)*")

STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "whose", "why", "will", "with", "would", "you", "your", "about", "after", "all", "also", "any", "before", "between", "both", "each", "few", "more", "most", "other", "over", "same", "some", "such", "than", "too", "very", "just", "only", "own", "under", "until", "up", "down", "out", "off", "again", "further", "once", "here", "many", "much"]
)


def normalise(text: str) -> str:
    """Lower-case, accents folded, whitespace collapsed: the key used to compare names and words."""
    if text.isascii():  # nothing to fold (NFKD leaves ASCII as it is); most text takes this path
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(folded.lower().split())


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Words of ``text`` (lower-case, accents folded); stopwords dropped unless asked to keep them."""
    words = _WORD.findall(normalise(text))
    if keep_stopwords:
        return words
    return [w for w in words if w not in STOPWORDS]


class BM25Index:
    """Okapi BM25 over an in-memory corpus. ``add``/``remove`` keep document frequencies current.

    Used by ``InProcessMemory``; the hybrid memory uses SQLite FTS5's built-in ``bm25()`` instead.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs: dict[str, Counter[str]] = {}
        self._lengths: dict[str, int] = {}
        self._df: Counter[str] = Counter()
        self._postings: dict[str, set[str]] = {}
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def add(self, doc_id: str, text: str) -> None:
        if doc_id in self._docs:
            self.remove(doc_id)
        counts = Counter(tokenize(text))
        self._docs[doc_id] = counts
        length = sum(counts.values())
        self._lengths[doc_id] = length
        self._total_len += length
        for term in counts:
            self._df[term] += 1
            self._postings.setdefault(term, set()).add(doc_id)

    def remove(self, doc_id: str) -> None:
        counts = self._docs.pop(doc_id, None)
        if counts is None:
            return
        self._total_len -= self._lengths.pop(doc_id, 0)
        for term in counts:
            self._df[term] -= 1
            if self._df[term] <= 0:
                del self._df[term]
            posting = self._postings.get(term)
            if posting is not None:
                posting.discard(doc_id)
                if not posting:
                    del self._postings[term]

    def score(self, query: str, *, allowed: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """(doc_id, score) for documents sharing a term with ``query``, best first."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or not self._docs:
            return []
        allowed_set = set(allowed) if allowed is not None else None
        n = len(self._docs)
        avg = self._total_len / n if n else 0.0
        scores: dict[str, float] = {}
        for term in terms:
            posting = self._postings.get(term)
            if not posting:
                continue
            df = self._df[term]
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for doc_id in posting:
                if allowed_set is not None and doc_id not in allowed_set:
                    continue
                tf = self._docs[doc_id][term]
                denom = tf + self.k1 * (1 - self.b + self.b * self._lengths[doc_id] / (avg or 1.0))
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * tf * (self.k1 + 1) / denom
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@functools.lru_cache(maxsize=65536)
def entity_key(name: str) -> str:
    """The identity of an entity: its name normalised and reduced to words ('ACME Corp.' -> 'acme corp').

    Cached: extraction asks for the same few thousand names' keys dozens of times per item."""
    words = _WORD.findall(normalise(name))
    return " ".join(words) if words else normalise(name)


def mentions(text_norm: str, key: str) -> bool:
    """True if the entity ``key`` occurs in normalised text as whole words."""
    if not key:
        return False
    start = text_norm.find(key)
    while start != -1:
        end = start + len(key)
        before_ok = start == 0 or not text_norm[start - 1].isalnum()
        after_ok = end == len(text_norm) or not text_norm[end].isalnum()
        if before_ok and after_ok:
            return True
        start = text_norm.find(key, start + 1)
    return False


def trigrams(text: str) -> Counter[str]:
    """Character trigrams of the normalised words (robust to inflections; used as a lexical 'vector')."""
    grams: Counter[str] = Counter()
    for word in tokenize(text):
        padded = f" {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    if not dot:
        return 0.0
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)


def word_text(text: str) -> str:
    """Text reduced to its words joined by single spaces (the form entity keys are matched against)."""
    return " ".join(_WORD.findall(normalise(text)))


def edge_weight(parent: float, decay: float, predicate: str, query_words: set[str]) -> float:
    """Weight an entity inherits over one edge: ``decay`` of its parent's, doubled (up to the parent's) when
    the query uses a word of the edge's predicate ('who *leads* ...' follows ``leads`` edges first)."""
    boost = 2.0 if query_words and any(w in query_words for w in _predicate_words(predicate)) else 1.0
    return min(parent, parent * decay * boost)


@functools.lru_cache(maxsize=4096)
def _predicate_words(predicate: str) -> tuple[str, ...]:
    return tuple(tokenize(predicate))
