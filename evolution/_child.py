"""The sandboxed child: ``python -I -m genesis_agents.evolution._child JOB.json``.

Order matters: trusted framework code is imported and prepared first, then the audit hook is installed
(it can never be removed), and only then does the job touch candidate values (params, prompts, code).
The result goes to a file outside the working dir, opened before the hook, so candidate code cannot
open it by path.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import resource
import sys
import threading
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_NET_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.getnameinfo",
})
_PROC_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "pty.spawn", "os.startfile",
})
_PATH_EVENTS = {  # event -> indexes of path arguments that must stay inside the workdir
    "os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.truncate": (0,), "shutil.rmtree": (0,),
    "os.link": (0, 1), "os.symlink": (1,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,),
    "os.mkdir": (0,), "os.removexattr": (0,), "os.setxattr": (0,), "sqlite3.connect": (0,),
}
_MARK = "GENESIS-SANDBOX-VIOLATION: "


class Policy:
    """The audit-hook policy: what the candidate may not do, and the record of what it tried."""

    def __init__(self, workdir: str, violations_fd: int, *, network: bool, allow_subprocess: bool) -> None:
        self.roots = (os.path.realpath(workdir), "/dev/null")
        self.fd = violations_fd
        self.network = network
        self.allow_subprocess = allow_subprocess
        self.pid = os.getpid()
        self._busy = threading.local()

    def _inside(self, path: Any) -> bool:
        if isinstance(path, int) or path is None:
            return True  # operations on an already-open descriptor were allowed when it was opened
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, (str, os.PathLike)):
            return True
        p = os.fspath(path)
        if p in (":memory:", "") or p.startswith("file::memory:"):
            return True
        if p.startswith("file:"):
            p = p[5:].split("?", 1)[0]
        real = os.path.realpath(p)
        return any(real == r or real.startswith(r + os.sep) for r in self.roots)

    def record(self, what: str) -> None:
        line = (what.replace("\n", " ")[:500] + "\n").encode()
        try:
            os.write(self.fd, line)
        except OSError:
            pass
        try:
            os.write(2, _MARK.encode() + line)
        except OSError:
            pass

    def deny(self, what: str) -> None:
        self.record(what)
        raise PermissionError(f"sandbox: {what}")

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            self._check(event, args)
        finally:
            self._busy.on = False

    def _check(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and not self._inside(path):
                self.deny(f"write outside the working dir: open({path!r}, {mode or flags!r})")
        elif event in _PATH_EVENTS:
            if event == "sqlite3.connect" and args and "mode=ro" in str(args[0]):
                return
            if event == "os.mkdir" and args and isinstance(args[0], (str, bytes, os.PathLike)) \
                    and os.path.isdir(args[0]):
                return  # makedirs(exist_ok=True) on an existing dir creates nothing
            for i in _PATH_EVENTS[event]:
                if i < len(args) and not self._inside(args[i]):
                    self.deny(f"{event} outside the working dir: {args[i]!r}")
        elif event in _NET_EVENTS:
            if not self.network:
                target = args[1] if event.startswith("socket.") and len(args) > 1 and event in (
                    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg") else args[:2]
                self.deny(f"network access blocked: {event} {target!r}")
        elif event in _PROC_EVENTS and not self.allow_subprocess:
            self.deny(f"process spawning blocked: {event} {str(args[:2])[:200]}")
        elif event in ("os.kill", "os.killpg") and args and args[0] not in (self.pid, 0):
            self.deny(f"{event} of another process: {args[0]!r}")


def drop_privileges(user: str, workdir: str) -> None:
    """Become ``user`` (kernel-enforced file permissions from here on); the workdir is handed over first.

    Runs after the trusted imports and suite loading (which may read root-only files) and before any
    candidate value is touched. Only possible when the child runs as root.
    """
    import pwd

    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(workdir):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, pw.pw_uid, pw.pw_gid)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    os.environ["USER"] = os.environ["LOGNAME"] = user


def main(job_path: str) -> int:
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    workdir = job["workdir"]
    os.chdir(workdir)
    result_fd = os.open(job["result_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    violations_fd = os.open(job["violations_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def finish(obj: dict[str, Any]) -> None:
        obj["_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        data = json.dumps(obj, default=str).encode()
        os.write(result_fd, data)
        os.close(result_fd)

    try:
        module_name, _, func_name = job["entry"].partition(":")
        module = importlib.import_module(module_name)
        entry = getattr(module, func_name)
        prepare = getattr(module, "prepare", None)
        state = prepare(job["payload"], workdir) if prepare else None
        if job.get("run_as"):
            drop_privileges(job["run_as"], workdir)
        sys.addaudithook(Policy(workdir, violations_fd, network=job["network"],
                                allow_subprocess=job["allow_subprocess"]))
        value = entry(job["payload"], workdir, state) if prepare else entry(job["payload"], workdir)
        if inspect.isawaitable(value):
            value = asyncio.run(_await(value))
        finish({"value": value})
    except MemoryError:
        finish({"error": "memory limit exceeded (address-space limit of the sandbox)"})
    except BaseException as exc:  # noqa: BLE001 - report anything, including SystemExit from candidate code
        finish({"error": f"{type(exc).__name__}: {exc}"[:2000]})
    return 0


async def _await(value: Any) -> Any:
    return await value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
