"""Run untrusted work (an agent variant and its evaluation) in a contained subprocess.

Layers, each independent of the others:
- a fresh process per job in its own session (process group), so the host can kill all of it; either
  forked from a pre-imported zygote (``ForkServer``: milliseconds per job) or a newly spawned interpreter;
- ``resource`` limits set before ``exec``: CPU seconds, address space, file size, no core dumps;
- a wall-clock limit enforced by the parent (kills the process group);
- a private network namespace (``unshare --net``) when the host permits it: no interface but a downed
  loopback, so nothing can be reached at the kernel level;
- inside the child, a Python audit hook (``sys.addaudithook``, which cannot be removed) installed before
  any candidate code runs: writes, deletes, renames outside the temp working dir, every socket
  connect/bind/DNS lookup, and process spawning are refused *and recorded*, so the parent can score the
  variant as failed with the reason even if the candidate swallows the ``PermissionError``.

Limitation (stated, not hidden): the audit hook sees Python-level operations; native code loaded through
``ctypes`` could bypass it. Where the network namespace is unavailable, the network block relies on the
hook alone. Code running inside the child could also tamper with its own evaluation in memory: the sandbox
protects the host, and the promotion gate re-evaluates on held-out cases in a fresh sandbox.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..infrastructure.errors import BackendUnavailableError

CHILD_MODULE = "genesis_agents.evolution._child"
ZYGOTE_MODULE = "genesis_agents.evolution._zygote"


class SandboxLimits(BaseModel):
    """Explicit, configurable limits for one sandboxed job."""

    model_config = ConfigDict(extra="forbid")

    cpu_s: int = Field(default=120, ge=1, description="CPU seconds (RLIMIT_CPU)")
    memory_mb: int = Field(default=3072, ge=64, description="address space in MiB (RLIMIT_AS)")
    wall_s: float = Field(default=180.0, gt=0, description="wall-clock seconds before the group is killed")
    file_size_mb: int = Field(default=256, ge=1, description="largest file the child may write (RLIMIT_FSIZE)")
    network: bool = Field(default=False, description="allow network access (off: namespace + audit hook)")
    allow_subprocess: bool = Field(default=False, description="allow the child to spawn processes")
    keep_workdir: bool = Field(default=False, description="keep the temp dir for inspection")
    run_as: str | None = Field(default=None, description="drop to this user (e.g. 'nobody') before candidate "
                               "code runs: kernel-enforced file permissions; needs root; scenario input "
                               "files must then be world-readable")


class SandboxOutcome(BaseModel):
    """What came back: the job's result dict, or why there is none; plus every recorded violation."""

    ok: bool
    result: dict[str, Any] | None = None
    reason: str | None = None
    violations: list[str] = Field(default_factory=list)
    exit_code: int | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    stderr_tail: str = ""
    isolation: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None


@functools.lru_cache(maxsize=1)
def network_namespace_available() -> bool:
    """Whether ``unshare --net`` works here (needs root or user namespaces). Probed once per process."""
    exe = shutil.which("unshare")
    if not exe:
        return False
    try:
        return subprocess.run([exe, "--net", "true"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _limit_child(limits: SandboxLimits) -> None:
    """Runs in the forked child before exec: new session and resource limits."""
    import resource

    os.setsid()
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 2))
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = limits.file_size_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _shared_cache() -> Path:
    """Caches that trusted libraries fill *before* the audit hook (matplotlib's font list), shared by all
    sandboxes so that no child has to rebuild them (which would spawn ``fc-list``)."""
    path = Path(tempfile.gettempdir()) / "genesis-sandbox-cache" / "matplotlib"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _child_env(workdir: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "HF_HOME", "TRANSFORMERS_OFFLINE",
            "HF_HUB_OFFLINE", "SENTENCE_TRANSFORMERS_HOME", "TORCH_HOME")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({
        "HOME": str(workdir), "TMPDIR": str(workdir / "tmp"), "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "NO_PROXY": "*",
        "MPLCONFIGDIR": str(_shared_cache()), "MPLBACKEND": "Agg",
    })
    return env


