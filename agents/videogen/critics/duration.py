"""Duration match: the decoded video's length (counted frames / fps) against the requested duration."""

from __future__ import annotations

from .base import CriticResult, Evidence, Issue

TOLERANCE = 0.03  # fraction of the target


def duration(ev: Evidence) -> CriticResult:
    target = ev.board.target_duration_s
    got = ev.info.duration_s
    err = abs(got - target)
    allowed = max(1.0 / max(ev.info.fps, 1.0), TOLERANCE * target)
    score = max(0.0, 1.0 - err / target)
    issues = []
    if err > allowed:
        issues.append(Issue(critic="duration", code="mismatch",
                            message=f"video lasts {got:.2f}s, target {target:.2f}s",
                            data={"duration_s": round(got, 3), "target_s": target}))
    if ev.info.audio and ev.info.audio_duration_s > got + 0.25:
        issues.append(Issue(critic="duration", code="audio_longer",
                            message=f"audio lasts {ev.info.audio_duration_s:.2f}s, video {got:.2f}s",
                            data={"audio_s": round(ev.info.audio_duration_s, 3)}))
    return CriticResult(name="duration", score=score, passed=not issues, threshold=1.0 - TOLERANCE, issues=issues,
                        details={"duration_s": round(got, 3), "target_s": target, "frames": ev.info.frames,
                                 "fps": ev.info.fps, "error_s": round(err, 3)})
