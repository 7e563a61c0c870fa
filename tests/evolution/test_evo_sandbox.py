"""The sandbox contains what a variant does: hangs, CPU burn, memory, file deletion outside its dir,
network and process spawning are scored as failures with the reason, and the host is untouched."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from genesis_agents.evolution.sandbox import (
    ForkServer,
    SandboxLimits,
    network_namespace_available,
    run_sandboxed,
)

ENTRY = "genesis_agents.evolution.hooks:run_code_entry"


def job(code: str, *args):
    return {"code": code, "call": "f", "args": list(args)}


async def test_malicious_code_is_contained_with_reasons(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    cases = {
        "ok": "def f(x):\n    return {'double': x * 2}\n",
        "cpu": "def f(x):\n    while True:\n        pass\n",
        "hang": "import time\ndef f(x):\n    time.sleep(600)\n",
        "delete": f"import os\ndef f(x):\n    try:\n        os.remove({str(victim)!r})\n"
                  "    except OSError as e:\n        return 'swallowed'\n    return 'deleted'\n",
        "overwrite": f"def f(x):\n    open({str(victim)!r}, 'w').write('gone')\n",
        "network": "import socket\ndef f(x):\n    socket.create_connection(('10.255.255.1', 80), timeout=2)\n",
        "spawn": "import subprocess\ndef f(x):\n    return subprocess.run(['true']).returncode\n",
        "memory": "def f(x):\n    blob = bytearray(3 * 1024 ** 3)\n    return len(blob)\n",
        "exit": "import os\ndef f(x):\n    os._exit(7)\n",
        "syntax": "def f(x) return 1\n",
    }
    private = ("import os\ndef f(x):\n    open('note.txt', 'w').write('mine')\n"
               "    return {'cwd': os.getcwd(), 'files': sorted(os.listdir('.'))}\n")
    limits = SandboxLimits(cpu_s=2, wall_s=30, memory_mb=1024)
    short = SandboxLimits(cpu_s=2, wall_s=3, memory_mb=1024)
    base = tmp_path / "sandboxes"
    base.mkdir()
    started = time.monotonic()
    async with ForkServer() as server:
        outcomes = dict(zip(cases, await asyncio.gather(
            *(run_sandboxed(ENTRY, job(code, 21), short if name == "hang" else limits, server=server)
              for name, code in cases.items()))))
        netns = server.netns
        own = await run_sandboxed(ENTRY, job(private, 0), limits, server=server, base_dir=base)
    assert time.monotonic() - started < 60

    assert outcomes["ok"].ok and outcomes["ok"].result == {"double": 42} and outcomes["ok"].violations == []
    assert not outcomes["cpu"].ok and "CPU-time limit exceeded" in outcomes["cpu"].reason
    assert not outcomes["hang"].ok and "wall-clock limit exceeded" in outcomes["hang"].reason
    for name in ("delete", "overwrite"):
        assert not outcomes[name].ok
        assert "sandbox violation" in outcomes[name].reason and "outside the working dir" in outcomes[name].reason
    assert outcomes["delete"].result == "swallowed"  # the candidate hid the error; the record did not
    assert victim.read_text() == "precious"
    assert not outcomes["network"].ok and "network access blocked" in outcomes["network"].reason
    assert not outcomes["spawn"].ok and "process spawning blocked" in outcomes["spawn"].reason
    assert not outcomes["memory"].ok and "memory limit exceeded" in outcomes["memory"].reason
    assert not outcomes["exit"].ok and "exited with code 7" in outcomes["exit"].reason
    assert not outcomes["syntax"].ok and "syntax error" in outcomes["syntax"].reason
    expected_net = "network namespace + audit hook" if netns else "audit hook"
    assert outcomes["ok"].isolation["network"] == expected_net
    assert outcomes["ok"].isolation["launcher"] == "fork server"
    # writes inside the private working dir are fine, and the dir is removed afterwards
    assert own.ok, own.reason
    assert "note.txt" in own.result["files"] and own.result["cwd"].startswith(str(base))
    assert not Path(own.result["cwd"]).exists()


async def test_spawned_sandbox_contains_the_same_way(tmp_path: Path):
    """The fallback launcher (a fresh interpreter per job) applies the same limits and policy."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    limits = SandboxLimits(cpu_s=4, wall_s=30, memory_mb=1024)
    code = f"import os\ndef f(x):\n    os.remove({str(victim)!r})\n"
    ok, bad = await asyncio.gather(run_sandboxed(ENTRY, job("def f(x):\n    return x + 1\n", 1), limits),
                                   run_sandboxed(ENTRY, job(code, 1), limits))
    assert ok.ok and ok.result == 2 and ok.isolation["launcher"] == "spawn"
    assert not bad.ok and "outside the working dir" in bad.reason and victim.exists()
    expected_net = "network namespace + audit hook" if network_namespace_available() else "audit hook"
    assert ok.isolation["network"] == expected_net


def test_ray_executor_needs_ray_installed():
    """Ray is used only when configured *and* installed; configured without it is a clear error."""
    import importlib.util

    import pytest
    from genesis_agents.evolution import Evaluator
    from genesis_agents.evolution.examples import TRIAGE_SUITE
    from genesis_agents.infrastructure.errors import BackendUnavailableError

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("ray is installed here")
    with pytest.raises(BackendUnavailableError) as info:
        Evaluator("genesis_agents.evolution.examples.triage:TriageAgent", TRIAGE_SUITE, executor="ray")
    assert "ray" in str(info.value) and "not installed" in str(info.value)


async def test_run_as_adds_kernel_enforced_file_protection(tmp_path: Path):
    """Native code (ctypes) bypasses the audit hook; with ``run_as`` the kernel still refuses."""
    import os
    import pwd

    import pytest

    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    code = (f"import ctypes, os\ndef f(x):\n    rc = ctypes.CDLL(None, use_errno=True).unlink({str(victim).encode()!r})\n"
            "    return {'rc': rc, 'errno': ctypes.get_errno(), 'uid': os.getuid()}\n")
    limits = SandboxLimits(cpu_s=10, wall_s=60, run_as="nobody")
    async with ForkServer() as server:
        out = await run_sandboxed(ENTRY, job(code, 0), limits, server=server)
    assert out.ok, out.reason
    assert out.result["rc"] == -1 and out.result["uid"] == pwd.getpwnam("nobody").pw_uid
    assert victim.read_text() == "precious"
    assert "runs as 'nobody'" in out.isolation["filesystem"]
