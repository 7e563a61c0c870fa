"""Artifacts must not escape review: the files an agent produced are judged together with its answer.

A safety verdict on the answer *text* is not enough: a video agent may answer "Rendered a 10 s video" to a
bomb-making brief, and a dashboard may carry the e-mail addresses that were redacted from the answer. So:

- when the response is blocked or replaced by a decline, or the request itself was judged harmful, every
  artifact is withheld (a rendered video of a harmful brief cannot be reviewed as text);
- text-like artifacts (``.srt .vtt .txt .md .html .json .jsonl .csv``) are scanned with the same PII/secret
  detectors as the answer (up to a configurable size; larger or unreadable files are withheld, fail closed)
  and either redacted into a new file next to the original or withheld, per policy;
- binary artifacts (video, images) of a response flagged unsafe, or whose files leaked, are withheld: their
  content cannot be checked.

Every withheld or redacted file is described in an ``ArtifactNote`` that the reviewer puts in the result's
metadata and the audit log, so nothing disappears silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..infrastructure.contracts import Artifact
from .detectors import find_leaks, redact
from .labels import Finding

TEXT_SUFFIXES: frozenset[str] = frozenset({".srt", ".vtt", ".txt", ".md", ".html", ".htm", ".json", ".jsonl",
                                           ".csv"})
ArtifactLeakMode = Literal["redact", "withhold"]


class ArtifactNote(BaseModel):
    """What the reviewer did with one artifact, and why (kept in ``result.metadata`` and the audit)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    action: Literal["withheld", "redacted"]
    reason: str
    findings: list[str] = []
    redacted_path: str | None = None


@dataclass
class ArtifactReview:
    """The artifacts to deliver and notes on every one that was withheld or redacted."""

    artifacts: list[Artifact]
    notes: list[ArtifactNote] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.notes)

    @property
    def leaked(self) -> bool:
        return any(n.findings for n in self.notes)

    def summary(self) -> str:
        return "; ".join(f"{n.action} {n.name} ({n.reason})" for n in self.notes)


def is_text_artifact(artifact: Artifact) -> bool:
    """Text-like by suffix (the media type of subtitles and JSONL varies by platform)."""
    return Path(artifact.name or artifact.path).suffix.lower() in TEXT_SUFFIXES or Path(
        artifact.path).suffix.lower() in TEXT_SUFFIXES


def withhold_all(artifacts: Sequence[Artifact], reason: str) -> ArtifactReview:
    return ArtifactReview([], [ArtifactNote(name=a.name, path=a.path, action="withheld", reason=reason)
                               for a in artifacts])


def _read_text(path: Path, max_bytes: int) -> tuple[str | None, str]:
    """The file's text, or ``None`` and why it cannot be scanned (then it is withheld: fail closed)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, f"cannot be read for review ({type(exc).__name__})"
    if size > max_bytes:
        return None, f"{size} bytes is more than artifact_scan_max_bytes={max_bytes}, not reviewed"
    try:
        return path.read_bytes().decode("utf-8", errors="replace"), ""
    except OSError as exc:
        return None, f"cannot be read for review ({type(exc).__name__})"


_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+;base64,([A-Za-z0-9+/=]{64,})")


def _find_leaks_skipping_binaries(text: str, request: str) -> list[Finding]:
    """PII/secret findings in a text file, skipping base64 payloads of ``data:`` URIs (inlined chart images in
    a dashboard): they are not text, scanning them is slow, and random base64 can look like a key. Offsets are
    those of the original text, so the findings redact it directly."""
    findings: list[Finding] = []
    pos = 0
    for m in [*_DATA_URI.finditer(text), None]:
        end = m.start(1) if m is not None else len(text)
        if end > pos:
            findings += [f.model_copy(update={"start": f.start + pos, "end": f.end + pos})
                         for f in find_leaks(text[pos:end], request)]
        if m is not None:
            pos = m.end(1)
    return findings


def _redacted_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.redacted{path.suffix}")


def scan_artifacts(artifacts: Sequence[Artifact], *, request: str = "", mode: ArtifactLeakMode = "redact",
                   max_bytes: int = 5_000_000, flagged: bool = False) -> ArtifactReview:
    """Scan text-like artifacts for PII/secrets (redact into ``<stem>.redacted<suffix>`` or withhold);
    withhold binary artifacts when the response was ``flagged`` unsafe or any of its files leaked.

    Data the user gave in the request is not a leak (same rule as for the answer text)."""
    kept: list[Artifact | None] = []
    notes: list[ArtifactNote] = []
    for a in artifacts:
        if not is_text_artifact(a):
            kept.append(a)
            continue
        path = Path(a.path)
        text, why = _read_text(path, max_bytes)
        if text is None:
            notes.append(ArtifactNote(name=a.name, path=a.path, action="withheld", reason=why))
            kept.append(None)
            continue
        findings = _find_leaks_skipping_binaries(text, request)
        if not findings:
            kept.append(a)
            continue
        types = sorted({f.type for f in findings})
        reason = f"contains {', '.join(types)} ({len(findings)} finding(s))"
        if mode == "redact":
            target = _redacted_path(path)
            try:
                target.write_text(redact(text, findings), encoding="utf-8")
            except OSError as exc:
                notes.append(ArtifactNote(name=a.name, path=a.path, action="withheld", findings=types,
                                          reason=f"{reason}; redacted copy could not be written ({exc})"))
                kept.append(None)
                continue
            meta = {**a.metadata, "redacted_from": a.path}
            kept.append(Artifact.from_path(target, description=a.description, **meta).model_copy(
                update={"media_type": a.media_type}))
            notes.append(ArtifactNote(name=a.name, path=a.path, action="redacted", findings=types, reason=reason,
                                      redacted_path=str(target)))
        else:
            notes.append(ArtifactNote(name=a.name, path=a.path, action="withheld", findings=types, reason=reason))
            kept.append(None)
    withhold_binary = flagged or any(n.findings for n in notes)
    out: list[Artifact] = []
    for a, k in zip(artifacts, kept):
        if k is None:
            continue
        if withhold_binary and not is_text_artifact(a):
            why = ("binary artifact of a response flagged unsafe cannot be reviewed" if flagged else
                   "binary artifact of a response whose files leaked personal data or secrets cannot be reviewed")
            notes.append(ArtifactNote(name=a.name, path=a.path, action="withheld", reason=why))
            continue
        out.append(k)
    return ArtifactReview(out, notes)


__all__ = ["TEXT_SUFFIXES", "ArtifactLeakMode", "ArtifactNote", "ArtifactReview", "is_text_artifact",
           "scan_artifacts", "withhold_all"]
