"""Crash-resume: a child process is killed mid-run; the run resumes without re-running finished steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.runtime.crash_child", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_killed_run_resumes_without_rerunning_finished_subtasks(tmp_path: Path) -> None:
    data, work = tmp_path / "host", tmp_path / "work"
    work.mkdir()
    run_id = "run_crash_resume"
    child = _child(str(data), str(work), run_id)
    deadline = time.monotonic() + 120
    while not (work / "second.started").exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "child never reached the second step"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert (work / "first.count").read_text() == "1"

    (work / "release").write_text("go")
    resumed = _child(str(data), str(work), run_id, "resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.startswith("succeeded"), out + err
    assert (work / "first.count").read_text() == "1"  # the finished step was not re-run
    assert (work / "second.count").read_text() == "2"  # the interrupted step ran again
    assert "first done (invocation 1)" in out and "second done (invocation 2)" in out
