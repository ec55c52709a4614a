"""The scenario's backend tables: routes, the backend, simulated faults and failure limits."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from simcore.scenario.kinds import KINDS


@frozen
class Route:
    """How one action kind reaches the API: a method, a path template and a JSON body template.

    Templates hold placeholders such as ``{id}`` (the server's id of the target
    post), ``{content}``, ``{name}``, ``{user}`` (the simulated user's id) and
    ``{user_id}`` (the server's id of the user); see :mod:`simcore.scenario.routes`. ``id``
    is the (dotted) JSON field of the answer holding a new resource's id ("" = take
    it from the ``Location`` header), or, on a route that answers with the post it
    acted on (an edit), its id as the server now spells it (a slug that changed);
    ``token`` the field of the sign-up (or log-in) answer holding the user's bearer
    token ("" = the API has no tokens). ``ok`` lists statuses that count as success
    (an "already liked" 409 on a retry); ``exists`` (sign_up only) the statuses that
    mean "this user already exists": the user is then logged in through the
    ``log_in`` route instead.
    """

    method: str = "GET"
    path: str = "/"
    body: dict[str, Any] = field(factory=dict)
    id: str = ""
    token: str = ""
    ok: tuple[int, ...] = ()
    exists: tuple[int, ...] = ()


def reference_routes() -> dict[str, Route]:
    """The reference app's API, one route per action kind (the default ``[backend.routes]``)."""
    return {
        spec.name: Route(
            spec.method, spec.route_path, dict(spec.route_body), id=spec.route_id, token=spec.route_token
        )
        for spec in KINDS
    }


@frozen
class Backend:
    """Which backend executes the actions, where it sends them, and how it copes with failures.

    ``name`` is a name from the ``simcore.backends`` entry points. ``target`` is the
    base URL of the http backend, ``client`` its HTTP client ("lean": simcore's own
    keep-alive client on llhttp, "aiohttp", or "auto": lean when httptools is
    installed); ``app`` the ``module:attr`` FastAPI app of the
    testclient backend ("" = the reference app, over the SQLite file ``db``, a fresh
    temporary one per run if ""). ``concurrency`` bounds the requests in flight,
    ``connections`` the connection pool (0 = ``concurrency``); ``timeout`` is in
    seconds per attempt; ``pipeline`` ticks may be in flight at once (1 = each tick's
    requests are all answered before the next tick's start); a failed attempt is
    retried up to ``retries`` times after
    an exponential, jittered backoff from ``backoff_ms`` up to ``backoff_max_ms``.
    ``namespace`` is the value of the routes' ``{run}`` placeholder ("" = a random
    token made at the run's start and kept in its snapshots).
    """

    name: str = "mock"
    target: str = "http://127.0.0.1:8000"
    client: str = "auto"
    app: str = ""
    db: str = ""
    concurrency: int = 64
    connections: int = 0
    timeout: float = 10.0
    pipeline: int = 4
    retries: int = 3
    backoff_ms: float = 50.0
    backoff_max_ms: float = 5000.0
    auth_header: str = "Authorization"
    auth_format: str = "Bearer {token}"
    namespace: str = ""
    routes: dict[str, Route] = field(factory=reference_routes)
    #: Kinds the API does not have: the crowd never does them (their weights count as 0).
    lacks: list[str] = field(factory=list)


@frozen
class Faults:
    """Simulated failures for the mock and testclient backends (keyed, like every draw).

    Each attempt of each action fails with ``error_rate`` (answered ``error_status``)
    or times out with ``timeout_rate``, and takes an extra lognormal latency of
    median ``latency_median_ms`` and sigma ``latency_sigma`` (0 = none).
    """

    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    latency_median_ms: float = 0.0
    latency_sigma: float = 0.0


@frozen
class Limits:
    """When a run gives up by itself (exit code 4), checked while it runs.

    The run stops when more than ``failure_share`` of the last ``window`` actions
    failed (once ``window`` actions were seen; 1 = never), or when every attempt
    was a connection error for ``unreachable_seconds`` of wall time (0 = never).
    """

    failure_share: float = 0.5
    window: int = 1000
    unreachable_seconds: float = 60.0
