"""The load generators the throughput benchmark compares, each run as a pinned subprocess.

Every runner returns a :class:`Measurement`; every load is bounded in requests and in
time and goes to the 127.0.0.1 URL it is given:

- :func:`simcore_http`: a real simcore run (this file run as a script: :func:`common.run_simcore`
  stepping the simulation and the http backend sending its batches, in one process);
- :func:`raw_client`: ``rawclient.py``, one aiohttp session and N tasks (asyncio or uvloop),
  or N bare protocol connections (what Python costs without an HTTP library);
- :func:`locust_fast`: Locust's ``FastHttpUser`` headless, read from its stats CSV;
- :func:`wrk`: the C ceiling, when Debian's ``wrk`` is installed.

Run as a script, this is the simcore client the benchmark starts pinned::

    python benchmarks/clients.py CONFIG http://127.0.0.1:PORT [--client aiohttp] [--max-seconds 120]

It prints one JSON object: actions, requests (actions sent, retries included), skipped,
errors, seconds, cpu_seconds, rps, p50_ms, p99_ms, statuses.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common import OutcomeSink, run_simcore
from servers import CpuSampler, pinned
from simcore.run.loading import load_config
from simcore.scenario.parse import with_overrides
from simcore.seam.contract import ErrorKind

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Measurement:
    """One client's run against one server."""

    client: str
    server: str
    requests: int
    seconds: float
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    busy: float | None = None  # client cores busy mid-run, sampled from /proc (1.0 = one core)
    note: str = ""

    @property
    def rps(self) -> float:
        """Requests per second over the client's own measured window."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class ClientError(RuntimeError):
    """A client subprocess failed or produced no result."""


def run_pinned(
    command: list[str], core: int | None, timeout: float, env: dict[str, str] | None = None
) -> tuple[str, float | None]:
    """Run ``command`` on ``core``; return (stdout, cores busy mid-run). Killed after ``timeout``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(pinned(command, core), stdout=out, stderr=err, env=env)
        sampler = CpuSampler(process.pid).start()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise ClientError(f"{command[0]} did not finish within {timeout:.0f} s; killed") from None
        finally:
            sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise ClientError(f"{' '.join(command[:3])}… exited {process.returncode}: {stderr[-1500:]}")
    return stdout, sampler.busy()


def simcore_command(
    config_file: Path, url: str, max_seconds: float, client: str | None = None
) -> list[str]:
    """``python benchmarks/clients.py CONFIG URL``: a simcore run with the http backend."""
    command = [sys.executable, str(HERE / "clients.py"), str(config_file), url]
    command += ["--max-seconds", str(max_seconds)]
    return command + (["--client", client] if client else [])


def simcore_http(
    server: str,
    url: str,
    config_file: Path,
    core: int | None,
    max_seconds: float,
    client: str | None = None,
) -> Measurement:
    """A real simcore run (simulation + http backend in one process), measured from the inside."""
    command = simcore_command(config_file, url, max_seconds, client)
    stdout, sampled = run_pinned(command, core, max_seconds + 60)
    result = json.loads(stdout.strip().splitlines()[-1])
    seconds, cpu = float(result["seconds"]), float(result["cpu_seconds"])
    bad = sum(v for k, v in result["statuses"].items() if int(k) >= 400)
    return Measurement(
        client=f"simcore http, {result['client']} client (sim running)",
        server=server,
        requests=int(result["requests"]),
        seconds=seconds,
        errors=int(result["errors"]),
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        busy=cpu / seconds if seconds > 0 else sampled,
        note=(
            f"{result['actions']:,} actions ({result['skipped']:,} skipped, {bad:,} answered >= 400)"
            + f", up to {result['max_ticks_in_flight']} tick(s) in flight"
            + ("" if result["complete"] else f", stopped at tick {result['ticks']} by the time bound")
        ),
    )


def raw_client(
    server: str,
    url: str,
    requests: int,
    concurrency: int,
    seconds: float,
    core: int | None,
    uvloop: bool,
    headers: dict[str, str],
    mode: str = "aiohttp",
) -> Measurement:
    """``rawclient.py``: ``concurrency`` tasks, ``requests`` GETs, with aiohttp or bare protocols."""
    command = [
        sys.executable,
        str(HERE / "rawclient.py"),
        url,
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
        "--max-seconds",
        str(seconds),
    ]
    command += ["--uvloop"] if uvloop else []
    command += ["--mode", mode]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    stdout, busy = run_pinned(command, core, timeout=seconds + 60)
    result = json.loads(stdout.strip().splitlines()[-1])
    return Measurement(
        client=(
            f"raw aiohttp ({'uvloop' if uvloop else 'asyncio'})"
            if mode == "aiohttp"
            else f"bare asyncio protocol ({'uvloop' if uvloop else 'asyncio'})"
        ),
        server=server,
        requests=int(result["requests"]),
        seconds=float(result["seconds"]),
        errors=int(result["errors"]),
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        busy=float(result["cpu_seconds"]) / float(result["seconds"]) if result["seconds"] else busy,
    )


