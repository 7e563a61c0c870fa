"""Mapping between Genesis ``AgentCard`` and the A2A protocol ``AgentCard`` (a2a-sdk protobuf).

Why a module of its own: the router decides from Genesis cards alone, and A2A peers decide from A2A cards
alone, so both directions must keep every routing-relevant field. A2A skills have no slot for Genesis
task types, input types or JSON schemas, so those travel in a card extension
(``GENESIS_CARD_EXTENSION``); a Genesis peer restores them exactly, any other peer just ignores them.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from typing import Any

from a2a.types import a2a_pb2 as pb
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import ValidationError

from ..contracts import COST_TIER_ORDER, AgentCard, Skill
from ..errors import InvalidCardError

CARD_PARSE_ERRORS = (ParseError, ValueError, TypeError, AttributeError, KeyError)
"""What parsing a peer's card JSON can raise (protobuf's ParseError for wrong types, the rest for odd shapes)."""

GENESIS_CARD_EXTENSION = "urn:genesis-agents:card:v1"
"""Extension URI carrying Genesis-only card fields (cost tier, task types, schemas)."""

ROUTER_AGENT_NAME = "genesis"
BEARER_SCHEME = "bearer"
API_KEY_SCHEME = "apiKey"
API_KEY_HEADER = "X-API-Key"
PROTOCOL_VERSION = "1.0"
LEGACY_PROTOCOL_VERSION = "0.3"

_NAME_BAD = re.compile(r"[^a-z0-9_.-]+")
_SKILL_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_TEXT_MODES = ["text/plain", "application/json"]


# --------------------------------------------------------------------------------------------- names


def normalize_agent_name(raw: str, *, fallback: str = "remote-agent") -> str:
    """Turn any peer's display name ('Currency Agent!') into a Genesis agent name ('currency-agent')."""
    name = _NAME_BAD.sub("-", raw.strip().lower()).strip("-._")[:64]
    return name or fallback


def _skill_id(raw: str, fallback: str) -> str:
    sid = _SKILL_BAD.sub("-", raw.strip()).strip("-._")[:64]
    return sid or fallback


def _mode_for(type_name: str) -> str:
    """Skill input/output types are extensions ('.csv') or MIME types; A2A modes are MIME types."""
    if "/" in type_name:
        return type_name
    return mimetypes.guess_type(f"x{type_name}" if type_name.startswith(".") else f"x.{type_name}")[0] or (
        "application/octet-stream"
    )


# --------------------------------------------------------------------------------------------- security


def security_schemes() -> dict[str, pb.SecurityScheme]:
    """The two ways a caller may present a Genesis API key: ``Authorization: Bearer`` or ``X-API-Key``."""
    return {
        BEARER_SCHEME: pb.SecurityScheme(
            http_auth_security_scheme=pb.HTTPAuthSecurityScheme(
                scheme="Bearer", bearer_format="opaque", description="Genesis API key as a bearer token"
            )
        ),
        API_KEY_SCHEME: pb.SecurityScheme(
            api_key_security_scheme=pb.APIKeySecurityScheme(
                location="header", name=API_KEY_HEADER, description="Genesis API key in a header"
            )
        ),
    }


def _security_requirements() -> list[pb.SecurityRequirement]:
    # Either scheme satisfies the card (a list of requirements is an OR).
    return [
        pb.SecurityRequirement(schemes={BEARER_SCHEME: pb.StringList(list=[])}),
        pb.SecurityRequirement(schemes={API_KEY_SCHEME: pb.StringList(list=[])}),
    ]


# --------------------------------------------------------------------------------------------- Genesis -> A2A


def to_a2a_card(
    card: AgentCard, *, url: str, secured: bool = True, streaming: bool = True, provider_url: str | None = None
) -> pb.AgentCard:
    """Publish a Genesis card as an A2A card served at ``url`` (the JSON-RPC endpoint of that agent)."""
    output_modes = sorted({_mode_for(t) for s in card.skills for t in s.output_types})
    skills = [
        pb.AgentSkill(
            id=s.id,
            name=s.name,
            description=s.description,
            tags=list(dict.fromkeys([*s.tags, *(f"task_type:{t}" for t in s.task_types)])) or [s.id],
            examples=list(s.examples),
            input_modes=[_mode_for(t) for t in s.input_types],
            output_modes=[_mode_for(t) for t in s.output_types],
        )
        for s in card.skills
    ]
    extension_params = {
        "cost_tier": card.cost_tier,
        "max_concurrency": card.max_concurrency,
        "tags": list(card.tags),
        "skills": {
            s.id: {
                "task_types": list(s.task_types),
                "input_types": list(s.input_types),
                "output_types": list(s.output_types),
                "input_schema": s.input_schema,
                "output_schema": s.output_schema,
            }
            for s in card.skills
        },
    }
    ext = pb.AgentExtension(
        uri=GENESIS_CARD_EXTENSION, description="Genesis routing fields", required=False
    )
    ParseDict(_json_safe(extension_params), ext.params)
    a2a_card = pb.AgentCard(
        name=card.name,
        description=card.description,
        version=card.version,
        # The same endpoint speaks 1.0 and 0.3; listing both lets the SDK add the v0.3 card fields
        # (url, protocolVersion, ...) that deployed v0.3 peers read.
        supported_interfaces=[
            pb.AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version=PROTOCOL_VERSION),
            pb.AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version=LEGACY_PROTOCOL_VERSION),
        ],
        provider=pb.AgentProvider(organization=card.provider or "Genesis", url=provider_url or url),
        capabilities=pb.AgentCapabilities(streaming=streaming, push_notifications=False, extensions=[ext]),
        default_input_modes=list(_TEXT_MODES),
        default_output_modes=list(dict.fromkeys([*_TEXT_MODES, *output_modes])),
        skills=skills,
    )
    if secured:
        for name, scheme in security_schemes().items():
            a2a_card.security_schemes[name].CopyFrom(scheme)
        a2a_card.security_requirements.extend(_security_requirements())
    return a2a_card


