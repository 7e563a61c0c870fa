"""Remote agents persisted in the data dir, so a host reloads them at start-up without touching the network.

``genesis agents add-remote URL`` fetches the peer's card once and stores it here with the URL and, if the
peer needs a key, the *name of the environment variable* holding that key (never the key itself).
``load_remote_agents(settings)`` turns the file back into ``RemoteAgent`` proxies.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..config import GenesisSettings
from ..errors import BadInputError, ConfigError, NotFoundError

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class RemoteEntry(BaseModel):
    name: str
    url: str
    api_key_env: str | None = Field(default=None, pattern=_ENV_NAME)
    card: dict[str, Any] = Field(description="the peer's A2A agent card JSON as fetched")
    added_at: float = Field(default_factory=time.time)


class RemoteAgentStore:
    """A small JSON file (``<data_dir>/a2a/remote_agents.json``); writes are atomic (temp file + rename)."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: GenesisSettings) -> RemoteAgentStore:
        return cls(settings.path("a2a", "remote_agents.json"))

    def entries(self) -> list[RemoteEntry]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [RemoteEntry.model_validate(e) for e in raw.get("agents", [])]
        except (ValueError, ValidationError, AttributeError) as exc:
            raise ConfigError(f"remote agents file is corrupt: {exc}", field=str(self.path),
                              hint="fix or delete the file, then re-add the peers") from None

    def add(self, entry: RemoteEntry, *, replace: bool = False) -> None:
        with self._lock:
            entries = self.entries()
            if any(e.name == entry.name for e in entries):
                if not replace:
                    raise BadInputError(f"a remote agent named {entry.name!r} is already registered", field="name",
                                        hint="pass --name to choose another name, or --replace")
                entries = [e for e in entries if e.name != entry.name]
            entries.append(entry)
            self._write(entries)

    def remove(self, name: str) -> RemoteEntry:
        with self._lock:
            entries = self.entries()
            hit = next((e for e in entries if e.name == name), None)
            if hit is None:
                raise NotFoundError(f"no remote agent named {name!r}", field="name",
                                    hint=f"registered: {', '.join(e.name for e in entries) or 'none'}")
            self._write([e for e in entries if e.name != name])
            return hit

    def _write(self, entries: list[RemoteEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"agents": [e.model_dump(mode="json") for e in entries]}, indent=2),
                       encoding="utf-8")
        os.replace(tmp, self.path)


def load_remote_agents(settings: GenesisSettings) -> list[Any]:
    """Proxies for every stored remote agent. No network: cards come from the file; keys from the env.

    Returns ``list[RemoteAgent]``. A missing key variable is not an error here (the peer will answer 401 and
    the proxy reports it), so one misconfigured peer never stops the host from starting.
    """
    from .remote import RemoteAgent
    from .settings import RemoteSettings

    store = RemoteAgentStore.from_settings(settings)
    remote_settings = RemoteSettings()
    agents = []
    for entry in store.entries():
        key = os.environ.get(entry.api_key_env) if entry.api_key_env else None
        agents.append(RemoteAgent.from_card_json(entry.card, url=entry.url, name=entry.name, api_key=key,
                                                 settings=remote_settings))
    return agents


async def add_remote_agent(
    settings: GenesisSettings,
    url: str,
    *,
    name: str | None = None,
    api_key_env: str | None = None,
    replace: bool = False,
    transport: Any = None,
) -> Any:
    """Fetch a peer's card, check it maps onto a valid Genesis card, and persist it. Returns the proxy."""
    from .remote import RemoteAgent, fetch_card
    from .settings import RemoteSettings

    if not url.startswith(("http://", "https://")):
        raise BadInputError(f"remote agent URL must start with http:// or https:// (got {url!r})", field="url")
    key = None
    if api_key_env:
        key = os.environ.get(api_key_env)
        if key is None:
            raise ConfigError(f"environment variable {api_key_env} is not set", field="api_key_env",
                              hint="export it before adding the peer (the key itself is never stored)")
    rs = RemoteSettings()
    parsed, raw = await fetch_card(url, api_key=key, timeout_s=rs.connect_timeout_s * 2, transport=transport)
    agent = RemoteAgent(parsed, url=url, name=name, api_key=key, settings=rs, transport=transport)
    RemoteAgentStore.from_settings(settings).add(
        RemoteEntry(name=agent.card.name, url=agent.url, api_key_env=api_key_env, card=raw), replace=replace
    )
    return agent
