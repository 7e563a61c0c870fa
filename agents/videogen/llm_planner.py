"""LLM planner: asks an injected LangChain chat model for a storyboard as JSON, validates it, or falls back.

The model never writes numbers into charts: chart scenes refer to the supplied datasets by index, so a
video about an analysis shows the analysis' real figures. The reply is checked against a JSON schema and
then against the storyboard model; one repair round is attempted with the validation error, after which
the deterministic planner takes over (and the storyboard's notes say why).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from genesis_agents.infrastructure.errors import BadInputError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from .inputs import Material
from .models import RenderSettings, Scene, Storyboard, Theme, build
from .planner import MAX_BULLETS, allocate_durations, plan_storyboard

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "scenes"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 120},
        "scenes": {
            "type": "array", "minItems": 2, "maxItems": 12,
            "items": {
                "type": "object", "required": ["kind"], "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["title", "bullets", "chart", "image", "cta"]},
                    "title": {"type": "string", "maxLength": 120},
                    "subtitle": {"type": "string", "maxLength": 160},
                    "bullets": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 160},
                                "maxItems": MAX_BULLETS + 1},
                    "chart": {"type": "integer", "minimum": 0, "description": "index into DATASETS"},
                    "image": {"type": "integer", "minimum": 0, "description": "index into IMAGES"},
                    "narration": {"type": "string", "maxLength": 400},
                    "transition": {"enum": ["crossfade", "cut"]},
                },
            },
        },
    },
}

SYSTEM = (
    "You plan short explainer and marketing videos. Reply with one JSON object only, no prose, matching "
    "this JSON schema:\n{schema}\nRules: start with a 'title' scene and end with a 'cta' scene; at most "
    f"{MAX_BULLETS + 1} short bullets per 'bullets' scene; a 'chart' scene gives the index of a dataset in "
    "DATASETS (never write numbers of your own into a chart); an 'image' scene gives an index into IMAGES; "
    "'narration' is one or two spoken sentences."
)


def extract_json(text: str) -> Any:
    """The first JSON object in a reply (tolerates ```json fences and chatter around it)."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.DOTALL)
    candidate = fenced.group(1) if fenced else text[text.find("{"): text.rfind("}") + 1]
    if not candidate:
        raise ValueError("the reply contains no JSON object")
    return json.loads(candidate)


def _to_board(obj: Any, brief: str, material: Material, settings: RenderSettings, duration_s: float,
              theme: Theme) -> Storyboard:
    jsonschema.validate(obj, SCHEMA)
    scenes: list[Scene] = []
    for i, raw in enumerate(obj["scenes"]):
        d: dict[str, Any] = {"id": f"s{i + 1}", "kind": raw["kind"], "duration_s": 1.0}
        for key in ("title", "subtitle", "bullets", "narration", "transition"):
            if key in raw:
                d[key] = raw[key]
        if raw["kind"] == "chart":
            idx = raw.get("chart")
            if idx is None or idx >= len(material.charts):
                raise ValueError(f"scenes[{i}].chart must be an index below {len(material.charts)}")
            d["chart"] = material.charts[idx]
        if raw["kind"] == "image":
            images = material.images or material.upstream_images
            idx = raw.get("image")
            if idx is None or idx >= len(images):
                raise ValueError(f"scenes[{i}].image must be an index below {len(images)}")
            d["image_path"] = images[idx]
            d["backdrop"] = True
        scenes.append(build(Scene, d, field=f"scenes[{i}]"))
    board = Storyboard(title=obj["title"], brief=brief, target_duration_s=duration_s, scenes=scenes, theme=theme,
                       logo_path=material.logo, source="llm", notes=[f"material: {material.describe()}"])
    return allocate_durations(board, settings)


async def plan_with_llm(llm: BaseChatModel, brief: str, material: Material, settings: RenderSettings, *,
                        duration_s: float, theme: Theme, title: str | None = None, cta: str | None = None
                        ) -> Storyboard:
    """Plan with the LLM; on an invalid plan, repair once, then fall back to the deterministic planner."""
    datasets = [{"index": i, "title": c.title, "kind": c.kind, "labels": c.labels, "values": c.values,
                 "unit": c.unit} for i, c in enumerate(material.charts)]
    images = [{"index": i, "file": p.rsplit("/", 1)[-1]}
              for i, p in enumerate(material.images or material.upstream_images)]
    user = (f"BRIEF: {brief}\nTARGET DURATION: {duration_s:.0f} seconds\n"
            f"FINDINGS: {json.dumps(material.findings)}\nDATASETS: {json.dumps(datasets)}\n"
            f"IMAGES: {json.dumps(images)}\n" + (f"TITLE: {title}\n" if title else "")
            + (f"CALL TO ACTION: {cta}\n" if cta else ""))
    messages: list[Any] = [SystemMessage(SYSTEM.format(schema=json.dumps(SCHEMA))), HumanMessage(user)]
    errors: list[str] = []
    for _attempt in range(2):
        reply = await llm.ainvoke(messages)
        text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        try:
            return _to_board(extract_json(text), brief, material, settings, duration_s, theme)
        except (ValueError, jsonschema.ValidationError, BadInputError) as exc:
            msg = exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
            errors.append(msg[:300])
            messages += [reply, HumanMessage(f"That plan is invalid: {msg[:300]}. Reply with corrected JSON only.")]
    board = plan_storyboard(brief, material, settings, duration_s=duration_s, title=title, cta=cta, theme=theme)
    return board.model_copy(update={"notes": board.notes + [f"llm plan rejected: {errors[-1]}"]})