def _json_safe(value: Any) -> Any:
    """Struct cannot hold None inside lists of mixed types cleanly; drop None map values for compactness."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def router_card(cards: Sequence[AgentCard], *, name: str = ROUTER_AGENT_NAME, version: str = "0.1.0") -> AgentCard:
    """The Genesis router as one agent: its skills are the union of every registered agent's skills.

    Skill ids are prefixed with the agent name (``deepanalyze.churn``) so that two agents may both have a
    skill called ``analyze`` and the union still has unique ids.
    """
    skills: list[Skill] = []
    seen: set[str] = set()
    for card in cards:
        if card.name == name:
            continue
        for s in card.skills:
            sid = _skill_id(f"{card.name}.{s.id}", fallback=card.name)
            base, n = sid, 2
            while sid in seen:
                sid = f"{base[:60]}-{n}"
                n += 1
            seen.add(sid)
            skills.append(s.model_copy(update={"id": sid, "tags": list(dict.fromkeys([*s.tags, card.name]))}))
    if not skills:
        skills = [Skill(id="route", description="Plan and route a task to the best registered agent")]
    return AgentCard(
        name=name,
        description="Genesis: plans a task, routes each step to the best agent, reviews every answer for safety",
        version=version,
        skills=skills,
        cost_tier=max((c.cost_tier for c in cards), default="low", key=COST_TIER_ORDER.__getitem__),
        max_concurrency=max((c.max_concurrency for c in cards), default=4),
        tags=["router"],
        provider="Genesis",
    )


# --------------------------------------------------------------------------------------------- A2A -> Genesis


def from_a2a_card(a2a_card: pb.AgentCard, *, url: str, name: str | None = None) -> AgentCard:
    """Build the Genesis card of a remote peer. Restores Genesis-only fields when the peer is a Genesis host.

    Raises ``InvalidCardError`` naming the field when the peer's card cannot become a valid Genesis card.
    """
    ext = next((e for e in a2a_card.capabilities.extensions if e.uri == GENESIS_CARD_EXTENSION), None)
    extra: dict[str, Any] = MessageToDict(ext.params) if ext is not None else {}
    skill_extra: dict[str, Any] = extra.get("skills", {}) if isinstance(extra.get("skills"), dict) else {}
    description = a2a_card.description.strip() or f"remote A2A agent at {url}"

    skills: list[Skill] = []
    seen: set[str] = set()
    for i, s in enumerate(a2a_card.skills):
        sid = _skill_id(s.id or s.name, fallback=f"skill-{i + 1}")
        if sid in seen:
            sid = f"{sid[:58]}-{i + 1}"
        seen.add(sid)
        more = skill_extra.get(s.id, {}) if isinstance(skill_extra.get(s.id), dict) else {}
        task_types = more.get("task_types") or [t.split(":", 1)[1] for t in s.tags if t.startswith("task_type:")]
        try:
            skills.append(
                Skill(
                    id=sid,
                    name=s.name,
                    description=s.description.strip() or s.name or description,
                    examples=list(s.examples),
                    tags=[t for t in s.tags if not t.startswith("task_type:")],
                    task_types=list(task_types),
                    input_types=list(more.get("input_types") or s.input_modes),
                    output_types=list(more.get("output_types") or s.output_modes),
                    input_schema=more.get("input_schema"),
                    output_schema=more.get("output_schema"),
                )
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidCardError(
                f"remote skill {s.id!r}: {err['msg']}", field=f"skills[{i}].{'.'.join(map(str, err['loc']))}"
            ) from None
    if not skills:
        skills = [Skill(id="default", description=description)]

    cost_tier = extra.get("cost_tier") if extra.get("cost_tier") in COST_TIER_ORDER else "medium"
    max_conc = extra.get("max_concurrency")
    try:
        return AgentCard(
            name=normalize_agent_name(name or a2a_card.name),
            description=description,
            version=a2a_card.version or "0.0.0",
            skills=skills,
            cost_tier=cost_tier,
            max_concurrency=int(max_conc) if isinstance(max_conc, (int, float)) and 1 <= max_conc <= 10_000 else 4,
            url=url,
            tags=list(dict.fromkeys([*(extra.get("tags") or []), "remote", "a2a"])),
            provider=a2a_card.provider.organization or None,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InvalidCardError(err["msg"], field=".".join(map(str, err["loc"])) or "card") from None


def card_from_json(data: Any, *, url: str, name: str | None = None) -> AgentCard:
    """Parse a peer's agent-card JSON (v1.0 or v0.3 layout) into a Genesis card."""
    from a2a.client.card_resolver import parse_agent_card

    if not isinstance(data, dict):
        raise InvalidCardError("agent card must be a JSON object", field="card", hint=f"fetched from {url}")
    try:
        parsed = parse_agent_card(dict(data))
    except CARD_PARSE_ERRORS as exc:
        raise InvalidCardError(f"not an A2A agent card: {exc}", field="card", hint=f"fetched from {url}") from None
    if not parsed.name:
        raise InvalidCardError("agent card has no name", field="name", hint=f"fetched from {url}")
    return from_a2a_card(parsed, url=url, name=name)


def a2a_endpoint(card: pb.AgentCard) -> str | None:
    """The JSON-RPC URL a card advertises (first JSONRPC interface), or None."""
    for iface in card.supported_interfaces:
        if iface.protocol_binding.upper() == "JSONRPC" and iface.url:
            return iface.url
    return None
