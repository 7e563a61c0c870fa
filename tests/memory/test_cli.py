"""``genesis memory ...`` end to end through typer's runner, on a real embedded memory in a temp data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from genesis_agents.infrastructure.cli import memory as memory_cli
from typer.testing import CliRunner


@pytest.fixture
def cli(tmp_path: Path, monkeypatch, embedder):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GENESIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GENESIS_CHROMA_URL", raising=False)
    monkeypatch.delenv("GENESIS_GRAPH_BACKEND", raising=False)
    monkeypatch.setenv("GENESIS_CONFIG", str(tmp_path / "none.toml"))
    app = typer.Typer()
    groups: dict[str, typer.Typer] = {}
    memory_cli.register(app, groups)
    assert "memory" in groups
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["memory", *args])

    return invoke


def test_add_search_relate_show_forget_stats(cli) -> None:
    added = cli("add", "Alice Chen leads Team Falcon.", "--tag", "org", "--triple", "Team Falcon|builds|Orion",
                "--json")
    assert added.exit_code == 0, added.output
    item = json.loads(added.stdout)
    assert item["tags"] == ["org"]

    found = cli("search", "who builds Orion", "--json")
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert hits[0]["item"]["id"] == item["id"] and "graph" in hits[0]["signals"]

    table = cli("search", "Alice", "--mode", "keyword")
    assert table.exit_code == 0 and "keyword#1" in table.stdout

    assert cli("relate", "Orion", "runs on", "Postgres").exit_code == 0
    shown = cli("show", "Orion", "--entity", "--hops", "2", "--json")
    triples = {(t["subject"], t["predicate"], t["object"]) for t in json.loads(shown.stdout)}
    assert {("Team Falcon", "builds", "Orion"), ("Orion", "runs on", "Postgres")} <= triples

    one = cli("show", item["id"], "--json")
    assert json.loads(one.stdout)["text"] == "Alice Chen leads Team Falcon."

    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["namespaces"]["default"]["items"] == 1

    forgot = cli("forget", "--filter", "tags=org", "--json")
    assert json.loads(forgot.stdout) == {"removed": 1, "namespace": "default"}
    assert json.loads(cli("search", "Alice", "--json").stdout)["hits"] == []


def test_errors_are_one_red_line_and_non_zero(cli) -> None:
    cli("add", "something to create the default namespace")
    for args, needle in [
        (("search", "   "), "query is empty"),
        (("search", "x", "-n", "nobody"), "unknown namespace 'nobody'"),
        (("search", "x", "--mode", "fuzzy"), "unknown recall mode"),
        (("search", "x", "--filter", "novalue"), "expected key=value"),
        (("add", "x", "--triple", "only|two"), "subject|predicate|object"),
        (("show", "mem_missing"), "no item 'mem_missing'"),
        (("forget",), "give item ids or --filter"),
        (("add", "x", "-n", "bad namespace!"), "namespace"),
    ]:
        result = cli(*args)
        assert result.exit_code != 0, args
        assert needle in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_export_import_compact(cli, tmp_path: Path) -> None:
    cli("add", "Team Kite builds Lyra.", "-n", "acme")
    path = tmp_path / "acme.jsonl"
    exported = cli("export", "acme", str(path), "--json")
    assert exported.exit_code == 0, exported.output and path.exists()
    imported = cli("import", str(path), "-n", "acme-copy", "--json")
    assert json.loads(imported.stdout)["items"] == 1
    hits = json.loads(cli("search", "Lyra", "-n", "acme-copy", "--json").stdout)["hits"]
    assert hits[0]["item"]["text"] == "Team Kite builds Lyra."
    compacted = cli("compact", "-n", "acme", "--older-than-days", "0", "--min-group", "2", "--json")
    assert json.loads(compacted.stdout)["compacted"] == 0  # one item is not a group
