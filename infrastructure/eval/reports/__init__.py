"""Report writers: terminal (rich), JSON, JUnit XML and self-contained HTML. ``write_reports`` writes several."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ...errors import BadInputError
from ..results import EvalReport
from .html import to_html, write_html
from .junit import JUNIT_XSD, to_junit_xml, validate_junit, write_junit
from .terminal import ProgressBar, print_report

FORMATS = ("json", "junit", "html")
FILE_NAMES = {"json": "report.json", "junit": "junit.xml", "html": "report.html"}


def parse_formats(spec: str | Iterable[str]) -> list[str]:
    """'html,json' -> ['html', 'json']; unknown names are a ``BadInputError`` listing the valid ones."""
    items = [p.strip().lower() for p in (spec.split(",") if isinstance(spec, str) else spec) if p.strip()]
    for item in items:
        if item not in FORMATS:
            raise BadInputError(f"unknown report format {item!r}", field="report", hint=f"use {', '.join(FORMATS)}")
    return list(dict.fromkeys(items))


def write_json(report: EvalReport, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return p


def write_reports(report: EvalReport, out_dir: str | Path, formats: str | Iterable[str]) -> dict[str, Path]:
    """Write each requested format into ``out_dir`` (report.json, junit.xml, report.html)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers = {"json": write_json, "junit": write_junit, "html": write_html}
    return {fmt: writers[fmt](report, out / FILE_NAMES[fmt]) for fmt in parse_formats(formats)}


__all__ = ["FORMATS", "JUNIT_XSD", "ProgressBar", "parse_formats", "print_report", "to_html", "to_junit_xml",
           "validate_junit", "write_html", "write_json", "write_junit", "write_reports"]
