"""``simcore run --web`` as a user starts it (a subprocess on a free loopback port), and the
small HTTP reads the web-view tests make of it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.helpers import wait_until
from tests.support.liveserver import free_port
from tests.support.paths import DEFAULT_PROFILE


def get(url: str, timeout: float = 5.0) -> bytes:
    """The body of a GET of ``url``."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data: bytes = response.read()
        return data


def get_state(base: str) -> dict[str, Any]:
    """The web view's ``/state`` document under ``base``."""
    document: dict[str, Any] = json.loads(get(base + "state"))
    return document


@contextmanager
def web_run(
    tmp_path: Path, *extra: str, linger: str = "30"
) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """``simcore run --web`` in a subprocess; yields (page URL, process, run dir); stops it after."""
    port = free_port()
    out = tmp_path / "run"
    args = [sys.executable, "-m", "simcore", "run", str(DEFAULT_PROFILE), "--out", str(out), "--quiet"]
    args += ["--no-control", "--web-bind", f"127.0.0.1:{port}", "--web-linger", linger, *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        try:
            get_state(base)
            return True
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"the web view did not come up: {proc.communicate()}") from None
            return False

    try:
        wait_until("the web view", up, 30)
        yield base, proc, out
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
