"""Collect the material a video is made from: findings, chart data, images, logo, brand colours.

Sources, in order: the task's inputs (JSON files, inline data, image files) and the results of upstream
subtasks (``ctx.upstream``), e.g. DeepAnalyze's ``findings`` list and ``chart_data`` dict. Numbers are
taken as given — the storyboard must show the real figures — and anything malformed is reported with
the input it came from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_agents.infrastructure.contracts import AgentResult, TaskInput
from genesis_agents.infrastructure.errors import BadInputError
from PIL import Image, UnidentifiedImageError

from .models import ChartSpec, Theme, build

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_FINDINGS = 24


@dataclass
class Material:
    findings: list[str] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    upstream_images: list[str] = field(default_factory=list)
    logo: str | None = None
    theme: dict[str, Any] = field(default_factory=dict)
    storyboard: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"{len(self.findings)} findings, {len(self.charts)} charts, {len(self.images)} images"
                + (", logo" if self.logo else ""))


def _check_image(path: Path, field_name: str) -> str:
    if not path.is_file():
        raise BadInputError(f"image file not found: {path}", field=field_name)
    try:
        with Image.open(path) as im:
            im.verify()
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise BadInputError(f"cannot read image {path.name} ({exc.__class__.__name__})", field=field_name,
                            hint="give a PNG, JPEG or WebP file") from None
    return str(path.resolve())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


BAR_KINDS = {"bar", "barh", "column", "hist", "histogram"}
LINE_KINDS = {"line", "area", "forecast", "timeseries"}
UPSTREAM_MAX_BARS = 16
UPSTREAM_MAX_POINTS = 12


def _normalise(obj: dict[str, Any], *, lenient: bool) -> dict[str, Any] | None:
    """Map a producer's chart dict (e.g. DeepAnalyze's ``chart_data``) onto ``ChartSpec`` fields.

    Kinds we cannot animate faithfully (scatter, heatmap, multi-series) are skipped when ``lenient``
    (upstream data) and reported otherwise. Points without a value are dropped; long upstream series
    keep their most recent points (lines) or first bars, which is what fits in a short video.
    """
    kind = str(obj.get("kind") or "bar").lower()
    if kind in BAR_KINDS:
        kind = "bar"
    elif kind in LINE_KINDS:
        kind = "line"
    elif lenient:
        return None
    labels = [str(x) for x in obj.get("labels") or []]
    values = list(obj.get("values") or [])
    if lenient:
        pairs = [(lbl, v) for lbl, v in zip(labels, values) if _is_number(v)]
        if not pairs:
            return None
        if kind == "line":
            pairs = pairs[-UPSTREAM_MAX_POINTS:]
        else:
            pairs = pairs[:UPSTREAM_MAX_BARS]
        labels, values = [p[0] for p in pairs], [float(p[1]) for p in pairs]
        if kind == "line" and len(values) < 2:
            kind = "bar"
    title = obj.get("title") or obj.get("y_label") or ""
    return {"kind": kind, "title": str(title), "labels": labels, "values": values, "unit": str(obj.get("unit") or "")}


def _chart_from(obj: Any, field_name: str, *, lenient: bool = False) -> ChartSpec | None:
    """Accept {'labels','values',...}, {label: number, ...} or [{'label': .., 'value': ..}, ...]."""
    if isinstance(obj, dict) and "labels" in obj and "values" in obj:
        data = _normalise(obj, lenient=lenient)
        return None if data is None else build(ChartSpec, data, field=field_name)
    if isinstance(obj, dict) and obj and all(_is_number(v) for v in obj.values()):
        return build(ChartSpec, {"labels": [str(k) for k in obj], "values": list(obj.values())}, field=field_name)
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        first = obj[0]
        label_key = next((k for k, v in first.items() if isinstance(v, str)), None)
        value_key = next((k for k, v in first.items() if _is_number(v)), None)
        if label_key and value_key:
            return build(ChartSpec, {"labels": [str(r.get(label_key, "")) for r in obj],
                                     "values": [r.get(value_key) for r in obj], "title": value_key.replace("_", " ")},
                         field=field_name)
    return None


def _finding_text(item: Any) -> str:
    """Findings are strings, or dicts with a ``text`` field (DeepAnalyze's {text, segment, value, unit})."""
    if isinstance(item, dict):
        return str(item.get("text") or "").strip()
    return str(item).strip() if isinstance(item, (str, int, float)) else ""


def absorb(mat: Material, obj: Any, field_name: str) -> None:
    """Merge one JSON-like object into the material."""
    if isinstance(obj, list) and obj and all(isinstance(x, str) for x in obj):
        mat.findings.extend(x.strip() for x in obj if x.strip())
        return
    if isinstance(obj, dict):
        known = False
        if "findings" in obj:
            known = True
            f = obj["findings"]
            if not isinstance(f, list) or not all(isinstance(x, str) or (isinstance(x, dict) and x.get("text"))
                                                  for x in f):
                raise BadInputError("expected a list of strings (or of {'text': ...} objects)",
                                    field=f"{field_name}.findings")
            mat.findings.extend(t for t in map(_finding_text, f) if t)
        for key in ("chart_data", "charts"):
            if obj.get(key):
                known = True
                items = obj[key] if isinstance(obj[key], list) else [obj[key]]
                for j, item in enumerate(items):
                    chart = _chart_from(item, f"{field_name}.{key}[{j}]")
                    if chart is None:
                        raise BadInputError("expected {'labels': [...], 'values': [...]} chart data",
                                            field=f"{field_name}.{key}[{j}]")
                    mat.charts.append(chart)
        for key in ("theme", "brand"):
            if isinstance(obj.get(key), dict):
                known = True
                build(Theme, {**Theme().model_dump(), **obj[key]}, field=f"{field_name}.{key}")
                mat.theme.update(obj[key])
        if isinstance(obj.get("storyboard"), dict):
            known = True
            mat.storyboard = obj["storyboard"]
        if known:
            return
    chart = _chart_from(obj, field_name)
    if chart is None:
        raise BadInputError("unrecognised data: expected findings, chart_data, {label: value} or records",
                            field=field_name)
    mat.charts.append(chart)


def _load_input(mat: Material, inp: TaskInput, i: int) -> None:
    name = f"inputs[{i}]"
    if inp.data is not None:
        absorb(mat, inp.data, f"{name}.data")
        mat.sources.append(f"inline:{inp.name}")
        return
    if inp.path is None:
        raise BadInputError("VideoGen reads local files and inline data only", field=f"{name}.uri")
    path = Path(inp.path)
    if inp.suffix in IMAGE_SUFFIXES:
        checked = _check_image(path, f"{name}.path")
        if inp.name.lower().startswith("logo"):
            mat.logo = checked
        else:
            mat.images.append(checked)
        mat.sources.append(f"image:{path.name}")
        return
    if inp.suffix != ".json":
        raise BadInputError(f"unsupported input {path.name}", field=f"{name}.path",
                            hint="give a .json data file or a .png/.jpg/.webp image")
    if not path.is_file():
        raise BadInputError(f"file not found: {path}", field=f"{name}.path")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise BadInputError(f"{path.name} is larger than {MAX_JSON_BYTES} bytes", field=f"{name}.path")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path.name} is not valid JSON ({exc})", field=f"{name}.path") from None
    absorb(mat, obj, name)
    mat.sources.append(f"file:{path.name}")


