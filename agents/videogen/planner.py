"""Deterministic planner: brief + material -> storyboard, and the duration allocator every planner uses.

Scene order: title, findings (bullets, at most three per scene), one scene per chart (large charts are
split), images with pan/zoom, call to action. Durations come from reading time (words at the reading
speed, plus entrance animations and the cross-fade) and, where narration exists, from its spoken length;
the slack up to the target duration is shared in proportion. If even a brisk reading speed cannot fit
the text into the target, the planner says so with a ``BadInputError`` naming ``duration_s``.
"""

from __future__ import annotations

import re
from pathlib import Path

from genesis_agents.infrastructure.errors import BadInputError

from .critics.pacing import required_s
from .inputs import Material
from .models import ChartSpec, RenderSettings, Scene, Storyboard, Theme, build

MAX_BULLETS = 3
MAX_BULLET_CHARS = 120
MIN_SCENE_S = 1.5
FAST_READING = 1.3  # how much faster than the comfortable speed we may ask viewers to read

_VERB = (r"^(?:please\s+)?(?:(?:make|create|produce|render|generate|build|prepare|turn\s+\S+\s+into)\s+)?"
         r"(?:me\s+|us\s+)?(?:an?\s+|the\s+)?(?:\d+[- ]?(?:s|sec|second|seconds)\s+|short\s+|quick\s+)*"
         r"(?:marketing\s+|explainer\s+|promo(?:tional)?\s+|product\s+|social\s+|animated\s+)*"
         r"(?:video|clip|movie|animation|explainer)\s+(?:about|on|of|for|explaining|showing|that\s+shows|"
         r"presenting|summari[sz]ing)\s+")
_ANALYSE = r"^(?:please\s+)?(?:analy[sz]e|study|look\s+at|examine)\s+.+?\s+and\s+(?:then\s+)?"
_URL = re.compile(r"(https?://\S+|www\.\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|ai|co|app|dev|eu|de|uk)"
                  r"\b(?:/\S*)?)", re.IGNORECASE)
_CTA = re.compile(r"(?:call[- ]to[- ]action|cta)\s*[:=-]\s*(.+?)(?:[.;]\s|$)", re.IGNORECASE)
_DURATION = re.compile(r"(\d{1,3})\s*[- ]?(?:s|sec|secs|second|seconds)\b", re.IGNORECASE)
_TIMEY = re.compile(r"^(?:\d{4}(?:[-/]\d{1,2})?|q[1-4]\b.*|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*"
                    r"(?:\s+\d{2,4})?|(?:week|month|day|year)\s*\d+)$", re.IGNORECASE)


def duration_from_brief(brief: str) -> float | None:
    """'a 30-second video' -> 30.0 (used when no explicit duration was given)."""
    m = _DURATION.search(brief)
    return float(m.group(1)) if m and 3 <= int(m.group(1)) <= 600 else None


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" .;:,-")


def topic_of(brief: str) -> str:
    """The subject of the brief without the request around it ('Make a video about X for Y' -> 'X')."""
    text = _clean(brief.splitlines()[0] if brief.strip() else brief)
    text = re.sub(_ANALYSE, "", text, flags=re.IGNORECASE)
    text = re.sub(_VERB, "", text, flags=re.IGNORECASE)
    text = re.split(r"(?<=[a-z0-9%])[.!?]\s", text)[0]
    text = _CTA.sub("", _URL.sub("", text))
    return _clean(text)


GENERIC = {"the findings", "findings", "the results", "results", "it", "this", "the data", "the analysis",
           "the numbers", "our findings", "these findings", "key findings"}


def title_and_subtitle(brief: str, material: Material) -> tuple[str, str]:
    topic = topic_of(brief)
    title, subtitle = topic, ""
    m = re.search(r"\s+(for|to)\s+(the\s+|our\s+)?(\w[\w\s-]{2,40})$", topic)
    if m and m.start() > 2:
        title = topic[: m.start()]
        subtitle = f"For the {m.group(3)}" if m.group(1) == "for" else ""
    if not title or title.lower() in GENERIC:
        title = material.charts[0].title if material.charts and material.charts[0].title else "Key findings"
    words = title.split()
    if len(words) > 9:
        title, rest = " ".join(words[:9]), " ".join(words[9:])
        subtitle = subtitle or rest
    title = title[:1].upper() + title[1:]
    if not subtitle and material.findings:
        subtitle = f"{len(material.findings)} key finding{'s' if len(material.findings) != 1 else ''}"
    return title, subtitle


