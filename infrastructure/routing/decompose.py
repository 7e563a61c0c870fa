"""Deterministic request decomposition: split a request into action segments and find their data flow.

Signals, in order: list items (bullets, numbered steps), sentences, sequencing words ("then", "after
that", "finally"), and conjunctions joining *distinct actions* ("... and make a video ..."), where the word
after the conjunction must be an action verb so that "sales and churn" stays one segment. A later segment
depends on an earlier one when it is explicitly sequenced or when it refers back to an earlier output
("the findings", "it", "the results").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import content_terms

ACTION_VERBS: frozenset[str] = frozenset(
    ["analyse", "analyze", "make", "create", "build", "write", "draft", "send", "email", "compute", "calculate", "forecast", "predict", "plot", "chart", "generate", "produce", "render", "summarise", "summarize", "review", "check", "compare", "book", "schedule", "find", "prepare", "translate", "publish", "post", "share", "evolve", "improve", "optimise", "optimize", "train", "evaluate", "clean", "export", "upload", "update", "notify", "turn", "convert", "visualise", "visualize", "present", "record", "film", "design", "plan", "organise", "organize", "investigate", "fix", "reset", "order", "buy", "purchase", "research", "list", "identify", "detect", "segment", "rank", "report", "announce", "invite", "arrange", "reply", "respond", "answer", "assess", "estimate", "deploy", "run", "test", "monitor", "add", "remove", "delete", "cancel", "reschedule", "move", "give", "set", "show", "tell", "email", "store", "save", "remember", "explain", "describe", "extract", "load", "import", "merge", "combine", "split", "sort", "filter", "group", "count", "measure", "audit", "draw", "storyboard", "animate", "narrate", "benchmark", "tune", "reconcile", "file", "submit", "approve", "raise", "track", "negotiate", "source", "hire", "screen", "interview", "onboard", "recruit", "rate", "score", "classify", "tag", "label", "collect", "gather", "fetch", "download", "pull", "compile", "highlight", "flag", "outline", "brainstorm", "suggest", "recommend", "propose", "use", "reserve", "rent", "pay", "request", "contact", "ask"]
)

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|[a-z][.)])\s+", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[\"'(A-Z0-9])")
_SEQUENCE = re.compile(
    r"\s*,?\s*\b(?:and\s+then|then|after\s+that|afterwards|finally|followed\s+by|once\s+(?:that|this|it)\s+is\s+"
    r"done|when\s+(?:that|this|it)\s+is\s+done|next,|lastly|subsequently)\b\s*,?\s*", re.IGNORECASE)
_CONJ = re.compile(r"(?:\s*,\s*(?:and\s+(?:also\s+)?)?|\s+and\s+(?:also\s+)?|\s+as\s+well\s+as\s+|\s+plus\s+)"
                   r"(?=(?:please\s+)?([A-Za-z]+)\b)", re.IGNORECASE)
_LEAD = re.compile(r"^(?:(?:and|also|then|please|first(?:ly)?|second(?:ly)?|third(?:ly)?|next|finally|lastly|"
                   r"after\s+that|afterwards|can\s+you|could\s+you|would\s+you|i\s+(?:want|need|would\s+like)"
                   r"\s+(?:you\s+)?to|we\s+need\s+to|kindly)\b[\s,:]*)+", re.IGNORECASE)
_ORDINAL_SEQ = re.compile(r"^(?:second(?:ly)?|third(?:ly)?|then|next|finally|lastly|after\s+that|afterwards)\b",
                          re.IGNORECASE)
_BACKREF = re.compile(
    r"\b(?:it|them|this|that|these|those|above|previous|resulting|based\s+on|from\s+(?:that|this|it)|"
    r"the\s+(?:results?|findings|analysis|output|outputs|report|numbers|insights|summary|charts?|figures|"
    r"metrics|forecasts?|video|storyboard|answer|conclusions|outcome|draft|list|table|dashboard|"
    r"segments|analysed\s+data|analyzed\s+data|cleaned\s+data))\b", re.IGNORECASE)


@dataclass
class Segment:
    """One action of the request, with why it depends on earlier segments."""

    text: str
    sequenced: bool = False
    from_list: bool = False
    depends_on: list[int] = field(default_factory=list)
    reason: str = ""


_CONTEXT_STARTERS: frozenset[str] = frozenset(
    """we i our my the this that these those it its there they their you your he she his her a an as since
    because although though while if when currently today yesterday last note fyi background context""".split()  # noqa: SIM905
)


def _is_action(text: str) -> bool:
    """Imperatives and questions are actions; statements ("We sell shoes.") are context.

    A clause counts as a statement when it starts with a pronoun, determiner or similar context word, so
    imperative verbs missing from ``ACTION_VERBS`` ("Grant ...") are still recognised as actions.
    """
    words = _LEAD.sub("", text.strip()).split()
    if not words:
        return False
    first = words[0].lower().strip(",:")
    return first in ACTION_VERBS or text.rstrip().endswith("?") or first not in _CONTEXT_STARTERS


def _clean(text: str) -> str:
    text = _LEAD.sub("", text.strip(" \t\n,;"))
    text = text.strip(" \t\n,;")
    return text[:1].upper() + text[1:] if text else text


def _split_actions(sentence: str) -> list[tuple[str, bool]]:
    """Split one sentence at sequencing words and at conjunctions followed by an action verb."""
    out: list[tuple[str, bool]] = []
    pieces = _SEQUENCE.split(sentence)
    for n, piece in enumerate(pieces):
        if not piece.strip():
            continue
        sequenced = n > 0
        start = 0
        parts: list[str] = []
        for m in _CONJ.finditer(piece):
            if m.group(1).lower() in ACTION_VERBS:
                parts.append(piece[start:m.start()])
                start = m.end()
        parts.append(piece[start:])
        for k, part in enumerate(p for p in parts if p.strip()):
            out.append((part, sequenced and k == 0))
    return out


def segment(text: str) -> list[Segment]:
    """Split ``text`` into action segments (without dependencies yet)."""
    text = text.strip()
    raw: list[Segment] = []
    if len(_BULLET.findall(text)) >= 2:
        numbered = bool(re.search(r"^\s*\d{1,2}[.)]\s+", text, re.MULTILINE))
        chunks = _BULLET.split(text)
        preamble, items = chunks[0].strip(), [c.strip() for c in chunks[1:] if c.strip()]
        if preamble and not preamble.endswith(":") and _is_action(preamble):
            raw.append(Segment(preamble))
        elif preamble and len(content_terms(preamble)) >= 2:
            items = [f"{items[0]} ({preamble.rstrip(':')})"] + items[1:] if items else [preamble]
        for k, item in enumerate(items):
            raw.append(Segment(" ".join(item.split()), sequenced=numbered and k > 0, from_list=True))
    else:
        for sentence in _SENTENCE.split(" ".join(text.split())):
            ordinal = bool(_ORDINAL_SEQ.match(sentence.strip()))
            for k, (part, seq) in enumerate(_split_actions(sentence)):
                raw.append(Segment(part, sequenced=seq or (ordinal and k == 0)))
    segs: list[Segment] = []
    pending_context = ""
    pending_prefix = ""
    for seg in raw:
        cleaned = _clean(seg.text)
        if not cleaned:
            continue
        if not seg.from_list and not _is_action(seg.text) and not seg.sequenced:
            # context, not an action ("We sell shoes."): attach it to a neighbouring action
            if segs:
                segs[-1].text = f"{segs[-1].text}. {cleaned}"
            else:
                pending_context = f"{pending_context} {cleaned}".strip()
            continue
        if pending_prefix:
            cleaned = f"{pending_prefix} and {cleaned[:1].lower()}{cleaned[1:]}"
            pending_prefix = ""
        if len(content_terms(cleaned)) < 2 and not seg.from_list:
            if segs:  # a bare verb ("... and check") belongs to its neighbour
                segs[-1].text = f"{segs[-1].text} and {cleaned[:1].lower()}{cleaned[1:]}"
            else:
                pending_prefix = cleaned
            continue
        if pending_context:
            cleaned = f"{cleaned} ({pending_context})"
            pending_context = ""
        segs.append(Segment(cleaned, sequenced=seg.sequenced, from_list=seg.from_list))
    leftover = " ".join(x for x in (pending_prefix, pending_context) if x)
    if leftover:
        segs.append(Segment(_clean(leftover)))
    return segs or [Segment(" ".join(text.split()))]


def link(segs: list[Segment]) -> list[Segment]:
    """Add dependencies: explicit sequence → previous segment; back-reference → previous segment."""
    for i, seg in enumerate(segs):
        if i == 0:
            continue
        if seg.sequenced:
            seg.depends_on = [i - 1]
            seg.reason = "sequenced after the previous step"
            continue
        m = _BACKREF.search(seg.text)
        if m:
            seg.depends_on = [i - 1]
            seg.reason = f"refers to an earlier result ({m.group(0)!r})"
    return segs
