"""The testclient backend: a FastAPI (or any ASGI) app in process, through Starlette's TestClient.

``--backend testclient`` drives the reference app over a fresh temporary SQLite
database per run (or the file ``backend.db``); ``--app module:attr`` (or
``backend.app``) drives your own app instead, given as the app object or as a
function that takes no argument and returns one. Requests are sent one at a
time in batch order, so every ordering the http backend has to work for holds
here trivially.

With a ``[faults]`` table, each attempt first draws its injected fault (the
same draws as the mock backend's): a faulted attempt sends nothing and is
retried. Answers of 429 or 5xx from the app are retried too, at once (an app in
process has nothing to wait for). Latency is the measured time of the attempts
plus the injected latency and the waits the retry policy would have made.

``module`` of ``--app`` is found in the current directory too (no PYTHONPATH=.
needed). Both generations of Starlette's TestClient work: the httpx-based one
(FastAPI >= 0.87) and the older requests-based one.
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.errors import BackendError
from simcore.seam import faults
from simcore.seam.contract import BackendContext, ErrorKind, Outcomes, Stateful, SyncBackend
from simcore.seam.retry import RetryPolicy, parse_retry_after, retryable

from .rest import Prepared, Request, Rest


def import_app(spec: str) -> Any:
    """The ASGI app named by ``module:attr`` (called first if it is a plain function)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BackendError(f"--app: got {spec!r}, expected 'module:attribute' such as 'myapp.main:app'")
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)  # as `python -m` and uvicorn do: modules of the current directory
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time error of the user's module
        raise BackendError(
            f"--app {spec}: cannot import module '{module_name}': {type(exc).__name__}: {exc}; "
            f"check the name and that it is importable from the current directory ({here}) or PYTHONPATH"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise BackendError(f"--app {spec}: module '{module_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    if inspect.isfunction(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise BackendError(
                f"--app {spec}: calling {attr}() failed: {type(exc).__name__}: {exc}"
            ) from None
    if not callable(obj):
        raise BackendError(f"--app {spec}: {attr} is a {type(obj).__name__}, not an ASGI app")
    return obj


def _test_client(app: Any) -> tuple[Any, bool]:
    """Starlette's TestClient for ``app``, and whether it is the httpx-based one (Starlette
    0.21 and later; the older one is built on requests). Either works; without FastAPI or
    with a TestClient that cannot be built, a :class:`BackendError` says what to install."""
    need = "pip install 'simcore[app]' (FastAPI >= 0.87, or an older FastAPI with requests)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Starlette: TestClient moving from httpx to httpx2
            from fastapi.testclient import TestClient
    except Exception as exc:  # no FastAPI, or an old one whose TestClient lacks requests
        raise BackendError(
            f"the testclient backend cannot load FastAPI's TestClient ({type(exc).__name__}: "
            f"{exc}); {need}"
        ) from None
    try:
        client = TestClient(app, raise_server_exceptions=False)
    except Exception as exc:
        raise BackendError(
            f"FastAPI's TestClient did not accept the app ({type(exc).__name__}: {exc}); {need}"
        ) from None
    takes = inspect.signature(client.request).parameters
    return client, "content" in takes or "data" not in takes


class TestClientBackend(SyncBackend, Stateful):
    """Executes batches against an in-process ASGI app; snapshots keep its id map."""

    name = "testclient"
    __test__ = False  # not a pytest test class

    def __init__(self, app: str | None = None, db: str | None = None) -> None:
        self.app_spec = app
        self.db = db
        self.client: Any = None
        self.rest: Rest | None = None
        self.injector: faults.Injector | None = None
        self.policy = RetryPolicy()
        self.db_path: Path | None = None
        self._tmpdir: str | None = None
        self._httpx = True  # the TestClient takes ``content=`` (httpx), not ``data=`` (requests)

    def open(self, context: BackendContext) -> None:
        """Build the app and enter its lifespan."""
        cfg = context.config
        spec = self.app_spec or cfg.backend.app
        if spec:
            app = import_app(spec)
        else:
            try:
                from .refapp import create_app
            except ImportError as exc:
                raise BackendError(
                    f"the reference app needs FastAPI ({exc}); install it with pip install 'simcore[app]'"
                ) from None
            db = self.db or cfg.backend.db
            if not db:
                self._tmpdir = tempfile.mkdtemp(prefix="simcore-testclient-")
                db = str(Path(self._tmpdir) / "app.db")
            self.db_path = Path(db)
            app = create_app(db)
        self.client, self._httpx = _test_client(app)
        try:
            self.client.__enter__()
        except Exception as exc:  # the app's startup failed
            raise BackendError(
                f"the app's startup (lifespan) failed: {type(exc).__name__}: {exc}"
            ) from None
        self.rest = Rest(cfg, context.seed)
        self.policy = RetryPolicy.from_config(cfg.backend, context.seed)
        self.injector = faults.Injector.from_config(cfg, context.seed)

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The id map (users' tokens and server ids, posts' server ids), for snapshots."""
        if self.rest is None:
            raise BackendError("the testclient backend is not open")
        return self.rest.state_arrays()

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Continue from a snapshot's id map (a resumed run against the same database)."""
        if self.rest is None:
            raise BackendError("the testclient backend is not open")
        self.rest.load_state(arrays)

    def close(self) -> None:
        """Leave the app's lifespan and remove the temporary database."""
        if self.client is not None:
            self.client.__exit__(None, None, None)
            self.client = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def execute(self, batch: ActionBatch) -> Outcomes:
        """Send every action of ``batch``, one after another, in order."""
        if self.rest is None or self.client is None:
            raise BackendError("the testclient backend is not open")
        n = len(batch)
        out = Outcomes.pending(n, real=True)
        prepared = self.rest.prepare(batch)
        for i in range(n):
            self._one(prepared, i, out)
        return out

    def _one(self, prepared: Prepared, i: int, out: Outcomes) -> None:
        assert self.rest is not None
        request = self.rest.request_or_skip(prepared, i, out)
        if request is None:
            return
        seq = prepared.batch.seq0 + i
        sent_at_ms = time.time_ns() // 1_000_000
        answer, latency = self._send(request, seq, i, out)
        log_in = self.rest.finish(prepared, i, out, (request, sent_at_ms), answer, latency)
        if log_in is not None:  # the user exists already: log it in instead
            answer, more = self._send(log_in, seq, i, out, int(out.attempts[i]))
            self.rest.finish_log_in(prepared, i, out, answer, latency + more)

    def _send(
        self, request: Request, seq: int, i: int, out: Outcomes, before: int = 0
    ) -> tuple[tuple[int, int, bytes, Any], float]:
        """Send ``request`` under the retry policy (and the injected faults); return the final
        answer and the latency in ms."""
        policy, injector = self.policy, self.injector
        latency = 0.0
        status, error, body, headers = 0, ErrorKind.NONE, b"", {}
        retry_after: float | None = None
        for attempt in range(1, policy.max_attempts + 1):
            if attempt > 1:  # the backoff the http backend sleeps, counted instead of slept
                latency += policy.delay_ms(seq, attempt - 1, retry_after)
                retry_after = None
            fault = faults.OK
            if injector is not None:
                fault, extra = injector.attempt(seq, before + attempt)
                latency += extra
            out.attempts[i] = min(before + attempt, 255)
            if injector is not None and fault == faults.ERROR:
                status, error = injector.faults.error_status, ErrorKind.INJECTED
            elif injector is not None and fault == faults.TIMEOUT:
                status, error = 0, ErrorKind.TIMEOUT
                latency += injector.timeout_ms
            else:
                began = time.perf_counter()
                response = self._request(request)
                latency += (time.perf_counter() - began) * 1000.0
                status, error = response.status_code, ErrorKind.NONE
                body, headers = response.content, response.headers
                if not retryable(status):
                    break
                if status == 429 or status == 503:
                    retry_after = parse_retry_after(headers.get("Retry-After"))
        return (status, error, body, headers), latency

    def _request(self, request: Request) -> Any:
        if self._httpx:
            return self.client.request(
                request.method, request.path, content=request.body, headers=request.headers
            )
        # Starlette's requests-based TestClient (before 0.21) takes the body as ``data``
        return self.client.request(
            request.method, request.path, data=request.body, headers=request.headers
        )