def gather(inputs: list[TaskInput], upstream: dict[str, AgentResult] | None = None) -> Material:
    """Build the material from task inputs and upstream results."""
    mat = Material()
    for i, inp in enumerate(inputs):
        _load_input(mat, inp, i)
    for sid, res in (upstream or {}).items():
        if res.status != "ok":
            continue
        data = res.data or {}
        before = (len(mat.findings), len(mat.charts))
        if isinstance(data.get("findings"), list):
            mat.findings.extend(t for t in map(_finding_text, data["findings"]) if t)
        cd = data.get("chart_data")
        for j, item in enumerate(cd if isinstance(cd, list) else [cd] if cd else []):
            try:
                chart = _chart_from(item, f"upstream[{sid}].chart_data[{j}]", lenient=True)
            except BadInputError:
                chart = None  # an upstream chart we cannot draw faithfully is left out, not guessed
            if chart is not None:
                mat.charts.append(chart)
        for art in res.artifacts:
            if art.media_type.startswith("image/") and Path(art.path).is_file():
                mat.upstream_images.append(art.path)
        if (len(mat.findings), len(mat.charts)) != before:
            mat.sources.append(f"upstream:{sid}:{res.agent or ''}")
    seen: set[str] = set()
    mat.findings = [f for f in mat.findings if not (f in seen or seen.add(f))][:MAX_FINDINGS]  # type: ignore[func-returns-value]
    return mat