class ForkServer:
    """A pre-imported zygote that forks one sandboxed child per job (see ``_zygote``).

    Starting a fresh interpreter costs ~1.5 s of imports per evaluation; forking the zygote costs
    milliseconds. Bound to the event loop it was started in; ``await aclose()`` when done (closing its
    stdin also makes it kill any child still running).
    """

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pids: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[tuple[int, float]]] = {}
        self._next = 0
        self._lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()
        self.netns = False
        self.info: dict[str, Any] = {}

    async def start(self) -> ForkServer:
        async with self._start_lock:  # concurrent first launches must not start two zygotes
            if self._reader is None:
                await self._start()
        return self

    async def _start(self) -> None:
        base = Path(tempfile.gettempdir())
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-B", "-m", ZYGOTE_MODULE, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=_child_env(base), cwd=str(base),
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), timeout=120)
        if not line:
            raise BackendUnavailableError("sandbox fork server", "the zygote exited while starting")
        self.info = json.loads(line)
        self.netns = bool(self.info.get("netns"))
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        loop = asyncio.get_running_loop()
        while True:
            line = await stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            if "id" in msg:
                fut = self._pids.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg["pid"])
            elif "exit" in msg:
                done = self._exits.setdefault(msg["pid"], loop.create_future())
                if not done.done():
                    done.set_result((msg["exit"], float(msg.get("cpu_s", 0.0))))
        pending: list[asyncio.Future[Any]] = [*self._pids.values(), *self._exits.values()]
        for waiter in pending:
            if not waiter.done():
                waiter.set_exception(BackendUnavailableError("sandbox fork server", "the zygote exited"))

    async def launch(self, cmd: dict[str, Any]) -> tuple[int, asyncio.Future[tuple[int, float]]]:
        """Fork a child for ``cmd``; returns its pid and a future of (exit code, CPU seconds)."""
        await self.start()
        assert self._proc is not None and self._proc.stdin is not None
        loop = asyncio.get_running_loop()
        async with self._lock:
            self._next += 1
            job_id = self._next
            fut: asyncio.Future[int] = loop.create_future()
            self._pids[job_id] = fut
            self._proc.stdin.write((json.dumps({**cmd, "id": job_id}) + "\n").encode())
            await self._proc.stdin.drain()
        pid = await fut
        return pid, self._exits.setdefault(pid, loop.create_future())

    def forget(self, pid: int) -> None:
        """Drop the bookkeeping of a finished child."""
        self._exits.pop(pid, None)

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        reader, self._reader = self._reader, None
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)

    async def __aenter__(self) -> ForkServer:  # noqa: PYI034
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def run_sandboxed(
    entry: str,
    payload: dict[str, Any],
    limits: SandboxLimits | None = None,
    *,
    base_dir: str | Path | None = None,
    server: ForkServer | None = None,
    preload: list[str] | None = None,
) -> SandboxOutcome:
    """Run ``entry`` ("module:function", sync or async, taking the payload dict and the workdir path and
    returning a JSON-able dict) in a sandboxed child. Never raises for anything the child does.

    With ``server`` the child is forked from that pre-imported zygote (fast); without, a fresh
    interpreter is spawned (slower, no long-lived helper process).
    """
    limits = limits or SandboxLimits()
    workdir = Path(tempfile.mkdtemp(prefix="genesis-sbx-", dir=base_dir)).resolve()
    private = Path(tempfile.mkdtemp(prefix="genesis-sbx-ctl-", dir=base_dir)).resolve()
    (workdir / "tmp").mkdir()
    job = {"entry": entry, "payload": payload, "workdir": str(workdir), "network": limits.network,
           "allow_subprocess": limits.allow_subprocess, "result_path": str(private / "result.json"),
           "violations_path": str(private / "violations.log"), "run_as": limits.run_as}
    job_path = private / "job.json"
    job_path.write_text(json.dumps(job, default=str), encoding="utf-8")
    stderr_path = private / "stderr.log"
    isolation = {"process": "own session", "limits": "rlimit cpu/as/fsize", "filesystem": "audit hook",
                 "network": "allowed" if limits.network else "audit hook",
                 "launcher": "fork server" if server else "spawn"}
    if limits.run_as:
        isolation["filesystem"] = f"audit hook + runs as {limits.run_as!r}"
    started = time.monotonic()
    timed_out = False
    exit_code: int | None = None
    cpu = 0.0
    try:
        if server is not None:
            await server.start()
            netns = not limits.network and server.netns
            cmd = {"job_path": str(job_path), "stderr_path": str(stderr_path), "workdir": str(workdir),
                   "env": _child_env(workdir), "limits": limits.model_dump(), "netns": netns,
                   "preload": preload or []}
            pid, exited = await server.launch(cmd)
            if netns:
                isolation["network"] = "network namespace + audit hook"
            try:
                exit_code, cpu = await asyncio.wait_for(asyncio.shield(exited), timeout=limits.wall_s)
            except TimeoutError:
                timed_out = True
                _kill_group(pid)
                exit_code, cpu = await exited
            except BaseException:
                _kill_group(pid)
                raise
            finally:
                server.forget(pid)
            _kill_group(pid)
        else:
            cmd_line = [sys.executable, "-I", "-B", "-m", CHILD_MODULE, str(job_path)]
            if not limits.network and network_namespace_available():
                cmd_line = [shutil.which("unshare") or "unshare", "--net", "--"] + cmd_line
                isolation["network"] = "network namespace + audit hook"
            usage_before = _children_cpu()
            with open(stderr_path, "wb") as err, open(os.devnull, "rb") as devnull:  # noqa: ASYNC230 - local, instant
                try:
                    proc = await asyncio.create_subprocess_exec(
                        *cmd_line, stdin=devnull, stdout=err, stderr=err, cwd=str(workdir),
                        env=_child_env(workdir), preexec_fn=functools.partial(_limit_child, limits),
                    )
                except OSError as exc:
                    return SandboxOutcome(ok=False, reason=f"could not start the sandbox: {exc}", isolation=isolation)
                try:
                    exit_code = await asyncio.wait_for(proc.wait(), timeout=limits.wall_s)
                except TimeoutError:
                    timed_out = True
                    _kill_group(proc.pid)
                    exit_code = await proc.wait()
                except BaseException:
                    _kill_group(proc.pid)
                    await proc.wait()
                    raise
                finally:
                    _kill_group(proc.pid)  # stragglers the child may have left in its group
            cpu = max(0.0, _children_cpu() - usage_before)
        return _collect(private, stderr_path, limits, exit_code=exit_code, timed_out=timed_out, cpu=cpu,
                        wall=time.monotonic() - started, isolation=isolation, workdir=workdir)
    finally:
        _cleanup(workdir, private, keep=limits.keep_workdir)