def _brief_points(brief: str) -> list[str]:
    """Statements in the brief after its first sentence (used when no findings were supplied)."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+|\n+|;\s*|^\s*[-*•]\s*", brief) if p and p.strip()]
    out = [_clean(p) for p in parts[1:]]
    return [p for p in out if len(p.split()) >= 3 and not _CTA.search(p)]


def _split_long(text: str, limit: int = MAX_BULLET_CHARS) -> list[str]:
    if len(text) <= limit:
        return [text]
    pieces = [p.strip() for p in re.split(r"(?<=[.;:,])\s+", text) if p.strip()]
    out, cur = [], ""
    for p in pieces:
        if cur and len(cur) + 1 + len(p) > limit:
            out.append(cur)
            cur = p
        else:
            cur = f"{cur} {p}".strip()
    if cur:
        out.append(cur)
    final: list[str] = []
    for o in out:  # still too long: cut at a word boundary
        while len(o) > limit:
            cut = o.rfind(" ", 0, limit)
            cut = cut if cut > 20 else limit
            final.append(o[:cut].strip())
            o = o[cut:].strip()
        final.append(o)
    return final


def _max_bars(settings: RenderSettings) -> int:
    return max(3, min(8, settings.width // 110))


def _chart_scenes(chart: ChartSpec, settings: RenderSettings, start: int) -> list[Scene]:
    kind = chart.kind
    if kind == "bar" and len(chart.labels) >= 4 and all(_TIMEY.match(lbl.strip()) for lbl in chart.labels):
        kind = "line"
    size = _max_bars(settings) if kind == "bar" else 12
    chunks = [(chart.labels[i:i + size], chart.values[i:i + size]) for i in range(0, len(chart.labels), size)]
    scenes = []
    for j, (labels, values) in enumerate(chunks):
        title = chart.title or "The numbers"
        if len(chunks) > 1:
            title = f"{title} ({j + 1}/{len(chunks)})"
        spec = ChartSpec(kind=kind if len(values) >= 2 else "bar", title=title, labels=labels, values=values,
                         unit=chart.unit)
        hi = max(range(len(values)), key=lambda k: values[k])
        lo = min(range(len(values)), key=lambda k: values[k])
        narr = f"{title}. {labels[hi]} is highest at {spec.format(values[hi])}"
        narr += f"; {labels[lo]} is lowest at {spec.format(values[lo])}." if lo != hi else "."
        scenes.append(Scene(id=f"s{start + j}", kind="chart", chart=spec, narration=narr, duration_s=1.0))
    return scenes


def _caption(path: str) -> str:
    stem = re.sub(r"[_-]+", " ", Path(path).stem).strip()
    return stem[:1].upper() + stem[1:] if stem else ""


def cta_text(brief: str, cta: str | None) -> tuple[str, str]:
    """(action, link) for the last scene: explicit text, a 'call to action:' clause, a URL, or a sign-off."""
    text = cta
    if text is None:
        m = _CTA.search(brief)
        text = _clean(m.group(1)) if m else None
    url = _URL.search(text or brief)
    link = url.group(1).rstrip(".,;") if url else ""
    if text:
        action = _clean(re.sub(r"\s+(?:at|on|via|from)\s*$", "", _URL.sub("", text).strip()))
        action = action or "Learn more"
        return action[:1].upper() + action[1:], link
    if link:
        return "Learn more", link
    return "Thanks for watching", ""


def plan_scenes(brief: str, material: Material, settings: RenderSettings, *, title: str | None = None,
                cta: str | None = None) -> list[Scene]:
    """Scenes without durations (each gets 1 s; ``allocate_durations`` sets the real ones)."""
    head, sub = title_and_subtitle(brief, material)
    head = title or head
    scenes: list[Scene] = [Scene(id="s1", kind="title", title=head, subtitle=sub,
                                 narration=f"{head}. {sub}." if sub else f"{head}.", duration_s=1.0)]
    points: list[str] = []
    for f in material.findings or _brief_points(brief):
        points.extend(p[:1].upper() + p[1:] for p in _split_long(f))
    groups = [points[i:i + MAX_BULLETS] for i in range(0, len(points), MAX_BULLETS)]
    for j, group in enumerate(groups):
        heading = "Key findings" if material.findings else "Highlights"
        if len(groups) > 1:
            heading += f" ({j + 1}/{len(groups)})"
        scenes.append(Scene(id=f"s{len(scenes) + 1}", kind="bullets", title=heading, bullets=group,
                            narration=" ".join(p if p.endswith(".") else p + "." for p in group), duration_s=1.0))
    for chart in material.charts:
        scenes.extend(_chart_scenes(chart, settings, len(scenes) + 1))
    images = material.images or ([] if material.charts else material.upstream_images[:3])
    for k, img in enumerate(images):
        cap = _caption(img)
        scenes.append(Scene(id=f"s{len(scenes) + 1}", kind="image", image_path=img, title=cap, backdrop=True,
                            pan=(0.6 if k % 2 == 0 else -0.6, 0.3), narration=f"{cap}." if cap else "",
                            duration_s=1.0))
    act, link = cta_text(brief, cta)
    scenes.append(Scene(id=f"s{len(scenes) + 1}", kind="cta", title=act, subtitle=link,
                        narration=f"{act}. {link}." if link else f"{act}.", duration_s=1.0))
    return scenes


def scene_need_s(scene: Scene, settings: RenderSettings, *, speech_s: float = 0.0, speed: float = 1.0,
                 is_last: bool = False) -> float:
    """Shortest comfortable duration: reading (or speaking) time, entrance animation and outgoing fade."""
    read = required_s(scene.words(), round(settings.reading_wpm * speed))
    fade = 0.0 if is_last or scene.transition == "cut" else (settings.crossfade_s if scene.fade_s is None
                                                                else scene.fade_s)
    show = max(read, scene.reveal_end_s() + 0.8)
    return max(MIN_SCENE_S, show + fade, speech_s + 0.3)


def allocate_durations(board: Storyboard, settings: RenderSettings, *, speech_s: dict[str, float] | None = None,
                       strict: bool = True) -> Storyboard:
    """Set scene durations so they sum to the target (frame-aligned) and each scene is readable."""
    speech_s = speech_s or {}
    target = board.target_duration_s
    last = len(board.scenes) - 1
    speed = 1.0
    needs = [scene_need_s(s, settings, speech_s=speech_s.get(s.id, 0.0), is_last=i == last)
             for i, s in enumerate(board.scenes)]
    notes = list(board.notes)
    if sum(needs) > target:
        speed = FAST_READING
        needs = [scene_need_s(s, settings, speech_s=speech_s.get(s.id, 0.0), speed=speed, is_last=i == last)
                 for i, s in enumerate(board.scenes)]
        if sum(needs) > target and strict:
            raise BadInputError(
                f"the text needs at least {sum(needs):.1f}s to read ({len(board.scenes)} scenes, "
                f"{sum(s.words() for s in board.scenes)} words) but the target is {target:.1f}s",
                field="duration_s", hint=f"ask for at least {sum(needs):.0f} seconds or shorten the text",
                needed_s=round(sum(needs), 1))
        notes.append(f"text is dense: paced for {round(settings.reading_wpm * speed)} words per minute")
    total_need = sum(needs)
    slack = max(0.0, target - total_need)
    durs = [n + slack * n / total_need for n in needs] if total_need else [target / len(needs)] * len(needs)
    fps = settings.fps
    # frame-align cumulatively so the sum is exactly round(target * fps) frames
    out, acc, prev = [], 0.0, 0
    for d in durs:
        acc += d
        frames = round(acc * fps)
        out.append(max(1, frames - prev) / fps)
        prev = frames
    scenes = [s.model_copy(update={"duration_s": round(d, 6)}) for s, d in zip(board.scenes, out)]
    return board.model_copy(update={"scenes": scenes, "notes": notes})


def natural_duration(brief: str, material: Material, settings: RenderSettings, *, default_s: float = 20.0,
                     title: str | None = None, cta: str | None = None) -> float:
    """A length that suits the content when none was asked for: 1.5x the comfortable minimum, at least
    6 s, at most ``default_s`` unless the content needs more."""
    scenes = plan_scenes(brief, material, settings, title=title, cta=cta)
    last = len(scenes) - 1
    need = sum(scene_need_s(s, settings, is_last=i == last) for i, s in enumerate(scenes))
    return float(round(max(need, min(default_s, max(6.0, need * 1.5)))))


def plan_storyboard(brief: str, material: Material, settings: RenderSettings, *, duration_s: float,
                    title: str | None = None, cta: str | None = None, theme: Theme | None = None) -> Storyboard:
    """The deterministic plan (used without an LLM, and as the fallback when an LLM plan is rejected)."""
    if not brief or not brief.strip():
        raise BadInputError("the brief is empty", field="text", hint="describe the video you want")
    if duration_s > settings.max_duration_s:
        raise BadInputError(f"duration {duration_s}s exceeds the limit of {settings.max_duration_s}s",
                            field="duration_s")
    scenes = plan_scenes(brief, material, settings, title=title, cta=cta)
    th = theme or build(Theme, {**Theme().model_dump(), **material.theme}, field="theme")
    board = Storyboard(title=scenes[0].title, brief=brief.strip(), target_duration_s=duration_s, scenes=scenes,
                       theme=th, logo_path=material.logo, source="deterministic",
                       notes=[f"material: {material.describe()}"])
    return allocate_durations(board, settings)
