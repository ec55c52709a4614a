"""The testclient backend with a user's app: found in the current directory, and driven through
either generation of Starlette's TestClient."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simcore.errors import BackendError
from simcore.scenario.parse import loads_config
from simcore.seam.contract import BackendContext
from simcore.ui.cli import main
from simcore_backends.testclient import TestClientBackend
from tests.support.helpers import scripted_batch

APP = """
from fastapi import FastAPI, Request

app = FastAPI()
count = 0


@app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
async def anything(path: str, request: Request) -> dict:
    global count
    count += 1
    return {"id": count, "token": f"t{count}"}
"""


def test_app_is_found_in_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--app shop_here:app with shop_here.py in the current directory, no PYTHONPATH."""
    (tmp_path / "shop_here.py").write_text(APP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd(), ".")])
    monkeypatch.delitem(sys.modules, "shop_here", raising=False)
    scenario = tmp_path / "s.toml"
    scenario.write_text('duration = "30m"\n[population]\ninitial_users = 20\n', encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["run", str(scenario), "--backend", "testclient", "--app", "shop_here:app", "-q", "--out", "r"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["actions"] > 0 and summary["metrics"]["failures"] == 0


class RequestsStyleClient:
    """The shape of Starlette's requests-based TestClient (before 0.21): the body is ``data``."""

    def __init__(self, app: Any, raise_server_exceptions: bool = True) -> None:
        from starlette.testclient import TestClient

        self._client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        self.bodies: list[bytes | None] = []

    def __enter__(self) -> RequestsStyleClient:
        self._client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.__exit__(*exc)

    def request(
        self, method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        self.bodies.append(data)
        return self._client.request(method, url, content=data, headers=headers)


def test_a_requests_based_test_client_works(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastapi.testclient

    monkeypatch.setattr(fastapi.testclient, "TestClient", RequestsStyleClient)
    backend = TestClientBackend()
    backend.open(BackendContext(loads_config("")))
    try:
        out = backend.execute(scripted_batch([0, 0], [0, 1], [-1, -1]))
        assert out.status.tolist() == [201, 201]
        assert isinstance(backend.client, RequestsStyleClient) and backend.client.bodies[0]
    finally:
        backend.close()


def test_without_a_usable_test_client_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi.testclient", None)
    with pytest.raises(BackendError, match=r"FastAPI's TestClient .*pip install"):
        TestClientBackend().open(BackendContext(loads_config("")))