def _collect(private: Path, stderr_path: Path, limits: SandboxLimits, *, exit_code: int | None, timed_out: bool,
             cpu: float, wall: float, isolation: dict[str, str], workdir: Path) -> SandboxOutcome:
    violations = _read_lines(private / "violations.log")
    stderr_tail = _tail(stderr_path)
    result = _read_json(private / "result.json")
    outcome = SandboxOutcome(ok=False, result=None, violations=violations, exit_code=exit_code,
                             wall_s=round(wall, 3), cpu_s=round(cpu, 3), stderr_tail=stderr_tail,
                             isolation=isolation, workdir=str(workdir) if limits.keep_workdir else None)
    if isinstance(result, dict):
        outcome.peak_rss_mb = float(result.pop("_peak_rss_mb", 0.0) or 0.0)
    if timed_out:
        outcome.reason = f"wall-clock limit exceeded ({limits.wall_s:g}s); process group killed"
    elif exit_code == -signal.SIGXCPU or (exit_code == -signal.SIGKILL and cpu >= limits.cpu_s * 0.9):
        outcome.reason = f"CPU-time limit exceeded ({limits.cpu_s}s)"
    elif isinstance(result, dict) and result.get("error"):
        outcome.reason = str(result["error"])
    elif not isinstance(result, dict) or "value" not in result:
        sig = f" (signal {signal.Signals(-exit_code).name})" if exit_code and exit_code < 0 else ""
        outcome.reason = f"child exited with code {exit_code}{sig} without a result" + (
            f": {stderr_tail.strip().splitlines()[-1]}" if stderr_tail.strip() else "")
    else:
        outcome.ok = True
        outcome.result = result["value"]
    if violations:
        outcome.ok = False
        outcome.reason = f"sandbox violation: {violations[0]}" + (
            f" (+{len(violations) - 1} more)" if len(violations) > 1 else "")
    return outcome


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return list(dict.fromkeys(line for line in text.splitlines() if line.strip()))[:50]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _tail(path: Path, n: int = 4000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - n))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _cleanup(workdir: Path, private: Path, *, keep: bool) -> None:
    shutil.rmtree(private, ignore_errors=True)
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
