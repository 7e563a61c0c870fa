"""Declarative routing rules in YAML: validated with line-numbered errors, hot-reloadable.

A rules file looks like::

    version: 1
    on_unknown_agent: error      # or 'skip': ignore rules whose agent is not registered
    rules:
      - id: tabular-analytics
        priority: 100            # higher first; ties keep file order
        agent: deepanalyze
        explanation: tables with an analytics verb go to DeepAnalyze
        when:                    # every predicate given must hold; lists mean "any of"
          task_type: [analytics]
          keywords: [churn, forecast]    # word stems or phrases
          all_keywords: [sales]
          regex: '\\bq[1-4]\\b'
          metadata: {channel: [web, api]}
          namespace: [acme]
          input_types: [.csv, .parquet]

Rules are for policy ("everything from the legal namespace goes to legal"), not for guessing: capability
matching handles the rest from the cards.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..contracts import NAME_PATTERN, Subtask, Task
from ..errors import ConfigError, UnknownAgentError
from .text import stem, tokens


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float, bool)):
        return [str(value)]
    return [str(v) for v in value]


class _Phrase:
    """A keyword or phrase matched on stemmed tokens, so 'forecast' matches 'forecasting'."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.stems = [stem(t) for t in tokens(raw)]

    def found(self, toks: list[str]) -> bool:
        n = len(self.stems)
        if n == 0:
            return False
        return any(toks[i:i + n] == self.stems for i in range(len(toks) - n + 1))


