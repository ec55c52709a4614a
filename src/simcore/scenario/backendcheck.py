"""Checks of the settings of a run's backend: the target, the client, retries, auth, routes and
kinds, the failure limits and the simulated faults (each problem with its TOML key path)."""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

from simcore.scenario.checks import Problems, check_range, did_you_mean
from simcore.scenario.kindcheck import kind_set_problems, lacks_problems
from simcore.scenario.routes import fields_of, route_problems
from simcore.scenario.schema import Config

CLIENTS = ("auto", "lean", "aiohttp")
_APP_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{0,32}")


def target_problem(target: str) -> str | None:
    """Why ``target`` is not a usable base URL (None if it is)."""
    try:
        url = urlsplit(target)
        port = url.port
    except ValueError as exc:
        return f"got {target!r}: {exc}; expected a URL such as http://127.0.0.1:8000"
    if url.scheme not in ("http", "https") or not url.hostname:
        return f"got {target!r}, expected an http:// or https:// URL such as http://127.0.0.1:8000"
    if url.query or url.fragment:
        return f"got {target!r}; a base URL has no query or fragment"
    if port == 0:
        return f"got {target!r}; port 0 is not a port to connect to"
    host = url.hostname
    if not host.startswith("[") and ":" not in host:
        try:
            host.encode("idna")
        except UnicodeError:
            return f"got {target!r}: '{host}' is not a valid host name (empty or over-long label)"
    return None


def backend_problems(out: Problems, config: Config) -> None:
    b = config.backend
    if not b.name:
        out.append(("backend.name", "empty; name a backend such as 'mock'"))
    problem = target_problem(b.target)
    if problem:
        out.append(("backend.target", problem))
    if b.client not in CLIENTS:
        out.append(("backend.client", f"got {b.client!r}; {did_you_mean(b.client, CLIENTS)}"))
    if b.app and not _APP_SPEC.fullmatch(b.app):
        out.append(
            ("backend.app", f"got {b.app!r}, expected 'module:attribute' such as 'myapp.main:app'")
        )
    check_range(out, "backend.concurrency", b.concurrency, 1, 100_000)
    check_range(out, "backend.connections", b.connections, 0, 100_000)
    check_range(out, "backend.timeout", b.timeout, 0, 3600, low_open=True)
    check_range(out, "backend.pipeline", b.pipeline, 1, 64)
    check_range(out, "backend.retries", b.retries, 0, 100)
    check_range(out, "backend.backoff_ms", b.backoff_ms, 0, 3_600_000)
    check_range(out, "backend.backoff_max_ms", b.backoff_max_ms, 0, 3_600_000)
    if b.backoff_max_ms < b.backoff_ms:
        out.append(
            ("backend.backoff_max_ms", f"got {b.backoff_max_ms}, expected at least backend.backoff_ms")
        )
    if not b.auth_header or any(c in b.auth_header for c in " :\r\n"):
        out.append(("backend.auth_header", f"got {b.auth_header!r}, expected a header name"))
    try:
        names = fields_of(b.auth_format)
    except ValueError as exc:
        out.append(("backend.auth_format", f"malformed: {exc}"))
    else:
        if names != ["token"]:
            out.append(
                (
                    "backend.auth_format",
                    f"got {b.auth_format!r}, expected one {{token}}, e.g. 'Bearer {{token}}'",
                )
            )
    if not _NAMESPACE.fullmatch(b.namespace):
        out.append(
            (
                "backend.namespace",
                f"got {b.namespace!r}, expected up to 32 letters, digits, '-' or '_' "
                '(or "" for a random token per run)',
            )
        )
    kind_problems, kinds = kind_set_problems(config)
    out.extend(kind_problems)
    out.extend(route_problems(b.routes, kinds=kinds))
    out.extend(lacks_problems(config, kinds))


def limits_problems(out: Problems, config: Config) -> None:
    lim = config.limits
    check_range(out, "limits.failure_share", lim.failure_share, 0, 1, low_open=True)
    check_range(out, "limits.window", lim.window, 1, 100_000_000)
    check_range(out, "limits.unreachable_seconds", lim.unreachable_seconds, 0, 31_536_000)


def faults_problems(out: Problems, config: Config) -> None:
    f = config.faults
    check_range(out, "faults.error_rate", f.error_rate, 0, 1)
    check_range(out, "faults.timeout_rate", f.timeout_rate, 0, 1)
    if math.isfinite(f.error_rate + f.timeout_rate) and f.error_rate + f.timeout_rate > 1:
        out.append(("faults.timeout_rate", "faults.error_rate + faults.timeout_rate exceeds 1"))
    check_range(out, "faults.error_status", f.error_status, 400, 599)
    check_range(out, "faults.latency_median_ms", f.latency_median_ms, 0, 3_600_000)
    check_range(out, "faults.latency_sigma", f.latency_sigma, 0, 5)
