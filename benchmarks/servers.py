"""Loopback servers for the benchmarks: nginx with a fixed JSON answer, and the reference app.

Both are started by the benchmark on a free ``127.0.0.1`` port, optionally pinned
to one core with ``taskset``, and stopped by it (also on Ctrl-C: use them as
context managers). Nothing here listens on anything but the loopback address.

:class:`CpuSampler` watches a client process tree's CPU time from ``/proc`` so a
benchmark can tell whether the client core was saturated.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"

#: The body nginx returns for every path and method: it has what simcore's http
#: backend reads from the reference API (``id`` for creates, ``token`` for sign-ups).
FIXED_BODY = (
    '{"id":1,"name":"bench","token":"bench-token","author_id":1,"content":"hello",'
    '"created_at":"2026-01-05T00:00:00Z","updated_at":null,"version":1,"views":0,'
    '"items":[],"next_cursor":null}'
)

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 4096;
    multi_accept on;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {{
        listen {host}:{port} backlog=4096;
        default_type application/json;
        location / {{
            if ($request_method = POST) {{
                return 201 '{body}';
            }}
            if ($request_method = DELETE) {{
                return 204;
            }}
            return 200 '{body}';
        }}
    }}
}}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def can_pin(*cores: int) -> bool:
    """Whether ``taskset`` exists and every core in ``cores`` is one this process may use."""
    return shutil.which("taskset") is not None and set(cores) <= os.sched_getaffinity(0)


def pinned(command: list[str], core: int | None) -> list[str]:
    """``command`` prefixed with ``taskset -c CORE`` (unchanged when ``core`` is None)."""
    return command if core is None else ["taskset", "-c", str(core), *command]


@contextlib.contextmanager
def on_core(core: int | None) -> Iterator[None]:
    """Run this process on ``core`` inside the block (children started there inherit it)."""
    if core is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers (any status), the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s (last error: {last})")


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM (SIGINT-like graceful stop), then SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """A server subprocess on a free loopback port; a context manager that stops it."""

    name = "server"

    def __init__(self, core: int | None = None) -> None:
        self.core = core
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"simcore-bench-{self.name}-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The command line that runs the server (without pinning)."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """Environment of the server process."""
        return dict(os.environ)

    def probe(self) -> str:
        """A URL that answers once the server is up."""
        return self.url + "/"

    def start(self) -> Server:
        """Start the server and wait until it answers."""
        log = (self.tmp / "server.log").open("wb")
        self.process = subprocess.Popen(
            pinned(self.command(), self.core),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.environment(),
            cwd=self.tmp,
        )
        try:
            wait_http(self.probe(), timeout=30.0, process=self.process)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{self.name}: {exc}; log: {self.log_tail()}") from None
        return self

    def log_tail(self) -> str:
        """The end of the server's own log, for error messages."""
        path = self.tmp / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the server and remove its temporary directory."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Nginx(Server):
    """Debian's nginx, one worker, answering every request with :data:`FIXED_BODY`."""

    name = "nginx"

    def __init__(self, core: int | None = None, binary: str | None = None) -> None:
        super().__init__(core)
        found = binary or shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(found).exists():
            raise RuntimeError("nginx not found; install it with: apt-get install -y nginx")
        self.binary = found
        conf = NGINX_CONF.format(tmp=self.tmp, host=HOST, port=self.port, body=FIXED_BODY)
        (self.tmp / "nginx.conf").write_text(conf)

    def command(self) -> list[str]:
        """``nginx -p TMP -c TMP/nginx.conf -e TMP/error.log`` (stays in the foreground)."""
        return [
            self.binary,
            "-p",
            str(self.tmp),
            "-c",
            str(self.tmp / "nginx.conf"),
            "-e",
            str(self.tmp / "error.log"),
        ]


class RefApp(Server):
    """The reference social app under uvicorn (one worker) with a fresh SQLite database."""

    name = "refapp"

    def command(self) -> list[str]:
        """``python -m uvicorn --factory simcore_backends.refapp.app:app_from_env ...``."""
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "simcore_backends.refapp.app:app_from_env",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]

    def environment(self) -> dict[str, str]:
        """``SIMCORE_APP_DB`` points at a database in the server's temp directory."""
        return {**os.environ, "SIMCORE_APP_DB": str(self.tmp / "app.db")}

    def probe(self) -> str:
        """``/health`` answers without authentication."""
        return self.url + "/health"

    def sign_up(self) -> str:
        """Sign one user up; return its bearer token."""
        request = urllib.request.Request(
            self.url + "/users",
            data=b'{"name":"bench"}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token: str = json.loads(response.read())["token"]
            return token


def _tree(root: int) -> list[int]:
    """``root`` and every live descendant, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants (and their reaped children)."""
    ticks = 0
    for pid in _tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            # utime stime cutime cstime are fields 14-17 of stat; after "pid (comm) " index 11-14
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """Samples a process tree's CPU time in a thread; :meth:`busy` is its mid-run core usage."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), cpu_seconds(self.pid)))
            self._stop.wait(self.interval)

    def start(self) -> CpuSampler:
        """Begin sampling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """End sampling."""
        self._stop.set()
        self._thread.join()

    def busy(self) -> float | None:
        """Cores' worth of CPU used over the middle 60 % of the sampled time (1.0 = one core)."""
        if len(self.samples) < 4:
            return None
        t0, t1 = self.samples[0][0], self.samples[-1][0]
        lo, hi = t0 + 0.2 * (t1 - t0), t1 - 0.2 * (t1 - t0)
        mid = [s for s in self.samples if lo <= s[0] <= hi]
        if len(mid) < 2 or mid[-1][0] <= mid[0][0]:
            return None
        return (mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0])
