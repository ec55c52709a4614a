"""Running `simcore` as a hostile user would: in a child process whose address space is capped,
so a value that asks for too much memory ends in a MemoryError there, never in the OOM killer."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

#: The child's address-space cap: room for numpy and pyarrow, not for a runaway allocation.
MEMORY_CAP = 3 * 2**30


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def simcore(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``simcore ARGS`` in ``cwd`` under the memory cap; stdout and stderr together."""
    return subprocess.run(
        [sys.executable, "-m", "simcore.ui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_cap,
    )


def assert_clean_failure(done: subprocess.CompletedProcess[str]) -> str:
    """The run ended as the CLI promises: exit 0 or a stop/threshold code, or exit 2 with one
    ``error:`` message, never a traceback. Returns the output."""
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out
    assert done.returncode in (0, 2, 3, 130, 143), (done.returncode, out)
    if done.returncode == 2:
        assert "error:" in out, out
    return out
