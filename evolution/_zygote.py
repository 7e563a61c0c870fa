"""The fork server's zygote: ``python -I -B -m genesis_agents.evolution._zygote``.

It imports the framework once (about 1.5 s), then forks one sandboxed child per job, so a variant's
evaluation starts in milliseconds instead of re-importing everything. Protocol: JSON lines. The host
sends ``{"id", "job_path", "stderr_path", "workdir", "env", "limits", "netns", "preload"}``; the zygote
answers ``{"id", "pid"}`` after forking and ``{"pid", "exit", "cpu_s"}`` when that child ends. When its
stdin closes (the host went away) it kills every child's process group and exits.

The child, right after the fork: new session, resource limits, optional private network namespace,
stdio redirected, clean environment, then exactly what the spawned sandbox runs (``_child.main``).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import select
import signal
import sys
import threading
from typing import Any

CLONE_NEWNET = 0x40000000
PRELOAD = (
    "genesis_agents.evolution._child",
    "genesis_agents.evolution.fitness",
    "genesis_agents.evolution.hooks",
    "genesis_agents.infrastructure.facade",
    "genesis_agents.infrastructure.eval.runner",
    "genesis_agents.infrastructure.eval.loader",
    "genesis_agents.infrastructure.stages",
    "genesis_agents.infrastructure.llm",
    "matplotlib.font_manager",  # builds the shared font list here, once (it would spawn fc-list)
)


def _send(obj: dict[str, Any]) -> None:
    os.write(1, (json.dumps(obj) + "\n").encode())


def _unshare_net() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False


def _probe_netns() -> bool:
    """Fork a throwaway child that tries to unshare the network namespace."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _unshare_net() else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _child(cmd: dict[str, Any]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    lim = cmd["limits"]
    resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu_s"], lim["cpu_s"] + 2))
    mem = lim["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = lim["file_size_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cmd.get("netns") and not _unshare_net():
        os.write(2, b"network namespace unavailable in the child\n")
        return 71
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    err = os.open(cmd["stderr_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(err, 1)
    os.dup2(err, 2)
    os.environ.clear()
    os.environ.update(cmd["env"])
    os.chdir(cmd["workdir"])
    import random
    import tempfile

    tempfile.tempdir = os.path.join(cmd["workdir"], "tmp")
    random.seed()
    from genesis_agents.evolution import _child

    return _child.main(cmd["job_path"])


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in PRELOAD:
        importlib.import_module(name)
    import platform

    platform.platform(), platform.processor()
    netns = _probe_netns()
    _send({"ready": True, "netns": netns, "threads": threading.active_count(), "pid": os.getpid()})
    children: set[int] = set()
    buf = b""

    def reap(block: bool = False) -> None:
        while children:
            try:
                pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                children.clear()
                return
            if pid == 0:
                return
            children.discard(pid)
            _send({"pid": pid, "exit": os.waitstatus_to_exitcode(status),
                   "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)})

    while True:
        ready, _, _ = select.select([0], [], [], 0.02)
        if ready:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                cmd = json.loads(line)
                for module in cmd.get("preload", []):
                    try:
                        importlib.import_module(module)
                    except Exception as exc:  # noqa: BLE001 - the child reports the import error itself
                        sys.stderr.write(f"zygote: preloading {module} failed: {exc}\n")
                pid = os.fork()
                if pid == 0:
                    code = 70
                    try:
                        code = _child(cmd)
                    finally:
                        os._exit(code)
                children.add(pid)
                _send({"id": cmd["id"], "pid": pid})
        reap()
    for pid in list(children):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    reap(block=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
