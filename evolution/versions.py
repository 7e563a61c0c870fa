"""Versioned agent configs written by promotion, read by the registry, undone by rollback.

Layout under the data dir (plain JSON so an operator can read and diff it)::

    evolution/agents/<agent>/v0001.json   one promoted version: params, provenance, promotion report
    evolution/agents/<agent>/active.json  {"version": 2, "stack": [1, 2]}  (stack = promotion order)

``load_promoted_config`` is what ``Genesis`` calls when it instantiates an agent: it returns the params of
the active version, or None (class defaults). ``rollback`` pops the stack: the previous version (or the
defaults) becomes active again; no file is deleted, so history stays auditable.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..infrastructure.errors import BadInputError, NotFoundError

log = logging.getLogger(__name__)
_AGENT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def _settings(settings: Any) -> Any:
    if settings is None:
        from ..infrastructure.config import load_settings

        return load_settings()
    return settings


def agent_dir(agent: str, settings: Any = None) -> Path:
    if not _AGENT.match(agent or ""):
        raise BadInputError(f"invalid agent name {agent!r}", field="agent", hint="lower-case letters, digits, _ . -")
    return Path(_settings(settings).data_dir) / "evolution" / "agents" / agent


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _active(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / "active.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": None, "stack": []}
    if not isinstance(data, dict) or not isinstance(data.get("stack"), list):
        raise BadInputError(f"{directory / 'active.json'} is malformed", field="active.json")
    return data


def _version_path(directory: Path, version: int) -> Path:
    return directory / f"v{version:04d}.json"


def write_version(agent: str, params: dict[str, Any], *, settings: Any = None, variant_id: str | None = None,
                  run_id: str | None = None, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store ``params`` as the next version of ``agent`` and make it active. Returns the version record."""
    directory = agent_dir(agent, settings)
    with _locked(directory):
        existing = [int(p.stem[1:]) for p in directory.glob("v[0-9][0-9][0-9][0-9].json")]
        version = max(existing, default=0) + 1
        record = {"agent": agent, "version": version, "params": params, "variant_id": variant_id,
                  "run_id": run_id, "created_at": time.time(), "report": report or {}}
        _write_json(_version_path(directory, version), record)
        active = _active(directory)
        active["stack"] = [*active["stack"], version]
        active["version"] = version
        active["updated_at"] = time.time()
        _write_json(directory / "active.json", active)
    return record


def active_version(agent: str, settings: Any = None) -> int | None:
    return _active(agent_dir(agent, settings)).get("version")


def read_version(agent: str, version: int, settings: Any = None) -> dict[str, Any]:
    path = _version_path(agent_dir(agent, settings), version)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"agent {agent!r} has no promoted version {version}", field="version") from None


def load_promoted_config(agent_name: str, settings: Any = None) -> dict[str, Any] | None:
    """The params of the active promoted version of ``agent_name``, or None to use the class defaults.

    Never raises: a host must start even if a config file was damaged by hand (it logs a warning instead).
    """
    try:
        directory = agent_dir(agent_name, settings)
        version = _active(directory).get("version")
        if not version:
            return None
        params = read_version(agent_name, int(version), settings).get("params")
        return dict(params) if isinstance(params, dict) else None
    except Exception as exc:  # noqa: BLE001 - a damaged file must not stop the host
        log.warning("promoted config of %s ignored: %s", agent_name, exc)
        return None


def rollback(agent: str, settings: Any = None) -> dict[str, Any]:
    """Make the previous promoted version (or the class defaults) active again.

    Returns ``{"agent", "from_version", "to_version"}``; ``to_version`` None means defaults.
    Raises ``NotFoundError`` when nothing was promoted.
    """
    directory = agent_dir(agent, settings)
    with _locked(directory):
        active = _active(directory)
        if not active["stack"]:
            raise NotFoundError(f"agent {agent!r} has no promoted version to roll back", field="agent",
                                hint="see `genesis evolve history AGENT`")
        current = active["stack"].pop()
        active["version"] = active["stack"][-1] if active["stack"] else None
        active.setdefault("rolled_back", []).append({"version": current, "at": time.time()})
        active["updated_at"] = time.time()
        _write_json(directory / "active.json", active)
    return {"agent": agent, "from_version": current, "to_version": active["version"]}


def history(agent: str, settings: Any = None) -> list[dict[str, Any]]:
    """Every promoted version, oldest first, marked active / rolled back, with its promotion summary."""
    directory = agent_dir(agent, settings)
    if not directory.exists():
        return []
    active = _active(directory)
    rolled = {r["version"] for r in active.get("rolled_back", [])}
    out = []
    for path in sorted(directory.glob("v[0-9][0-9][0-9][0-9].json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        rep = rec.get("report") or {}
        out.append({
            "version": rec["version"], "created_at": rec.get("created_at"), "variant_id": rec.get("variant_id"),
            "run_id": rec.get("run_id"), "active": rec["version"] == active.get("version"),
            "in_stack": rec["version"] in active["stack"], "rolled_back": rec["version"] in rolled,
            "holdout_quality": (rep.get("candidate") or {}).get("quality"),
            "baseline_quality": (rep.get("incumbent") or {}).get("quality"),
            "params": rec.get("params"),
        })
    return out
