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
"""

from __future__ import annotations

import importlib
import inspect
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from simcore.core.actions import ActionBatch
from simcore.errors import BackendError
from simcore.seam import faults
from simcore.seam.contract import BackendContext, ErrorKind, Outcomes, SyncBackend
from simcore.seam.retry import RetryPolicy, parse_retry_after, retryable

from .rest import Prepared, Rest


def import_app(spec: str) -> Any:
    """The ASGI app named by ``module:attr`` (called first if it is a plain function)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BackendError(f"--app: got {spec!r}, expected 'module:attribute' such as 'myapp.main:app'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time error of the user's module
        raise BackendError(
            f"--app {spec}: cannot import module '{module_name}': {type(exc).__name__}: {exc}; "
            "check the name and that it is importable from the current directory (PYTHONPATH)"
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


class TestClientBackend(SyncBackend):
    """Executes batches against an in-process ASGI app."""

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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Starlette: TestClient moving from httpx to httpx2
            from fastapi.testclient import TestClient

        self.client = TestClient(app, raise_server_exceptions=False)
        self.client.__enter__()
        self.rest = Rest(cfg, context.seed)
        self.policy = RetryPolicy.from_config(cfg.backend, context.seed)
        self.injector = faults.Injector.from_config(cfg, context.seed)

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
        policy, injector = self.policy, self.injector
        sent_at_ms = time.time_ns() // 1_000_000
        latency = 0.0
        status, error, body, headers = 0, ErrorKind.NONE, b"", {}
        retry_after: float | None = None
        for attempt in range(1, policy.max_attempts + 1):
            if attempt > 1:  # the backoff the http backend sleeps, counted instead of slept
                latency += policy.delay_ms(seq, attempt - 1, retry_after)
                retry_after = None
            fault = faults.OK
            if injector is not None:
                fault, extra = injector.attempt(seq, attempt)
                latency += extra
            out.attempts[i] = attempt
            if injector is not None and fault == faults.ERROR:
                status, error = injector.faults.error_status, ErrorKind.INJECTED
            elif injector is not None and fault == faults.TIMEOUT:
                status, error = 0, ErrorKind.TIMEOUT
                latency += injector.timeout_ms
            else:
                began = time.perf_counter()
                response = self.client.request(
                    request.method, request.path, content=request.body, headers=request.headers
                )
                latency += (time.perf_counter() - began) * 1000.0
                status, error = response.status_code, ErrorKind.NONE
                body, headers = response.content, response.headers
                if not retryable(status):
                    break
                if status == 429 or status == 503:
                    retry_after = parse_retry_after(headers.get("Retry-After"))
        self.rest.finish(
            prepared, i, out, (request, sent_at_ms), (status, error, body, headers), latency
        )
