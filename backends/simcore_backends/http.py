"""The http backend: real async HTTP against a running server, on one event loop.

``--backend http --target http://127.0.0.1:8000`` sends the actions' requests
concurrently (uvloop drives the loop when it is installed):

- ``backend.concurrency`` workers, each with its own keep-alive connection and one
  request at a time on it: at most that many requests in flight (and at most
  ``backend.connections``, if smaller), so a slow server slows the run down
  instead of piling up requests;
- the lean client of :mod:`simcore_backends.wire` (llhttp through ``httptools``)
  or aiohttp's ``ClientSession`` (``backend.client``);
- a timeout of ``backend.timeout`` seconds per attempt;
- retries of connection errors, timeouts, 429 and 5xx answers under the shared
  :class:`~simcore.seam.retry.RetryPolicy` (exponential backoff, keyed jitter,
  ``Retry-After`` honoured); every request that is not a GET carries an
  ``Idempotency-Key`` made of a per-run nonce and the action's sequence number,
  so a retried create never creates twice;
- up to ``backend.pipeline`` ticks in flight at once: the controller steps the
  simulation ahead while earlier ticks' requests are still out, and the workers
  take requests in (tick, position) order under the ordering rule of
  :mod:`simcore_backends.ordering` (a request waits only for the earlier ones
  that sign its user up or change the post it touches). Memory stays flat: the
  window of ticks and the workers are both bounded.

Each action's outcome holds its final status (0 if no answer came), latency in
ms from its first attempt to its final answer (backoff waits included),
attempts, and error kind (``connection``, ``timeout``, ``skipped``, ``bad_answer``).
A sign-up answered with a status of its route's ``exists`` list is followed by the
``log_in`` route's request (its attempts and time count toward the sign-up's).
The id map (tokens, server ids) is the backend's state: snapshots keep it.
"""

from __future__ import annotations

import asyncio
import socket
import time
import warnings
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.errors import BackendError
from simcore.scenario.backendcheck import target_problem
from simcore.seam.contract import (
    AsyncBackend,
    BackendContext,
    ErrorKind,
    Outcomes,
    OwnsEventLoop,
    Pipelined,
    SharesIds,
    Stateful,
)
from simcore.seam.retry import RetryPolicy, parse_retry_after, retryable

from . import wire
from .idmap import combine_states
from .ordering import Job, Tracker
from .rest import Prepared, Request, Rest


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def probe(target: str, timeout: float) -> None:
    """Raise :class:`BackendError` unless a TCP connection to ``target`` can be opened."""
    url = urlsplit(target)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise BackendError(
            f"cannot reach the target {target} ({host}:{port}): {reason}; start the server "
            "(for the reference app: simcore serve) or pass the right --target URL"
        ) from None


