"""``genesis keys``, ``genesis agents add-remote`` and ``genesis serve`` through the real typer commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from genesis_agents.infrastructure.cli.serve import register
from typer.testing import CliRunner

from .a2a_sample_peer import build_peer
from .conftest import ThreadedServer, free_port


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, typer.Typer]:
    monkeypatch.setenv("GENESIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GENESIS_CONFIG", str(tmp_path / "none.toml"))
    app = typer.Typer()
    groups = {"agents": typer.Typer(), "runs": typer.Typer()}
    app.add_typer(groups["agents"], name="agents")
    app.add_typer(groups["runs"], name="runs")
    register(app, groups)
    return CliRunner(), app


def test_keys_create_list_revoke(cli: tuple[CliRunner, typer.Typer], tmp_path: Path) -> None:
    runner, app = cli
    created = runner.invoke(app, ["keys", "create", "billing", "-n", "acme", "-n", "beta", "--rate", "5", "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    assert key["token"].startswith("gsk_") and key["namespaces"] == ["acme", "beta"] and key["rate_per_s"] == 5
    human = runner.invoke(app, ["keys", "create", "ops"])
    assert human.exit_code == 0 and "shown once" in human.output and "gsk_" in human.output
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).output)
    assert [k["name"] for k in listed] == ["billing", "ops"] and all("token" not in k for k in listed)
    assert "billing" in runner.invoke(app, ["keys", "list"]).output
    assert runner.invoke(app, ["keys", "revoke", key["key_id"]]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).output)
    assert listed[0]["revoked_at"] is not None and listed[1]["revoked_at"] is None
    again = runner.invoke(app, ["keys", "revoke", key["key_id"]])
    assert again.exit_code == 2 and "no active API key" in again.output and "Traceback" not in again.output
    bad = runner.invoke(app, ["keys", "create", "x", "-n", "not a namespace"])
    assert bad.exit_code == 2 and "namespaces" in bad.output
    assert (tmp_path / "data" / "a2a" / "api_keys.sqlite").exists()


def test_add_list_remove_remote(cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    port = free_port()
    peer, _ = build_peer(f"http://127.0.0.1:{port}")
    with ThreadedServer(peer, port) as server:
        added = runner.invoke(app, ["agents", "add-remote", server.base, "--name", "peer", "--json"])
        assert added.exit_code == 0, added.output
        card = json.loads(added.output)
        assert card["name"] == "peer" and card["url"] == server.base and card["skills"][0]["id"] == "echo"
        dup = runner.invoke(app, ["agents", "add-remote", server.base, "--name", "peer"])
        assert dup.exit_code == 2 and "already registered" in dup.output
        missing_env = runner.invoke(app, ["agents", "add-remote", server.base, "--api-key-env", "NO_SUCH_VAR_X"])
        assert missing_env.exit_code == 2 and "NO_SUCH_VAR_X" in missing_env.output
    listed = json.loads(runner.invoke(app, ["agents", "remotes", "--json"]).output)
    assert [e["name"] for e in listed] == ["peer"]
    down = runner.invoke(app, ["agents", "add-remote", f"http://127.0.0.1:{free_port()}"])
    assert down.exit_code == 1 and "cannot fetch agent card" in down.output
    assert runner.invoke(app, ["agents", "remove-remote", "peer"]).exit_code == 0
    gone = runner.invoke(app, ["agents", "remove-remote", "peer"])
    assert gone.exit_code == 2 and "no remote agent named 'peer'" in gone.output


def test_no_auth_refused_off_loopback(cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--no-auth"])
    assert result.exit_code == 2 and "loopback" in result.output


@pytest.mark.slow
def test_genesis_serve_process(tmp_path: Path) -> None:
    """The real `serve` command in a subprocess: health, card and a key-protected call."""
    port = free_port()
    env = {**os.environ, "GENESIS_DATA_DIR": str(tmp_path / "data"), "GENESIS_CONFIG": str(tmp_path / "x.toml"),
           "GENESIS_MEMORY_BACKEND": "inprocess"}
    script = ("import typer, sys; from genesis_agents.infrastructure.cli.serve import register; app = typer.Typer();"
              "g = {'agents': typer.Typer(), 'runs': typer.Typer()}; app.add_typer(g['agents'], name='agents');"
              "register(app, g); app(sys.argv[1:])")
    token = subprocess.run([sys.executable, "-c", script, "keys", "create", "t", "--json"], env=env,
                           capture_output=True, text=True, check=True).stdout
    token = json.loads(token)["token"]
    proc = subprocess.Popen([sys.executable, "-c", script, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/.well-known/agent-card.json").json()["name"] == "genesis"
        assert httpx.get(f"http://127.0.0.1:{port}/v1/agents").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/v1/agents",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
