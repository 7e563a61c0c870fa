"""Agent-to-agent delegation over A2A: card mapping, the A2A server, remote-agent proxies, auth and limits.

Heavy pieces (the server app, the remote client) are imported lazily by their modules' users so that
importing ``genesis_agents.infrastructure.a2a`` stays cheap for the CLI.
"""

from __future__ import annotations

import os

# The SDK wraps every handler call in OpenTelemetry spans, a measurable cost per request; Genesis traces
# its runs itself. Set OTEL_INSTRUMENTATION_A2A_SDK_ENABLED=true (before import) to get the SDK's spans too.
os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")

from .cards import (
    GENESIS_CARD_EXTENSION,
    ROUTER_AGENT_NAME,
    card_from_json,
    from_a2a_card,
    normalize_agent_name,
    router_card,
    to_a2a_card,
)
from .remotes import RemoteAgentStore, add_remote_agent, load_remote_agents


def __getattr__(name: str) -> object:  # lazy: the client and server pull in httpx, protobuf clients, starlette
    if name in {"RemoteAgent", "fetch_card"}:
        from . import remote

        return getattr(remote, name)
    if name == "KeyStore":
        from .auth import KeyStore

        return KeyStore
    raise AttributeError(name)


__all__ = [
    "GENESIS_CARD_EXTENSION",
    "ROUTER_AGENT_NAME",
    "KeyStore",
    "RemoteAgent",
    "RemoteAgentStore",
    "add_remote_agent",
    "card_from_json",
    "fetch_card",
    "from_a2a_card",
    "load_remote_agents",
    "normalize_agent_name",
    "router_card",
    "to_a2a_card",
]
