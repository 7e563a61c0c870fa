"""Text helpers shared by the planner, the rules and the capability matcher: tokens, stop-words, stems.

Kept dependency-free and deterministic so that rule matching and BM25 behave the same everywhere.
"""

from __future__ import annotations

import re

TOKEN_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

STOPWORDS: frozenset[str] = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "let", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "please", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "us", "i'd", "i'm", "i've", "we'd", "we're", "we've", "can't", "don't", "could", "would", "shall", "may", "might", "must", "need", "want", "wants", "like", "get", "got", "make", "made", "making", "do", "done", "thing", "things", "something", "anything", "everything", "stuff", "kindly", "pls", "thanks", "thank", "hi", "hello", "hey", "okay", "ok", "yes", "via", "per", "etc", "one", "two", "lot", "lots", "really", "much", "many", "every"]
)
"""Function words plus the most generic request verbs ('make', 'get', 'need'): they carry no capability."""

_SUFFIXES = ("ational", "ization", "fulness", "iveness", "ousness", "ations", "ation", "ments", "ment", "ness",
             "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")


def stem(token: str) -> str:
    """A tiny suffix stripper: good enough to make 'forecasting'/'forecasts' and 'invoices'/'invoice' meet."""
    if len(token) <= 4 or token.isdigit():
        return token
    for suf in _SUFFIXES:
        if token.endswith(suf) and len(token) - len(suf) >= 3:
            base = token[: -len(suf)]
            if suf in ("ies", "ied"):
                base += "y"
            return base
    return token


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words)."""
    return TOKEN_RE.findall(text.lower().replace("’", "'"))


def content_terms(text: str) -> list[str]:
    """Stemmed tokens without stop-words: the terms that say what a request is about."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def has_content(text: str) -> bool:
    """False for requests of only stop-words, digits or symbols: nothing to route on."""
    return any(not t.isdigit() for t in content_terms(text))


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut ``text`` at a word boundary to at most ``max_chars``; says whether it cut anything."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut, True
