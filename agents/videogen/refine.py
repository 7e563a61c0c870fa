"""VISTA's refine step: turn the critics' measured issues into storyboard edits.

Each issue code maps to one edit, applied to the scene it was found in: low contrast -> a text colour
chosen against the *measured* background (plus a backdrop on images); text that does not fit -> split
the scene; animation still running at the end / chart bars short of their values -> faster entrance
and more time; too fast for reading or narration -> time borrowed from scenes with slack; abrupt jumps
-> longer fades and entrances; duration mismatch -> durations re-aligned to the target.
"""

from __future__ import annotations

from .critics.base import Critique
from .models import RenderSettings, Scene, Storyboard
from .planner import allocate_durations, scene_need_s
from .render.colors import best_text_colour, contrast_ratio, hex_rgb


def _split(scene: Scene) -> list[Scene] | None:
    if scene.kind == "bullets" and len(scene.bullets) > 1:
        half = (len(scene.bullets) + 1) // 2
        parts = [scene.bullets[:half], scene.bullets[half:]]
        return [scene.model_copy(update={"id": f"{scene.id}{tag}", "bullets": b, "duration_s": scene.duration_s / 2,
                                         "narration": " ".join(x if x.endswith(".") else x + "." for x in b)})
                for tag, b in zip("ab", parts)]
    if scene.kind == "chart" and scene.chart is not None and len(scene.chart.values) > 3:
        c = scene.chart
        half = (len(c.values) + 1) // 2
        out = []
        for tag, sl in zip("ab", (slice(0, half), slice(half, None))):
            spec = c.model_copy(update={"labels": c.labels[sl], "values": c.values[sl],
                                        "kind": c.kind if len(c.values[sl]) >= 2 else "bar"})
            out.append(scene.model_copy(update={"id": f"{scene.id}{tag}", "chart": spec,
                                                "duration_s": scene.duration_s / 2}))
        return out
    return None


def refine(board: Storyboard, crit: Critique, settings: RenderSettings, *,
           speech_s: dict[str, float] | None = None) -> tuple[Storyboard, list[str]]:
    """Return an edited storyboard and the list of edits made (empty = nothing left to fix)."""
    scenes = {s.id: s for s in board.scenes}
    order = [s.id for s in board.scenes]
    actions: list[str] = []
    extra_need: dict[str, float] = {}
    to_split: set[str] = set()

    def upd(sid: str, **changes: object) -> None:
        scenes[sid] = scenes[sid].model_copy(update=changes)

    seen: set[tuple[str, str]] = set()
    for issue in crit.issues:
        sid = issue.scene_id
        if sid is None or sid not in scenes or (sid, issue.code) in seen:
            continue
        seen.add((sid, issue.code))
        sc = scenes[sid]
        code = issue.code
        if code == "low_contrast":
            bg = issue.data.get("bg_rgb") or hex_rgb(board.theme.background)
            cands = [board.theme.text, "#ffffff", "#0b0b0b"]
            colour = best_text_colour(bg, cands)
            if sc.kind == "image" and not sc.backdrop:
                upd(sid, backdrop=True, text_color=None)
                actions.append(f"{sid}: add a backdrop behind the caption")
            elif colour != sc.text_color and contrast_ratio(hex_rgb(colour), bg) > issue.data.get("contrast", 0):
                upd(sid, text_color=colour)
                actions.append(f"{sid}: text colour {colour} (contrast {contrast_ratio(hex_rgb(colour), bg):.1f}:1)")
        elif code == "too_small":
            ratio = float(issue.data.get("required", 1)) / max(1.0, float(issue.data.get("text_px", 1)))
            new = min(2.5, round(sc.font_scale * max(1.1, ratio * 1.05), 2))
            if new != sc.font_scale:
                upd(sid, font_scale=new)
                actions.append(f"{sid}: font scale {new}")
        elif code in ("overflow", "outside_safe"):
            if _split(sc) is not None:
                to_split.add(sid)
            elif sc.font_scale > 0.6:
                upd(sid, font_scale=round(sc.font_scale * 0.85, 2))
                actions.append(f"{sid}: smaller text to fit the safe area")
        elif code in ("not_settled", "invisible", "value_mismatch"):
            if sc.reveal_s > 0.2:
                upd(sid, reveal_s=round(max(0.2, sc.reveal_s * 0.6), 3))
                actions.append(f"{sid}: faster entrance ({scenes[sid].reveal_s}s) so it completes on screen")
            extra_need[sid] = max(extra_need.get(sid, 0.0), 0.5)
        elif code == "jump":
            if issue.data.get("in_fade"):
                fade = min(1.5, max(0.8, (sc.fade_s or settings.crossfade_s) * 2))
                if sc.fade_s != fade:
                    upd(sid, fade_s=fade, transition="crossfade")
                    actions.append(f"{sid}: longer cross-fade ({fade}s)")
            elif sc.reveal_s < 1.5:
                upd(sid, reveal_s=round(min(1.5, max(0.5, sc.reveal_s * 1.8)), 3))
                actions.append(f"{sid}: gentler entrance ({scenes[sid].reveal_s}s)")
        elif code in ("too_fast", "narration_overrun"):
            gap = float(issue.data.get("need_s", 0)) - float(issue.data.get("shown_s", 0))
            extra_need[sid] = max(extra_need.get(sid, 0.0), gap + 0.05)

    # time: give needy scenes what they lack, taken from scenes that have slack, keeping the total
    if extra_need:
        last = order[-1]
        spoken = speech_s or {}
        slack = {sid: max(0.0, scenes[sid].duration_s - scene_need_s(scenes[sid], settings, is_last=sid == last,
                                                                      speech_s=spoken.get(sid, 0.0)))
                 for sid in order if sid not in extra_need}
        want = sum(extra_need.values())
        pool = sum(slack.values())
        take = min(want, pool)
        for sid, extra in extra_need.items():
            upd(sid, duration_s=round(scenes[sid].duration_s + extra, 4))
        if pool > 0:
            for sid, s in slack.items():
                upd(sid, duration_s=round(scenes[sid].duration_s - take * s / pool, 4))
        actions.append(f"re-timed {', '.join(extra_need)} (+{want:.1f}s, {take:.1f}s borrowed)")
        if want > pool + 1e-6:
            actions.append(f"text needs {want - pool:.1f}s more than the target allows")

    new_order: list[Scene] = []
    for sid in order:
        parts = _split(scenes[sid]) if sid in to_split else None
        if parts:
            actions.append(f"{sid}: split into {len(parts)} scenes to fit the safe area")
            new_order.extend(parts)
        else:
            new_order.append(scenes[sid])
    refined = board.model_copy(update={"scenes": new_order, "source": "refined",
                                       "notes": board.notes + [f"refine: {a}" for a in actions]})
    duration_issue = crit.get("duration")
    if to_split or (duration_issue is not None and not duration_issue.passed):
        refined = allocate_durations(refined, settings, speech_s=speech_s, strict=False)
        if duration_issue is not None and not duration_issue.passed:
            actions.append("durations re-aligned to the target")
    return refined, actions
