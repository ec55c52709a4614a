"""load_backend checks a plugin against the contract: a gap is a clear message and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simcore.errors import BackendError
from simcore.seam import registry
from simcore.seam.contract import BackendContext, Outcomes
from simcore.ui.cli import main

SMALL = """
seed = 3
duration = "30m"
[population]
initial_users = 20
"""


class FakeEntryPoint:
    """What ``available_backends`` returns for one name: ``value`` and ``load()``."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self.value = f"fake_plugin:{factory.__name__}"

    def load(self) -> Any:
        return self.factory


class NoExecute:
    name = "noexec"

    def open(self, context: BackendContext) -> None:
        pass

    def close(self) -> None:
        pass


class NoOpenClose:
    name = "noopen"

    def execute(self, batch: Any) -> Outcomes:
        return Outcomes.ok(len(batch))


class Nameless:
    def open(self, context: BackendContext) -> None:
        pass

    def close(self) -> None:
        pass

    def execute(self, batch: Any) -> Outcomes:
        return Outcomes.ok(len(batch))


class SyncExecuteAsync(NoExecute):
    def execute_async(self, batch: Any) -> Outcomes:  # not async def
        return Outcomes.ok(len(batch))


class Exploding(NoExecute):
    def __init__(self) -> None:
        raise RuntimeError("no licence key")


class Complete(NoExecute):
    name = "complete"

    def execute(self, batch: Any) -> Outcomes:
        return Outcomes.ok(len(batch))


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {
        "noexec": FakeEntryPoint(NoExecute),
        "noopen": FakeEntryPoint(NoOpenClose),
        "nameless": FakeEntryPoint(Nameless),
        "syncasync": FakeEntryPoint(SyncExecuteAsync),
        "complete": FakeEntryPoint(Complete),
        "exploding": FakeEntryPoint(Exploding),
        **registry.available_backends(),
    }
    monkeypatch.setattr(registry, "available_backends", lambda: found)


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("noexec", "neither execute(batch) nor async execute_async(batch)"),
        ("noopen", "no open() method; no close() method"),
        ("nameless", "no name"),
        ("syncasync", "execute_async is not an async def method"),
        ("exploding", "could not be built: RuntimeError: no licence key"),
    ],
)
def test_a_plugin_missing_part_of_the_contract_exits_2_naming_it(
    plugins: None, tmp_path: Path, name: str, missing: str
) -> None:
    """The message names the backend, what it lacks and where to read; no traceback."""
    profile = tmp_path / "small.toml"
    profile.write_text(SMALL)
    args = ["run", str(profile), "--backend", name, "--out", str(tmp_path / "out"), "--quiet"]
    result = CliRunner().invoke(main, args)
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code == 2, output
    assert f"backend '{name}'" in output
    assert missing in output
    assert "Writing a backend" in output
    assert "Traceback" not in output and "AttributeError" not in output
    assert not (tmp_path / "out").exists()


def test_a_complete_plugin_loads(plugins: None) -> None:
    backend = registry.load_backend("complete")
    assert isinstance(backend, Complete)


@pytest.mark.parametrize("name", ["mock", "testclient", "http"])
def test_the_built_in_backends_meet_the_contract(name: str) -> None:
    assert registry.contract_gaps(registry.load_backend(name)) == []


def test_load_backend_raises_backend_error_not_attribute_error(plugins: None) -> None:
    with pytest.raises(BackendError, match="backend 'noexec'"):
        registry.load_backend("noexec")
    assert registry.contract_gaps(Complete()) == []
    assert len(registry.contract_gaps(object())) == 4  # name, open, close, execute
