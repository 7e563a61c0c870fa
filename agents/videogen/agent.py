"""``VideoGenAgent``: brief (+ data from inputs and upstream agents) -> storyboard -> MP4, critiqued and refined.

Outputs go to ``ctx.artifact_dir``: the MP4, SRT subtitles, a poster PNG and the storyboard JSON. The
storyboard summary is remembered in shared memory so later tasks can find what was produced.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any, ClassVar, Literal

from genesis_agents.infrastructure.contracts import (
    Agent,
    AgentCard,
    AgentContext,
    AgentResult,
    Artifact,
    Skill,
    Task,
    Triple,
)
from genesis_agents.infrastructure.errors import BadInputError, CancelledError
from pydantic import Field

from .fonts import font_usable
from .inputs import gather
from .models import RenderSettings, Storyboard, Theme, VModel, build, resolution_list
from .planner import allocate_durations, duration_from_brief, natural_duration, plan_storyboard

DEFAULT_DURATION_S = 20.0


class VideoParams(VModel):
    """``task.params`` understood by VideoGen (all optional)."""

    duration_s: float | None = Field(default=None, gt=0, description="target length; default from the brief or 20")
    resolution: str | None = Field(default=None, description="'WIDTHxHEIGHT', e.g. '1280x720'")
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    crf: int | None = None
    preset: str | None = None
    font: str | None = Field(default=None, description="path of a TTF/OTF font (bundled DejaVu Sans if unreadable)")
    narration: Literal["auto", "on", "off"] | None = None
    max_rounds: int | None = Field(default=None, ge=0, le=5)
    theme: dict[str, Any] | None = None
    title: str | None = Field(default=None, max_length=200)
    cta: str | None = Field(default=None, max_length=200)
    storyboard: dict[str, Any] | None = Field(default=None, description="a ready storyboard to render")
    planner: Literal["auto", "deterministic", "llm"] = "auto"


def parse_params(raw: dict[str, Any]) -> tuple[VideoParams, list[str]]:
    """Validate ``task.params``. In a multi-agent plan every agent receives the whole task's params, so
    keys VideoGen does not know are set aside (and reported in the result) rather than failing the run;
    a ``videogen`` sub-dict addresses VideoGen alone and is checked strictly."""
    known = set(VideoParams.model_fields)
    own = raw.get("videogen")
    if own is not None and not isinstance(own, dict):
        raise BadInputError("expected an object of VideoGen parameters", field="params.videogen")
    top = {k: v for k, v in raw.items() if k in known}
    ignored = sorted(k for k in raw if k not in known and k != "videogen")
    scoped = build(VideoParams, own or {}, field="params.videogen")
    merged = {**top, **scoped.model_dump(exclude_unset=True)}
    return build(VideoParams, merged, field="params"), ignored


def _triples(board: Storyboard, video_name: str) -> list[Triple]:
    """Graph facts: the video and what its charts showed, so later questions can find it by topic."""
    out = [Triple(subject=board.title, predicate="rendered_as_video", object=video_name,
                  properties={"duration_s": board.duration_s, "scenes": len(board.scenes)})]
    for scene in board.scenes:
        if scene.chart is not None and scene.chart.title:
            out.append(Triple(subject=scene.chart.title, predicate="shown_in_video", object=board.title))
    return out


def _settings(params: VideoParams, base: dict[str, Any]) -> RenderSettings:
    cfg = dict(base)
    if params.resolution:
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", params.resolution)
        if not m:
            raise BadInputError(f"expected WIDTHxHEIGHT, got {params.resolution!r}", field="params.resolution",
                                hint=f"supported: {resolution_list()}")
        cfg["width"], cfg["height"] = int(m.group(1)), int(m.group(2))
    for key in ("width", "height", "fps", "crf", "preset", "narration"):
        value = getattr(params, key)
        if value is not None:
            cfg[key] = value
    if params.font:
        cfg["font_path"] = params.font
    return build(RenderSettings, cfg, field="params")


class VideoGenAgent(Agent):
    """Turns a brief and data into a short explainer/marketing video with a VISTA critique-and-refine loop."""

    card: ClassVar[AgentCard] = AgentCard(
        name="videogen",
        description=("Makes short explainer and marketing videos (H.264 MP4 with subtitles, optional narration) "
                     "from a text brief and data: title, bullet reveals, animated charts drawn from real numbers, "
                     "image pan/zoom and a call to action; every render is measured for legibility, pacing, "
                     "smoothness, duration and chart fidelity and refined until it passes."),
        version="0.1.0",
        cost_tier="medium",
        max_concurrency=2,
        tags=["video", "mp4", "storyboard", "animation", "marketing", "explainer", "subtitles"],
        provider="genesis",
        skills=[
            Skill(
                id="brief_to_video",
                name="Brief to video",
                description="Plan a storyboard from a brief and render it as a short MP4 with SRT subtitles.",
                examples=[
                    "Make a 20 second product video about our new invoicing app; call to action: try it free",
                    "Create a short explainer video on how our onboarding works",
                    "Render a 15-second promo clip announcing the spring sale",
                ],
                tags=["video", "marketing", "explainer", "promo", "clip", "animation"],
                task_types=["video", "marketing_video", "explainer"],
                input_types=[".json", ".png", ".jpg", ".jpeg", ".webp", "application/json", "image/png",
                             "image/jpeg", "image/webp"],
                output_types=["video/mp4", "application/x-subrip", "image/png", "application/json"],
            ),
            Skill(
                id="findings_to_video",
                name="Findings to video",
                description=("Turn analysis findings and chart data (e.g. from DeepAnalyze) into a video whose "
                             "charts show the real numbers, checked frame by frame. Given a raw table, the "
                             "analysis is delegated first."),
                examples=[
                    "Analyse the churn table and make a video of the findings",
                    "Make a video presenting the quarterly revenue chart for the sales team",
                    "Turn these KPI results into a 30-second animated summary video",
                ],
                tags=["video", "chart", "findings", "data", "presentation", "summary"],
                task_types=["video", "data_video"],
                input_types=[".json", "application/json", ".csv", ".tsv", ".parquet", ".xlsx", ".xls", ".jsonl",
                             ".db", ".sqlite", ".duckdb"],
                output_types=["video/mp4", "application/x-subrip", "image/png", "application/json"],
            ),
            Skill(
                id="storyboard",
                name="Storyboard",
                description="Render a given storyboard (JSON) to MP4 and report its critique scores.",
                examples=["Render this storyboard JSON as a 1080p video"],
                tags=["video", "storyboard", "render"],
                task_types=["video", "render"],
                input_types=[".json"],
                output_types=["video/mp4", "application/json"],
            ),
        ],
    )
    tunables: ClassVar[dict[str, dict[str, Any]]] = {
        "max_rounds": {"type": "int", "default": 2, "min": 0, "max": 5,
                       "description": "critique-and-refine rounds after the first render"},
        "fps": {"type": "choice", "default": 24, "choices": [12, 24, 30]},
        "crf": {"type": "int", "default": 23, "min": 16, "max": 32},
        "preset": {"type": "choice", "default": "veryfast", "choices": ["ultrafast", "veryfast", "fast"]},
        "crossfade_s": {"type": "float", "default": 0.5, "min": 0.0, "max": 1.5},
    }

    async def run(self, task: Task, ctx: AgentContext) -> AgentResult:
        params, ignored = parse_params(task.params)
        base = {k: self.config[k] for k in ("fps", "crf", "preset", "crossfade_s") if self.config.get(k) is not None}
        settings = _settings(params, base)
        brief = task.text.strip()
        if not brief:
            raise BadInputError("the brief is empty", field="text")
        inputs, upstream = await _analyse_tables(task, ctx)
        material = gather(inputs, upstream)
        duration = params.duration_s or duration_from_brief(brief)
        if duration is None and params.storyboard is None and material.storyboard is None:
            duration = natural_duration(brief, material, settings, default_s=DEFAULT_DURATION_S, title=params.title,
                                        cta=params.cta)
        duration = duration or DEFAULT_DURATION_S
        theme = build(Theme, {**Theme().model_dump(), **material.theme, **(params.theme or {})}, field="params.theme")
        ctx.emit(f"material: {material.describe()}", progress=0.01)

        board = await self._plan(brief, material, settings, duration, theme, params, ctx)
        if ignored:
            board = board.model_copy(update={"notes": [*board.notes, f"ignored params: {', '.join(ignored)}"]})
        if settings.font_path and not font_usable(settings.font_path):
            note = f"font {settings.font_path} is not readable; the bundled DejaVu Sans is used"
            board = board.model_copy(update={"notes": [*board.notes, note]})
            settings = settings.model_copy(update={"font_path": None})
        ctx.emit(f"storyboard: {len(board.scenes)} scenes ({board.source})", progress=0.03,
                 storyboard=board.summary())
        ctx.check_cancelled()

        loop = asyncio.get_running_loop()

        def progress(message: str, fraction: float) -> None:
            loop.call_soon_threadsafe(lambda: ctx.emit(message, progress=max(0.03, fraction)))

        from .pipeline import run_vista

        max_rounds = params.max_rounds if params.max_rounds is not None else int(self.config.get("max_rounds") or 0)
        abandoned = threading.Event()  # set when our awaiting coroutine is cancelled (timeout, shutdown)

        def check_cancelled() -> None:
            if abandoned.is_set():
                raise CancelledError("video rendering was abandoned (timeout or shutdown)")
            ctx.check_cancelled()

        try:
            out = await asyncio.to_thread(run_vista, board, settings, ctx.artifact_dir, max_rounds=max_rounds,
                                          progress=progress, check_cancelled=check_cancelled)
        except asyncio.CancelledError:
            abandoned.set()  # the worker thread stops at its next frame check instead of rendering on
            raise
        info = out.chosen.info
        meta = {"width": info.width, "height": info.height, "fps": info.fps, "duration_s": round(info.duration_s, 3),
                "frames": info.frames}
        artifacts = [
            Artifact.from_path(out.video, description=f"video: {out.board.title}", codec=info.codec,
                               audio=info.audio, **meta),
            Artifact.from_path(out.subtitles, description="subtitles (SRT)", **meta),
            Artifact.from_path(out.poster, description="poster frame", width=info.width, height=info.height),
            Artifact.from_path(out.storyboard_json, description="storyboard, timeline and critique", **meta),
        ]
        artifacts[1] = artifacts[1].model_copy(update={"media_type": "application/x-subrip"})
        data = out.data()
        item = await ctx.memory.remember(
            out.board.summary_text(), kind="summary", tags=["videogen", "storyboard", "video"],
            metadata={"scenes": len(out.board.scenes), "duration_s": round(info.duration_s, 3),
                      "critique_after": out.after.overall, "video": str(out.video)},
            provenance={"agent": "videogen", "brief": brief[:500], "sources": material.sources},
            triples=_triples(out.board, out.video.name),
        )
        data["memory_id"] = item.id
        data["ignored_params"] = ignored
        before, after = out.before.overall, out.after.overall
        text = (f"Rendered '{out.board.title}': {info.duration_s:.1f}s {info.width}x{info.height} at "
                f"{info.fps:g} fps, {len(out.board.scenes)} scenes"
                f"{' with narration' if out.narrated else ''}. Critique {before:.2f} -> {after:.2f} after "
                f"{len(out.rounds)} round{'s' if len(out.rounds) != 1 else ''}"
                f"{'' if out.after.passed else ' (open issues: ' + '; '.join(i.message for i in out.after.issues[:3]) + ')'}.")
        return AgentResult(status="ok", text=text, data=data, artifacts=artifacts, citations=[item.id],
                           agent=self.name)

    async def _plan(self, brief: str, material: Any, settings: RenderSettings, duration: float, theme: Theme,
                    params: VideoParams, ctx: AgentContext) -> Storyboard:
        given = params.storyboard or material.storyboard
        if given is not None:
            data = {"target_duration_s": duration, "title": brief[:120], **given, "source": "user"}
            board = build(Storyboard, data, field="params.storyboard")
            if abs(board.duration_s - board.target_duration_s) > 1e-6 and "target_duration_s" not in given:
                board = allocate_durations(board, settings, strict=False)
            return board
        use_llm = params.planner == "llm" or (params.planner == "auto" and ctx.llm is not None)
        if use_llm:
            if ctx.llm is None:
                raise BadInputError("planner 'llm' needs an LLM (none is configured)", field="params.planner")
            from .llm_planner import plan_with_llm

            return await plan_with_llm(ctx.llm, brief, material, settings, duration_s=duration, theme=theme,
                                       title=params.title, cta=params.cta)
        return plan_storyboard(brief, material, settings, duration_s=duration, title=params.title, cta=params.cta,
                               theme=theme)


TABLE_SUFFIXES = {".csv", ".tsv", ".parquet", ".xlsx", ".xls", ".jsonl", ".db", ".sqlite", ".duckdb"}


async def _analyse_tables(task: Task, ctx: AgentContext) -> tuple[list[Any], dict[str, AgentResult]]:
    """A raw table with no analysis upstream: delegate the analysis (through the router) and film its findings.

    VideoGen draws numbers, it does not compute them; whoever the router picks for the table does.
    """
    tables = [i for i in task.inputs if i.suffix in TABLE_SUFFIXES]
    others = [i for i in task.inputs if i.suffix not in TABLE_SUFFIXES]
    analysed = any(r.status == "ok" and (r.data or {}).get("findings") for r in ctx.upstream.values())
    if not tables or analysed:
        return others if tables else list(task.inputs), dict(ctx.upstream)
    ctx.emit(f"delegating the analysis of {', '.join(t.name for t in tables)}", progress=0.0)
    result = await ctx.delegate(Task(text=task.text, task_type="analytics", inputs=tables))
    if result.status != "ok":
        raise BadInputError(f"the table could not be analysed for the video: {result.error or result.text}",
                            field="inputs", hint="give the findings as JSON, or analyse the table first")
    return others, {**ctx.upstream, "delegated-analysis": result}