def locust_fast(
    server: str,
    base_url: str,
    path: str,
    requests: int,
    concurrency: int,
    seconds: float,
    core: int | None,
    token: str = "",
    processes: int = 1,
) -> Measurement:
    """Locust ``FastHttpUser`` headless: ``-u/-r concurrency``, ``--run-time``, stats from its CSV."""
    locust = shutil.which("locust", path=str(BIN)) or shutil.which("locust")
    if locust is None:
        raise ClientError("locust is not installed; pip install locust (the 'bench' extra)")
    with tempfile.TemporaryDirectory(prefix="simcore-bench-locust-") as tmp:
        command = [
            locust,
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "-u",
            str(concurrency),
            "-r",
            str(concurrency),
            "--run-time",  # + 1 s: users spawn over the first second, then stats reset
            f"{max(1, round(seconds)) + 1}s",
            "--host",
            base_url,
            "--csv",
            f"{tmp}/locust",
            "--reset-stats",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ]
        if processes > 1:
            command += ["--processes", str(processes)]
        env = {
            **os.environ,
            "BENCH_PATH": path,
            "BENCH_TOKEN": token,
            "BENCH_MAX_REQUESTS": str(requests),
        }
        _, busy = run_pinned(command, core, timeout=seconds + 60, env=env)
        with open(f"{tmp}/locust_stats.csv", newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows["Aggregated"]
    count = int(total["Request Count"])
    rps = float(total["Requests/s"])
    return Measurement(
        client="locust FastHttpUser" + (f" ×{processes} proc" if processes > 1 else ""),
        server=server,
        requests=count,
        seconds=count / rps if rps > 0 else 0.0,
        errors=int(total["Failure Count"]),
        p50_ms=float(total["50%"]),
        p99_ms=float(total["99%"]),
        busy=busy,
    )


_WRK_LUA = """\
local count = 0
local budget = {budget}
{headers}
response = function(status, headers, body)
    count = count + 1
    if count >= budget then wrk.thread:stop() end
end
"""


def wrk(
    server: str,
    url: str,
    requests: int,
    concurrency: int,
    seconds: float,
    core: int | None,
    headers: dict[str, str],
) -> Measurement:
    """Debian's ``wrk -t1``: the C ceiling (time-bounded, and stopped after ``requests``)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise ClientError("wrk is not installed (optional): apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="simcore-bench-wrk-") as tmp:
        lua = Path(tmp) / "bound.lua"
        header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
        lua.write_text(_WRK_LUA.format(budget=requests, headers=header_lines))
        command = [
            binary,
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(lua),
            url,
        ]
        stdout, busy = run_pinned(command, core, timeout=seconds + 30)
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", stdout)
    if done is None:
        raise ClientError(f"could not read wrk's output: {stdout[-500:]}")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)

    def percentile(label: str) -> float | None:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", stdout, re.M)
        if found is None:
            return None
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        return float(found.group(1)) * scale

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    return Measurement(
        client="wrk -t1 (C ceiling)",
        server=server,
        requests=int(done.group(1)),
        seconds=elapsed,
        errors=int(errors.group(1)) if errors else 0,
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        busy=busy,
    )


def simcore_client(
    config_file: Path, target: str, max_seconds: float, client: str | None = None
) -> dict[str, Any]:
    """Run the scenario against ``target`` in this process, as ``simcore run --speed max`` does;
    stop (between hours of ticks) after ``max_seconds``."""
    config = with_overrides(load_config(config_file), backend__name="http", backend__target=target)
    options = {"target": target} | ({"client": client} if client else {})
    sink = OutcomeSink()
    run = run_simcore(config, "http", options, [sink], max_seconds)
    error = sink.joined("error")
    sent = sink.sent()
    failed = (error == ErrorKind.CONNECTION) | (error == ErrorKind.TIMEOUT)
    requests = int(sink.joined("attempts").astype(np.int64)[sent].sum())
    p50, p99 = sink.latency_percentiles()
    return {
        "client": getattr(run.backend, "client", "?"),
        "ticks": run.ticks,
        "complete": run.complete,
        "max_ticks_in_flight": run.max_ticks_in_flight,
        "actions": len(error),
        "requests": requests,
        "skipped": int((error == ErrorKind.SKIPPED).sum()),
        "errors": int(failed.sum()),  # no answer; 4xx answers are the API's (e.g. 404 after a delete)
        "seconds": run.wall,
        "cpu_seconds": run.cpu,
        "rps": requests / run.wall if run.wall > 0 else 0.0,
        "p50_ms": p50,
        "p99_ms": p99,
        "statuses": {str(k): v for k, v in sink.statuses().items()},
    }


def main() -> None:
    """The simcore client: parse the command line, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("config", type=Path, help="a simcore TOML config")
    parser.add_argument("target", help="base URL of a 127.0.0.1 server")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="stop between simulated hours after this long (default 120)",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "lean", "aiohttp"),
        help="the http backend's client (backend.client)",
    )
    args = parser.parse_args()
    print(json.dumps(simcore_client(args.config, args.target, args.max_seconds, args.client)))


if __name__ == "__main__":
    main()
