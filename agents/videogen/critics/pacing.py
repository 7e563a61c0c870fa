"""Pacing: is each scene on screen long enough to read (and to speak), and not so long that it drags?

On-screen time comes from the rendered frame ranges; words from the scene's visible text; narration
length from the synthesised audio when there is any. Reading speed is ``settings.reading_wpm``.
"""

from __future__ import annotations

from .base import CriticResult, Evidence, Issue

ORIENT_S = 0.8  # time to find the text after a scene change


def required_s(words: int, wpm: int) -> float:
    return ORIENT_S + words * 60.0 / wpm


def pacing(ev: Evidence) -> CriticResult:
    fps = ev.settings.fps
    issues: list[Issue] = []
    per: list[dict] = []
    total = 0.0
    by_id = {s.id: s for s in ev.board.scenes}
    for sf in ev.scenes:
        scene = by_id[sf.scene_id]
        words = scene.words()
        readable = (sf.fade_start - sf.start) / fps  # time the scene is shown alone
        on_screen = (sf.end - sf.start) / fps
        need = required_s(words, ev.settings.reading_wpm)
        speech = ev.narration_s.get(sf.scene_id, 0.0)
        score = 1.0
        if readable + 1e-6 < need:
            score = readable / need
            issues.append(Issue(critic="pacing", scene_id=sf.scene_id, code="too_fast",
                                message=f"scene {sf.scene_id}: {words} words need {need:.1f}s, shown {readable:.1f}s",
                                data={"need_s": round(need, 2), "shown_s": round(readable, 2), "words": words}))
        elif speech > on_screen + 0.05:
            score = on_screen / speech
            issues.append(Issue(critic="pacing", scene_id=sf.scene_id, code="narration_overrun",
                                message=f"scene {sf.scene_id}: narration lasts {speech:.1f}s, scene {on_screen:.1f}s",
                                data={"need_s": round(speech + 0.2, 2), "shown_s": round(on_screen, 2)}))
        elif readable > 3 * need + 4.0:
            score = 0.75
            issues.append(Issue(critic="pacing", scene_id=sf.scene_id, code="drags",
                                message=f"scene {sf.scene_id}: {readable:.1f}s for {words} words drags",
                                data={"need_s": round(need, 2), "shown_s": round(readable, 2), "words": words}))
        per.append({"scene": sf.scene_id, "words": words, "need_s": round(need, 2), "shown_s": round(readable, 2),
                    "narration_s": round(speech, 2), "score": round(score, 3)})
        total += score
    score = total / max(1, len(ev.scenes))
    passed = not any(i.code in ("too_fast", "narration_overrun") for i in issues)
    return CriticResult(name="pacing", score=score, passed=passed, threshold=1.0, issues=issues,
                        details={"reading_wpm": ev.settings.reading_wpm, "scenes": per})
