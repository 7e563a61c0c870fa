"""Reports: JUnit XML valid against the shipped XSD, self-contained HTML (opened in headless Chromium), JSON."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from genesis_agents.infrastructure.errors import BadInputError
from genesis_agents.infrastructure.eval import EvalRunner, load_report, save_baseline
from genesis_agents.infrastructure.eval.reports import (
    JUNIT_XSD,
    parse_formats,
    print_report,
    to_html,
    to_junit_xml,
    validate_junit,
    write_reports,
)

CHROMIUM = "/usr/bin/chromium"

MIXED = """
suite: mixed
scenarios:
  - id: passes
    description: adds two numbers
    task: {text: "add 2 and 3", agent: calc}
    expect: {output: {path: data.sum, equals: 5}}
  - id: fails
    task: {text: "add 2 and 3", agent: calc}
    expect: {output: [{path: data.sum, equals: 6}, {path: text, contains: "<script>alert(1)</script>"}]}
  - id: times-out
    timeout_s: 0.3
    task: {text: wait, agent: hang}
  - id: skipped
    task: {text: "add 1 1", agent: calc}
    expect: {judge: {rubric: "is right"}}
  - id: draws
    task: {text: draw, agent: painter, params: {width: 120, height: 90}}
    expect: {artifacts: [{name: "*.png", width: 120, height: 90}]}
"""


@pytest.fixture
async def mixed_report(make_host, write_suite, tmp_path):
    path = write_suite(MIXED)
    baseline = await EvalRunner(make_host, concurrency=4).arun(path, ids=["passes", "fails", "draws"])
    baseline.scenarios[1].outcome = "passed"  # pretend 'fails' used to pass: a regression to report
    base_path = save_baseline(baseline, tmp_path / "baseline.json")
    return await EvalRunner(make_host, concurrency=4).arun(path, baseline=base_path)


def test_junit_validates_against_the_xsd(mixed_report, tmp_path):
    xml = to_junit_xml(mixed_report)
    assert validate_junit(xml) == []
    root = ET.fromstring(xml)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"mixed", "eval-comparison"}
    mixed = suites["mixed"]
    assert (mixed.get("tests"), mixed.get("failures"), mixed.get("errors"), mixed.get("skipped")) == ("5", "1", "1", "1")
    cases = {c.get("name"): c for c in mixed.iter("testcase")}
    assert cases["fails"].find("failure") is not None and "data.sum" in cases["fails"].find("failure").get("message")
    assert cases["times-out"].find("error").get("type") == "timeout"
    assert "no judge model configured" in cases["skipped"].find("skipped").get("message")
    assert cases["passes"].get("file", "").endswith("suite.yaml") and cases["passes"].get("line") == "3"
    regressions = [c for c in suites["eval-comparison"].iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in regressions} >= {"mixed::fails", "pass_rate"}


def test_the_xsd_rejects_malformed_junit():
    """The validator can fail: a testcase without a name and an unknown element are reported."""
    bad = b'<?xml version="1.0"?><testsuites><testsuite name="x" tests="1"><testcase time="-1"/><oops/></testsuite></testsuites>'
    problems = validate_junit(bad)
    assert problems and JUNIT_XSD.is_file()


def test_json_report_round_trips(mixed_report, tmp_path):
    written = write_reports(mixed_report, tmp_path / "out", "json,junit,html")
    assert {k: p.name for k, p in written.items()} == {"json": "report.json", "junit": "junit.xml", "html": "report.html"}
    again = load_report(written["json"])
    assert again.comparison is not None and again.comparison.regressed
    assert [s.outcome for s in again.scenarios] == [s.outcome for s in mixed_report.scenarios]
    with pytest.raises(BadInputError, match="unknown report format 'pdf'"):
        parse_formats("html,pdf")


def test_terminal_report_prints_table_and_comparison(mixed_report):
    from rich.console import Console

    console = Console(record=True, width=200, file=io.StringIO())
    print_report(mixed_report, console)
    text = console.export_text()
    assert "mixed::fails" in text and "FAILED" in text and "vs baseline" in text and "regression" in text


def test_html_is_self_contained_and_escaped(mixed_report):
    html = to_html(mixed_report)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for external in ('src="http', "src='http", 'href="http', "@import", "url(http"):
        assert external not in html
    assert html.count('<details class="sc"') == 5 and 'id="comparison"' in html
    assert "picture.png" in html and "agent:calc" in html  # artifacts and trace spans are in it


@pytest.mark.browser
def test_html_report_renders_in_headless_chromium(mixed_report, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    page = write_reports(mixed_report, tmp_path, "html")["html"]
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-rendered="true"' in dom.stdout  # the inline script ran
    assert "5 of 5 shown" in dom.stdout
    shot = tmp_path / "report.png"
    run = subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == (1280, 1600)
        rgb = img.convert("RGB")
        colors = rgb.getcolors(maxcolors=1_000_000) or []
        # a rendered page, not a blank one: the dark header, the red FAILED banner and many text pixels
        assert len(colors) > 50
        header = rgb.getpixel((5, 5))
        assert header[0] < 60 and header[1] < 60 and header[2] < 80
    keep = os.environ.get("GENESIS_EVAL_SCREENSHOT")
    if keep:  # for a human look at the page: GENESIS_EVAL_SCREENSHOT=/tmp/report.png pytest -m browser ...
        shutil.copy(shot, keep)
