"""``genesis serve``, ``genesis keys ...`` and ``genesis agents add-remote|remove-remote|remotes``.

    genesis serve [--host 127.0.0.1] [--port 8765] [--public-url URL] [--no-auth]
    genesis keys create NAME [--namespace NS ...] [--rate R] [--burst B] [--json]
    genesis keys list [--json]
    genesis keys revoke KEY_ID_OR_NAME
    genesis agents add-remote URL [--name NAME] [--api-key-env VAR] [--replace] [--json]
    genesis agents remotes [--json]
    genesis agents remove-remote NAME

Heavy imports (uvicorn, the host, the a2a client) happen inside the commands.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any

import typer

EXIT_BAD_INPUT = 2
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


from .common import console as _console
from .common import fail as _fail


def _settings() -> Any:
    from genesis_agents.infrastructure.config import load_settings

    return load_settings()


# --------------------------------------------------------------------------------------------- serve


def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="interface to bind; loopback by default")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8765,
    public_url: Annotated[str | None, typer.Option("--public-url", help="URL peers use to reach this host")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="serve without API keys (loopback only)")] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve the A2A endpoints and the HTTP API (OpenAPI at /docs) for every registered agent."""
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        from genesis_agents.infrastructure.a2a.settings import ServeSettings
        from pydantic import ValidationError

        try:
            serve_settings = ServeSettings(host=host, port=port, public_url=public_url, auth_required=not no_auth)
        except ValidationError as exc:
            err = exc.errors()[0]
            from genesis_agents.infrastructure.errors import ConfigError

            raise ConfigError(err["msg"], field=".".join(map(str, err["loc"])),
                              hint="check GENESIS_SERVE_* variables") from None
        if no_auth and host not in _LOOPBACK:
            from genesis_agents.infrastructure.errors import BadInputError

            raise BadInputError("--no-auth is only allowed on a loopback host", field="host",
                                hint="create a key with `genesis keys create NAME` instead")
        import uvicorn
        from genesis_agents.infrastructure.api import build_app

        from genesis_agents import Genesis

        genesis = Genesis(_settings())
        genesis.warm_up()  # load models before the first request instead of during it
        app = build_app(genesis, settings=serve_settings)
    except GenesisError as exc:
        raise _fail(exc) from None
    console = _console()
    base = public_url or f"http://{host}:{port}"
    console.print(f"[bold]Genesis[/] serving {len(genesis.cards())} agent(s) at {base}")
    console.print(f"  A2A router card  {base}/.well-known/agent-card.json")
    console.print(f"  HTTP API docs    {base}/docs")
    if no_auth:
        console.print("[yellow]  auth is OFF (loopback only)[/]")
    uvicorn.run(app, host=host, port=port, log_level=log_level)


# --------------------------------------------------------------------------------------------- keys

keys_app = typer.Typer(help="API keys for the A2A server and the HTTP API (hashed at rest in the data dir).",
                       no_args_is_help=True)


def _keys() -> Any:
    from genesis_agents.infrastructure.a2a.auth import KeyStore

    return KeyStore.from_settings(_settings())


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="who or what uses the key")],
    namespace: Annotated[list[str] | None, typer.Option("--namespace", "-n",
                                                        help="allowed namespace (repeat; '*' = all)")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="requests/s for this key")] = None,
    burst: Annotated[int | None, typer.Option("--burst", help="burst for this key")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key. The token is printed once; only its hash is stored."""
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        record, token = _keys().create(name, namespaces=namespace or ["default"], rate_per_s=rate, burst=burst)
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps({**record.model_dump(mode="json"), "token": token}))
        return
    console = _console()
    console.print(f"created key [bold]{record.key_id}[/] ({record.name}) for namespaces {', '.join(record.namespaces)}")
    console.print("token (shown once, store it now):")
    typer.echo(token)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (ids, names, scopes, state); secrets are never shown."""
    records = _keys().list()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records]))
        return
    from datetime import datetime

    from rich.table import Table

    table = Table("key id", "name", "namespaces", "rate/burst", "created", "state")
    for r in records:
        created = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        limits = f"{r.rate_per_s or '-'} / {r.burst or '-'}"
        table.add_row(r.key_id, r.name, ", ".join(r.namespaces), limits, created,
                      "[red]revoked[/]" if r.revoked else "[green]active[/]")
    _console().print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="key id, or name (revokes every active key with it)")]) -> None:
    """Revoke a key; a running server refuses it from the next request on."""
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        revoked = _keys().revoke(key)
    except GenesisError as exc:
        raise _fail(exc) from None
    for r in revoked:
        _console().print(f"revoked {r.key_id} ({r.name})")


# --------------------------------------------------------------------------------------------- remote agents


def add_remote_cmd(
    url: Annotated[str, typer.Argument(help="base URL of the peer (its card is at URL/.well-known/agent-card.json)")],
    name: Annotated[str | None, typer.Option("--name", help="register under this name")] = None,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env",
                                                    help="env var holding the peer's API key")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="replace a remote agent of the same name")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fetch a peer's A2A card and register it as a remote agent (persisted in the data dir)."""
    import asyncio

    from genesis_agents.infrastructure.a2a.remotes import add_remote_agent
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        agent = asyncio.run(add_remote_agent(_settings(), url, name=name, api_key_env=api_key_env, replace=replace))
    except GenesisError as exc:
        raise _fail(exc) from None
    card = agent.card
    if as_json:
        typer.echo(card.model_dump_json())
        return
    _console().print(f"registered remote agent [bold]{card.name}[/] at {card.url} "
                     f"with skills: {', '.join(s.id for s in card.skills)}")


def remotes_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the remote agents stored in the data dir."""
    from genesis_agents.infrastructure.a2a.remotes import RemoteAgentStore
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        entries = RemoteAgentStore.from_settings(_settings()).entries()
    except GenesisError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps([{k: v for k, v in e.model_dump(mode="json").items() if k != "card"} for e in entries]))
        return
    from rich.table import Table

    table = Table("name", "url", "key env var", "skills")
    for e in entries:
        table.add_row(e.name, e.url, e.api_key_env or "-", ", ".join(str(s.get("id")) for s in e.card.get("skills", [])))
    _console().print(table)


def remove_remote_cmd(name: Annotated[str, typer.Argument()]) -> None:
    """Forget a remote agent."""
    from genesis_agents.infrastructure.a2a.remotes import RemoteAgentStore
    from genesis_agents.infrastructure.errors import GenesisError

    try:
        RemoteAgentStore.from_settings(_settings()).remove(name)
    except GenesisError as exc:
        raise _fail(exc) from None
    _console().print(f"removed remote agent {name}")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.command("serve")(serve_cmd)
    app.add_typer(keys_app, name="keys")
    agents = groups["agents"]
    agents.command("add-remote")(add_remote_cmd)
    agents.command("remotes")(remotes_cmd)
    agents.command("remove-remote")(remove_remote_cmd)
