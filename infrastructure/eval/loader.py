"""Load suite files (YAML or JSONL) into validated ``Suite`` objects, with file:line:field errors.

YAML is read with ruamel.yaml's round-trip loader because it keeps the line of every key and list item;
a pydantic error location is mapped back to the deepest node that has a line, so an error in the 40th
scenario points at its line rather than at the top of the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import BadInputError, UnknownAgentError
from .models import Scenario, SourceRef, Suite, SuiteDefaults, SuiteFile

BUILTIN_DIR = Path(__file__).parent / "suites"
SUITE_SUFFIXES = (".yaml", ".yml", ".jsonl")
Loc = tuple[Any, ...]


class ScenarioError(BadInputError):
    """A suite file is invalid. Says file, line and field (``suite.yaml:14: scenarios[2].task.text: ...``)."""

    code = "invalid_scenario"

    def __init__(self, message: str, *, file: str, line: int = 0, field: str | None = None, hint: str | None = None):
        self.file = file
        self.line = line
        super().__init__(message, field=field, hint=hint, file=file, line=line)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return text + (f" ({self.hint})" if self.hint else "")


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _plain_with_lines(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    """Turn ruamel's commented containers into plain dict/list/scalars, recording each node's 1-based line."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        lines.setdefault(loc, node.lc.line + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            try:
                lines[loc + (str(key),)] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                pass
            out[str(key)] = _plain_with_lines(value, loc + (str(key),), lines)
        return out
    if isinstance(node, CommentedSeq):
        lines.setdefault(loc, node.lc.line + 1)
        items = []
        for i, value in enumerate(node):
            try:
                lines[loc + (i,)] = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, IndexError):
                pass
            items.append(_plain_with_lines(value, loc + (i,), lines))
        return items
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _line_for(lines: dict[Loc, int], loc: Loc) -> int:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 0


_TYPE_TAGS = {"str", "int", "float", "bool", "dict", "list", "none", "literal", "union"}


def _clean_loc(loc: Sequence[Any]) -> Loc:
    """Drop pydantic's union/validator markers ('str', 'list[str]', 'function-after[...]'): not real keys."""
    return tuple(p for p in loc if isinstance(p, int) or not (str(p).endswith("]") or str(p) in _TYPE_TAGS))