class RuleWhen(BaseModel):
    """Predicates of one rule. All given predicates must hold; within a list any value may match."""

    model_config = ConfigDict(extra="forbid")

    task_type: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="any of these words/phrases")
    all_keywords: list[str] = Field(default_factory=list, description="every one of these words/phrases")
    regex: str | None = None
    metadata: dict[str, list[str]] = Field(default_factory=dict)
    namespace: list[str] = Field(default_factory=list)
    input_types: list[str] = Field(default_factory=list, description="file suffixes ('.csv') or MIME types")

    @field_validator("task_type", "keywords", "all_keywords", "namespace", "input_types", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> list[str]:
        return _as_list(value)

    @field_validator("metadata", mode="before")
    @classmethod
    def _listify_meta(cls, value: Any) -> dict[str, list[str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("metadata must be a mapping of key -> value or list of values")  # noqa: TRY004
        return {str(k): _as_list(v) for k, v in value.items()}

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    def is_empty(self) -> bool:
        return not any((self.task_type, self.keywords, self.all_keywords, self.regex, self.metadata,
                        self.namespace, self.input_types))


class Rule(BaseModel):
    """One routing rule: when its predicates hold, the subtask goes to ``agent``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    agent: str = Field(pattern=NAME_PATTERN)
    priority: int = 0
    explanation: str = ""
    enabled: bool = True
    when: RuleWhen
    line: int = Field(default=0, exclude=True, description="line of the rule in its file (for messages)")

    _regex: re.Pattern[str] | None = PrivateAttr(default=None)
    _any: list[_Phrase] = PrivateAttr(default_factory=list)
    _all: list[_Phrase] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _compile(self) -> Rule:
        if self.when.is_empty():
            raise ValueError("a rule needs at least one predicate under 'when'")
        self._regex = re.compile(self.when.regex, re.IGNORECASE) if self.when.regex else None
        self._any = [_Phrase(k) for k in self.when.keywords]
        self._all = [_Phrase(k) for k in self.when.all_keywords]
        return self

    def match(self, subtask: Subtask, task: Task) -> str | None:
        """Why the rule matches (a short reason), or None when it does not."""
        w = self.when
        why: list[str] = []
        if w.task_type:
            tt = subtask.task_type or task.task_type
            if tt not in w.task_type:
                return None
            why.append(f"task_type={tt}")
        if w.namespace:
            if task.namespace not in w.namespace:
                return None
            why.append(f"namespace={task.namespace}")
        if w.metadata:
            meta = {**task.metadata, **subtask.metadata}
            for key, allowed in w.metadata.items():
                if key not in meta or str(meta[key]) not in allowed:
                    return None
            why.append("metadata " + ", ".join(f"{k}={meta[k]}" for k in w.metadata))
        if w.input_types:
            wanted = {t.lower() for t in w.input_types}
            got = [i for i in subtask.inputs
                   if i.suffix in wanted or (i.media_type or "").lower() in wanted]
            if not got:
                return None
            why.append("input " + ", ".join(i.name for i in got))
        text = subtask.text
        if w.keywords or w.all_keywords:
            toks = [stem(t) for t in tokens(text)]
            hits = [p.raw for p in self._any if p.found(toks)]
            if self._any and not hits:
                return None
            if not all(p.found(toks) for p in self._all):
                return None
            why.append("keywords " + ", ".join(hits + [p.raw for p in self._all]))
        if self._regex is not None:
            m = self._regex.search(text)
            if not m:
                return None
            why.append(f"regex matched {m.group(0)!r}")
        return "; ".join(why)


class RuleSet(BaseModel):
    """A validated rules file. ``rules`` are kept sorted by priority (highest first, then file order)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    on_unknown_agent: Literal["error", "skip"] = "error"
    rules: list[Rule] = Field(default_factory=list)
    source: str = Field(default="<memory>", exclude=True)

    def model_post_init(self, context: Any, /) -> None:
        order = {id(r): n for n, r in enumerate(self.rules)}
        self.rules.sort(key=lambda r: (-r.priority, order[id(r)]))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>") -> RuleSet:
        """Parse and validate; every error names ``source:line`` and the field."""
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = mark.line + 1 if mark else 0
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"invalid YAML: {problem}", field=f"{source}:{line}",
                              hint="fix the syntax of the rules file") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError("a rules file must be a mapping with a 'rules' list", field=f"{source}:1")
        rules_nodes = _child(node, "rules")
        raw_rules = data.get("rules") or []
        if not isinstance(raw_rules, list):
            line = rules_nodes.start_mark.line + 1 if rules_nodes is not None else 1
            raise ConfigError("'rules' must be a list", field=f"{source}:{line}")
        rules: list[Rule] = []
        for i, raw in enumerate(raw_rules):
            rnode = rules_nodes.value[i] if rules_nodes is not None else None
            line = rnode.start_mark.line + 1 if rnode is not None else 0
            if not isinstance(raw, dict):
                raise ConfigError("each rule must be a mapping", field=f"{source}:{line} rules[{i}]")
            if raw.get("id") in {r.id for r in rules}:
                first = next(r for r in rules if r.id == raw.get("id"))
                raise ConfigError(f"duplicate rule id {raw.get('id')!r} (first defined on line {first.line})",
                                  field=f"{source}:{line} rules[{i}].id")
            try:
                rules.append(Rule(**raw, line=line))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = [p for p in err["loc"] if p != "__root__"]
                where = _line_of(rnode, loc) or line
                name = ".".join(str(p) for p in loc)
                label = f"rules[{i}]" + (f".{name}" if name else "")
                msg = err["msg"].removeprefix("Value error, ")
                raise ConfigError(msg, field=f"{source}:{where} {label}",
                                  hint=f"rule {raw.get('id', i)!r}") from None
        top = {k: v for k, v in data.items() if k != "rules"}
        try:
            return cls(**top, rules=rules, source=source)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = str(err["loc"][0]) if err["loc"] else ""
            kn = _child(node, key)
            line = kn.start_mark.line + 1 if kn is not None else 1
            raise ConfigError(err["msg"], field=f"{source}:{line} {key}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> RuleSet:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"rules file not found: {p}", field="router_rules") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read rules file {p}: {exc}", field="router_rules") from None
        return cls.from_yaml(text, source=str(p))

    def applicable(self, agents: Sequence[str]) -> list[Rule]:
        """Enabled rules whose agent is registered. Raises ``UnknownAgentError`` (naming the rule's line)
        for rules aimed at unknown agents unless the file says ``on_unknown_agent: skip``."""
        known = set(agents)
        out = []
        for rule in self.rules:
            if not rule.enabled:
                continue
            if rule.agent not in known:
                if self.on_unknown_agent == "skip":
                    continue
                raise UnknownAgentError(rule.agent, sorted(known),
                                        field=f"{self.source}:{rule.line} rule {rule.id!r} agent")
            out.append(rule)
        return out

    def first_match(self, subtask: Subtask, task: Task, agents: Sequence[str]) -> tuple[Rule, str] | None:
        for rule in self.applicable(agents):
            why = rule.match(subtask, task)
            if why is not None:
                return rule, why
        return None


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return v
    return None


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """Line (1-based) of the YAML node at ``loc`` inside ``node``; the deepest existing one."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = None
            for k, v in node.value:
                if getattr(k, "value", None) == str(part):
                    hit = (k, v)
                    break
            if hit is None:
                return best
            best = hit[0].start_mark.line + 1
            node = hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            best = node.start_mark.line + 1
        else:
            return best
    return best


class RulesSource:
    """A rules file that reloads itself when it changes on disk (checked at most every ``check_interval_s``).

    A broken edit never takes the router down: the previous rules stay active and ``last_error`` says why
    the new file was rejected. The first load, however, raises.
    """

    def __init__(self, path: str | Path, *, check_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.check_interval_s = check_interval_s
        self.last_error: ConfigError | None = None
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._rules = RuleSet.from_file(self.path)
        self._checked = time.monotonic()
        self.reloads = 0

    def _stat(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise ConfigError(f"rules file not found: {self.path}", field="router_rules") from None
        return st.st_mtime_ns, st.st_size

    def current(self) -> RuleSet:
        now = time.monotonic()
        if now - self._checked < self.check_interval_s:
            return self._rules
        with self._lock:
            self._checked = now
            try:
                stamp = self._stat()
                if stamp != self._stamp:
                    self._stamp = stamp
                    self._rules = RuleSet.from_file(self.path)
                    self.last_error = None
                    self.reloads += 1
            except ConfigError as exc:
                self.last_error = exc
        return self._rules


def load_rules(spec: str | Path | RuleSet | RulesSource | None, *, hot_reload: bool = True
               ) -> RuleSet | RulesSource | None:
    """Accept a path, a ready RuleSet/RulesSource, or None (no rules)."""
    if spec is None or isinstance(spec, (RuleSet, RulesSource)):
        return spec
    return RulesSource(spec) if hot_reload else RuleSet.from_file(spec)
