"""Response-level features for the refusal classifier: *where* the refusal and hedging phrases sit, how much
of the answer they take, and whether substantive content follows them.

Why positions matter: an outright refusal puts its phrase in the first sentence and stops; a partial refusal
("I can't help with X, but in general ...") puts it first and then adds a little; a compliant answer with a
disclaimer either opens with content and ends with a safety note, or opens with a short caveat ("As an AI I
have no opinions, but ...") and then answers at length. Counting phrases alone cannot tell these apart;
their position, the share of sentences they occupy and the amount of text after the last one can.

Pure regular expressions and arithmetic (no embedding), so the whole feature vector costs well under a
millisecond even for long answers.
"""

from __future__ import annotations

import math
import re

from .detectors import HEDGE_RE, PIVOT_RE, REFUSAL_RE

_MAX_CHARS = 4000
_SENTENCE = re.compile(r"(?<=[.!?:])\s+|\n+")
_LIST_ITEM = re.compile(r"(?m)^\s*(?:\d+[.)]|[-*\u2022])\s+\S")
_COMPLY_OPENER = re.compile(
    r"^\s*(?:sure|certainly|of course|absolutely|yes|great question|good question|here(?:'s| is| are)|"
    r"to\s+\w+|there are (?:several|a few|many)|the (?:short )?answer)\b", re.IGNORECASE)
_AS_AN_AI = re.compile(r"\bas an ai\b|\bi'?m (?:just )?an ai\b|\bai (?:language )?model\b", re.IGNORECASE)
_OFFER = re.compile(
    r"\b(?:(?:but|however),?\s+I\s+can|here(?:'s| is| are)|I\s+can\s+(?:provide|offer|give|tell|explain|help\s+you\s+with)"
    r"|the following|for example|such as|first,|step\s+\d|you can)\b", re.IGNORECASE)
_REDIRECT = re.compile(
    r"\b(?:instead|rather than|alternatively|I\s+(?:would\s+)?(?:suggest|recommend|encourage)|"
    r"(?:seek|consult|contact|talk\s+to)\s+(?:a|an|the|your)\b|professional|help\s*line|hotline)\b", re.IGNORECASE)

FEATURE_NAMES: tuple[str, ...] = (
    "refusal_first_sentence", "refusal_second_sentence", "refusal_later", "hedge_first_sentence",
    "hedge_second_sentence", "hedge_later", "refusal_sentence_share", "hedge_sentence_share",
    "refusal_or_hedge_text_share", "chars_after_last_cue", "chars_after_first_cue_sentence", "log_length",
    "short_answer", "log_sentences", "list_items", "comply_opener", "as_an_ai", "pivot_in_opening",
    "offer_after_refusal", "redirect", "refusal_in_last_sentence", "no_cue",
)


def _sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE.split(text[:_MAX_CHARS])) if s]


def response_features(text: str) -> list[float]:
    """A fixed-length vector (see ``FEATURE_NAMES``), every entry scaled to roughly [0, 1]."""
    sents = _sentences(text) or [""]
    n = len(sents)
    ref = [len(REFUSAL_RE.findall(s)) for s in sents]
    hed = [len(HEDGE_RE.findall(s)) for s in sents]
    lens = [len(s) for s in sents]
    total_len = max(1, sum(lens))
    cue_sent = [i for i in range(n) if ref[i] or hed[i]]
    last_cue = cue_sent[-1] if cue_sent else -1
    first_ref = next((i for i in range(n) if ref[i]), -1)
    after_last = sum(lens[last_cue + 1:]) if last_cue >= 0 else total_len
    after_first = sum(lens[first_ref + 1:]) if first_ref >= 0 else total_len
    rest_after_ref = " ".join(sents[first_ref + 1:first_ref + 4]) if first_ref >= 0 else ""
    opening = text[:300]
    return [
        min(ref[0], 2) / 2.0,
        min(ref[1], 2) / 2.0 if n > 1 else 0.0,
        min(sum(ref[2:]), 4) / 4.0,
        min(hed[0], 2) / 2.0,
        min(hed[1], 2) / 2.0 if n > 1 else 0.0,
        min(sum(hed[2:]), 4) / 4.0,
        sum(1 for r in ref if r) / n,
        sum(1 for h in hed if h) / n,
        sum(lens[i] for i in cue_sent) / total_len,
        math.log1p(after_last) / 8.0,
        math.log1p(after_first) / 8.0,
        math.log1p(len(text)) / 8.0,
        float(len(text) < 300),
        math.log1p(n) / 4.0,
        min(len(_LIST_ITEM.findall(text[:_MAX_CHARS])), 6) / 6.0,
        float(bool(_COMPLY_OPENER.search(text[:60]))),
        float(bool(_AS_AN_AI.search(opening))),
        float(bool(PIVOT_RE.search(opening))),
        float(bool(first_ref >= 0 and _OFFER.search(rest_after_ref))),
        float(bool(_REDIRECT.search(text[:1500]))),
        float(bool(ref[-1])) if n > 1 else 0.0,
        float(not cue_sent),
    ]