def _validation_error(exc: ValidationError, *, file: str, prefix: Loc, lines: dict[Loc, int]) -> ScenarioError:
    errors = exc.errors()
    loc = _clean_loc(errors[0]["loc"])
    # the branches of a union fail together at the same place: say all the shapes that were accepted
    same = [e for e in errors if _clean_loc(e["loc"]) == loc]
    msgs = list(dict.fromkeys(e["msg"].removeprefix("Value error, ") for e in same))
    msg = " or ".join(msgs) if len(msgs) > 1 else msgs[0]
    if errors[0]["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling against scenario.schema.json)"
    full = prefix + loc
    more = len({_clean_loc(e["loc"]) for e in errors}) - 1
    hint = f"{more} more error(s) in this scenario" if more else None
    return ScenarioError(msg, file=file, line=_line_for(lines, full), field=_dotted(full) or "suite", hint=hint)


def _read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ScenarioError(f"invalid YAML: {exc.problem or exc.context}", file=str(path), line=line) from None
    except Exception as exc:  # noqa: BLE001 - ruamel raises several unrelated types for malformed input
        raise ScenarioError(f"invalid YAML: {exc}", file=str(path)) from None
    lines: dict[Loc, int] = {}
    return _plain_with_lines(raw, (), lines), lines


def _read_jsonl(path: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    scenarios: list[Any] = []
    lines: dict[Loc, int] = {}
    for lineno, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"invalid JSON at column {exc.colno}: {exc.msg}", file=str(path), line=lineno) from None
        lines[("scenarios", len(scenarios))] = lineno
        scenarios.append(obj)
    return {"scenarios": scenarios}, lines


def _merge_defaults(raw: Any, defaults: SuiteDefaults) -> Any:
    if not isinstance(raw, dict):
        return raw
    merged = dict(raw)
    if defaults.tags:
        own = merged.get("tags") or []
        if isinstance(own, list):
            merged["tags"] = list(dict.fromkeys([*defaults.tags, *own]))
    for key in ("split", "priority", "repeat", "timeout_s", "min_pass_rate"):
        value = getattr(defaults, key)
        if value is not None and key not in merged:
            merged[key] = value
    return merged


def _resolve_inputs(scenario: Scenario, base: Path, *, file: str, lines: dict[Loc, int], prefix: Loc) -> Scenario:
    resolved = []
    for i, item in enumerate(scenario.task.inputs):
        if item.path is not None and not item.path.is_absolute():
            full = (base / item.path).resolve()
            if not full.exists():
                loc = prefix + ("task", "inputs", i, "path")
                raise ScenarioError(f"input file not found: {full}", file=file, line=_line_for(lines, loc),
                                    field=_dotted(loc), hint="paths are relative to the suite file")
            item = item.model_copy(update={"path": full})
        resolved.append(item)
    if resolved:
        scenario.task.inputs = resolved
    return scenario


def load_suite(path: str | Path, *, known_agents: Iterable[str] | None = None) -> Suite:
    """Load one suite file. With ``known_agents``, an agent name that is not among them is an error."""
    p = resolve_suite_path(path)
    file = str(p)
    if p.suffix.lower() == ".jsonl":
        raw, lines = _read_jsonl(p)
    else:
        raw, lines = _read_yaml(p)
    if not isinstance(raw, dict):
        raise ScenarioError("a suite file is a mapping with 'scenarios' (or JSONL, one scenario per line)",
                            file=file, line=1, field="suite")
    head = {k: v for k, v in raw.items() if k != "scenarios"}
    try:
        meta = SuiteFile.model_validate({**head, "scenarios": [{"id": "x", "task": "x"}]})
    except ValidationError as exc:
        raise _validation_error(exc, file=file, prefix=(), lines=lines) from None
    items = raw.get("scenarios")
    if not isinstance(items, list) or not items:
        raise ScenarioError("'scenarios' must be a non-empty list", file=file, line=_line_for(lines, ("scenarios",)),
                            field="scenarios")
    name = meta.suite or p.stem
    scenarios: list[Scenario] = []
    first_line: dict[str, int] = {}
    for index, item in enumerate(items):
        prefix: Loc = ("scenarios", index)
        try:
            scenario = Scenario.model_validate(_merge_defaults(item, meta.defaults))
        except ValidationError as exc:
            raise _validation_error(exc, file=file, prefix=prefix, lines=lines) from None
        line = _line_for(lines, prefix)
        if scenario.id in first_line:
            raise ScenarioError(f"duplicate scenario id {scenario.id!r} (first defined at line {first_line[scenario.id]})",
                                file=file, line=_line_for(lines, prefix + ("id",)), field=f"scenarios[{index}].id")
        first_line[scenario.id] = line
        scenario._source = SourceRef(file=file, line=line)
        scenario._suite = name
        scenario._field_lines = {
            "task.agent": _line_for(lines, prefix + ("task", "agent")),
            "expect.routing": _line_for(lines, prefix + ("expect", "routing")),
        }
        scenarios.append(_resolve_inputs(scenario, p.parent, file=file, lines=lines, prefix=prefix))
    suite = Suite(name=name, path=p, description=meta.description, version=meta.version, scenarios=scenarios)
    if known_agents is not None:
        check_agents(suite, known_agents)
    return suite


def check_agents(suite: Suite, known_agents: Iterable[str]) -> None:
    """Raise ``UnknownAgentError`` (with file:line of the scenario) for any agent name nobody registered."""
    known = sorted(set(known_agents))
    for name, uses in sorted(suite.agent_names().items()):
        if name not in known:
            scenario, field = uses[0]
            raise UnknownAgentError(name, known, field=scenario.where(field))


def load_suites(paths: Sequence[str | Path], *, known_agents: Iterable[str] | None = None) -> list[Suite]:
    """Load several suites; two files that declare the same suite name are an error."""
    suites: list[Suite] = []
    seen: dict[str, Path | None] = {}
    for path in paths:
        suite = load_suite(path, known_agents=known_agents)
        if suite.name in seen:
            raise ScenarioError(f"suite name {suite.name!r} is also used by {seen[suite.name]}",
                                file=str(suite.path), field="suite", hint="set a distinct 'suite:' name")
        seen[suite.name] = suite.path
        suites.append(suite)
    return suites


def builtin_suites() -> dict[str, Path]:
    """The suites shipped with Genesis (name -> file)."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.iterdir()) if p.suffix in SUITE_SUFFIXES} if BUILTIN_DIR.is_dir() else {}


def resolve_suite_path(path: str | Path) -> Path:
    """A file path, or the name of a built-in suite (``router``, ``safety``, ``deepanalyze``, ``videogen``)."""
    p = Path(path)
    if p.is_file():
        return p.resolve()
    builtin = builtin_suites()
    if str(path) in builtin:
        return builtin[str(path)]
    if p.exists():
        raise BadInputError(f"{p} is not a file", field="suite")
    raise BadInputError(f"suite file not found: {path}", field="suite",
                        hint=f"built-in suites: {', '.join(builtin) or 'none'}")