class HttpBackend(AsyncBackend, Pipelined, OwnsEventLoop, Stateful, SharesIds):
    """Executes batches against a server over HTTP; snapshots keep its id map."""

    name = "http"

    def __init__(
        self, target: str | None = None, client: str | None = None, pipeline: int | None = None
    ) -> None:
        self.target_option = target
        self.client_option = client  # overrides backend.client
        self.pipeline_option = pipeline  # overrides backend.pipeline
        self.target = ""
        self.rest: Rest | None = None
        self.policy = RetryPolicy()
        self.concurrency = 64
        self.connections = 64
        self.timeout = 10.0
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests ever in flight at once (for tests and reports)
        self.batches_in_flight = 0
        self.max_batches_in_flight = 0  # the most ticks ever in flight at once
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._base = ""
        self._prefix = ""
        self._wire: wire.Wire | None = None
        self._client_error: type[BaseException] = OSError
        self.client = "auto"
        self.pipeline = 1  # ticks the controller may keep in flight (backend.pipeline)
        self.tracker = Tracker()
        self._queue: deque[_Work] = deque()
        self._ready = asyncio.Event()
        self._workers: list[asyncio.Future[None]] = []

    new_event_loop = staticmethod(new_event_loop)

    def learned_ids(self) -> dict[str, list[Any]]:
        """The server ids this instance learned since the last call (``SharesIds``)."""
        return dict(self.rest.ids.take_learned()) if self.rest is not None else {}

    def learn_ids(self, ids: dict[str, list[Any]]) -> None:
        """Take the server ids other instances learned (``SharesIds``)."""
        if self.rest is not None:
            self.rest.ids.learn(ids)

    def combine_states(self, states: list[dict[str, NDArray[Any]]]) -> dict[str, NDArray[Any]]:
        """The id maps of several instances as one (``SharesIds``)."""
        return combine_states(states)

    def open(self, context: BackendContext) -> None:
        """Check the target and that it answers connections; set up the request builder."""
        cfg = context.config.backend
        target = self.target_option or cfg.target
        problem = target_problem(target)
        if problem:
            raise BackendError(f"--target: {problem}")
        self.target = target
        self._base = target.rstrip("/")
        self.connections = cfg.connections or cfg.concurrency
        self.concurrency = min(cfg.concurrency, self.connections)  # one request per connection
        self.timeout = cfg.timeout
        self.pipeline = self.pipeline_option or cfg.pipeline
        self.policy = RetryPolicy.from_config(cfg, context.seed)
        try:
            import aiohttp
        except ImportError as exc:
            raise BackendError(
                f"the http backend needs aiohttp ({exc}); install it with pip install 'simcore[http]'"
            ) from None
        self._client_error = aiohttp.ClientError
        client = self.client_option or cfg.client
        if client == "lean" and not wire.AVAILABLE:
            raise BackendError("backend.client = 'lean' needs httptools: pip install httptools")
        self.client = "lean" if client == "lean" or (client == "auto" and wire.AVAILABLE) else "aiohttp"
        if client == "auto" and not wire.AVAILABLE:
            warnings.warn(
                "httptools is not installed, so the http backend uses aiohttp (2-4x the client CPU "
                "per request, benchmarks/RESULTS.md); pip install httptools for the lean client",
                RuntimeWarning,
                stacklevel=2,
            )
        if self.client == "lean":
            url = urlsplit(target)
            tls = url.scheme == "https"
            port = url.port or (443 if tls else 80)
            self._wire = wire.Wire(url.hostname or "", port, tls, self.timeout, self.concurrency)
            self._prefix = url.path.rstrip("/")
        probe(target, min(self.timeout, 5.0))
        self.rest = Rest(context.config, context.seed)
        self.tracker = Tracker(context.config.kind_set.base)

    def close(self) -> None:
        """Stop the workers and close the connections (on the loop that opened them)."""
        loop = self._loop
        usable = loop is not None and not loop.is_closed() and not loop.is_running()
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        if workers and usable and loop is not None:
            loop.run_until_complete(asyncio.gather(*workers, return_exceptions=True))
        self._queue.clear()
        if self._wire is not None:
            self._wire.close()
            if usable and loop is not None:
                loop.run_until_complete(asyncio.sleep(0))  # let the transports finish closing
        session, self._session = self._session, None
        if session is not None and loop is not None and not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(session.close())

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The id map (users' tokens and server ids, posts' server ids), for snapshots."""
        if self.rest is None:
            raise BackendError("the http backend is not open")
        return self.rest.state_arrays()

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Continue from a snapshot's id map (a resumed run against the same server)."""
        if self.rest is None:
            raise BackendError("the http backend is not open")
        self.rest.load_state(arrays)

    async def _ensure_session(self) -> Any:
        if self._wire is not None:
            self._loop = asyncio.get_running_loop()
            return None
        if self._session is None:
            import aiohttp

            self._loop = asyncio.get_running_loop()
            connector = aiohttp.TCPConnector(
                limit=self.connections, limit_per_host=self.connections, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
                headers={"User-Agent": "simcore"},
            )
        return self._session

    async def execute_async(self, batch: ActionBatch) -> Outcomes:
        """Queue every action of ``batch``; return when each has its final answer.

        Several calls may be in flight at once (the controller's pipeline); their
        requests are sent in call order, under the ordering rule.
        """
        if self.rest is None:
            raise BackendError("the http backend is not open")
        session = await self._ensure_session()
        n = len(batch)
        out = Outcomes.pending(n, real=True)
        if n == 0:
            return out
        prepared = self.rest.prepare(batch)
        waits, jobs = self.tracker.plan(batch)
        loop = asyncio.get_running_loop()
        work = _Work(prepared, out, waits, jobs, loop.create_future())
        self._queue.append(work)
        self._ready.set()
        if not self._workers:
            self._workers = [
                asyncio.ensure_future(self._worker(session, slot)) for slot in range(self.concurrency)
            ]
        self.batches_in_flight += 1
        self.max_batches_in_flight = max(self.max_batches_in_flight, self.batches_in_flight)
        try:
            return await work.finished
        finally:
            self.batches_in_flight -= 1

    async def _worker(self, session: Any, slot: int) -> None:
        """Take requests in (tick, position) order, one at a time, for as long as the run lasts."""
        queue, ready = self._queue, self._ready
        while True:
            if not queue:
                ready.clear()
                await ready.wait()
                continue
            work = queue[0]
            i = work.next
            work.next += 1
            if work.next >= work.n:
                queue.popleft()
            deps = work.waits.get(i)
            if deps:
                await _wait_for(deps)
            try:
                if not work.finished.done():
                    await self._one(session, slot, work.prepared, i, work.out)
            except Exception as exc:  # a BackendError from an answer: fail this batch's call
                if not work.finished.done():
                    work.finished.set_exception(exc)
            finally:
                job = work.jobs.get(i)
                if job is not None:
                    job.finish()
                work.left -= 1
                if work.left == 0 and not work.finished.done():
                    work.finished.set_result(work.out)

    async def _one(self, session: Any, slot: int, prepared: Prepared, i: int, out: Outcomes) -> None:
        assert self.rest is not None
        request = self.rest.request_or_skip(prepared, i, out)
        if request is None:
            return
        seq = prepared.batch.seq0 + i
        sent_at_ms = time.time_ns() // 1_000_000
        began = time.perf_counter()
        answer = await self._send(session, slot, request, seq, i, out)
        latency = (time.perf_counter() - began) * 1000.0
        log_in = self.rest.finish(prepared, i, out, (request, sent_at_ms), answer, latency)
        if log_in is not None:  # the user exists already: log it in instead
            answer = await self._send(session, slot, log_in, seq, i, out, int(out.attempts[i]))
            self.rest.finish_log_in(prepared, i, out, answer, (time.perf_counter() - began) * 1000.0)

    async def _send(
        self, session: Any, slot: int, request: Request, seq: int, i: int, out: Outcomes, before: int = 0
    ) -> tuple[int, int, bytes, Any]:
        lean = self._wire
        url = self._base + request.path
        status, error, body = 0, ErrorKind.NONE, b""
        headers: Any = {}
        for attempt in range(1, self.policy.max_attempts + 1):
            out.attempts[i] = min(before + attempt, 255)
            retry_after: float | None = None
            self.in_flight += 1
            if self.in_flight > self.max_in_flight:
                self.max_in_flight = self.in_flight
            try:
                if lean is not None:
                    status, headers, body = await lean.request(
                        slot, request.method, self._prefix + request.path, request.headers, request.body
                    )
                else:
                    async with session.request(
                        request.method, url, data=request.body, headers=request.headers
                    ) as response:
                        body = await response.read()
                        status, headers = response.status, response.headers
                error = ErrorKind.NONE
                if status == 429 or status == 503:
                    retry_after = parse_retry_after(headers.get("Retry-After"))
            except (asyncio.TimeoutError, TimeoutError):
                status, error, body = 0, ErrorKind.TIMEOUT, b""
            except (self._client_error, OSError):
                status, error, body = 0, ErrorKind.CONNECTION, b""
            finally:
                self.in_flight -= 1
            if error == ErrorKind.NONE and not retryable(status):
                break
            if attempt < self.policy.max_attempts:
                await asyncio.sleep(self.policy.delay_ms(seq, attempt, retry_after) / 1000.0)
        return status, error, body, headers


class _Work:
    """One batch in the queue: where the workers are in it, and what they wait for."""

    __slots__ = ("finished", "jobs", "left", "n", "next", "out", "prepared", "waits")

    def __init__(
        self,
        prepared: Prepared,
        out: Outcomes,
        waits: dict[int, list[Job]],
        jobs: dict[int, Job],
        finished: asyncio.Future[Outcomes],
    ) -> None:
        self.prepared, self.out, self.waits, self.jobs = prepared, out, waits, jobs
        self.finished = finished
        self.n = self.left = len(out)
        self.next = 0


async def _wait_for(deps: list[Job]) -> None:
    loop = asyncio.get_running_loop()
    for job in deps:
        if not job.done:
            if job.waiter is None:
                job.waiter = loop.create_future()
            await job.waiter
