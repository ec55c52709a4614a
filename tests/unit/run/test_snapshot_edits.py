"""Hand-edited snapshots (issue 13): a manifest with a key removed or set to a hostile value is
resumed exactly or refused with a message, exit 2 — never a traceback, never a write outside
the run directory."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simcore.run import snapshot as snapshots
from simcore.ui.cli import main
from tests.support.paths import DEFAULT_PROFILE

#: Manifest fields a user might edit, as key paths.
FIELDS = [
    ("tick",),
    ("seq",),
    ("seed",),
    ("config",),
    ("config_sha256",),
    ("totals",),
    ("totals", "by_kind"),
    ("totals", "statuses"),
    ("totals", "errors"),
    ("totals", "actions"),
    ("hour_totals",),
    ("hour_totals", "by_kind"),
    ("log",),
    ("log", "path"),
    ("log", "bytes"),
    ("arrays",),
    ("arrays", "clock"),
    ("arrays", "users.created_tick"),
    ("arrays", "users.created_tick", "shape"),
    ("arrays", "users.created_tick", "dtype"),
    ("wall_seconds",),
    ("format_version",),
    ("backend",),
]
DELETE = object()
VALUES = st.one_of(
    st.just(DELETE),
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["../outside.jsonl", "/tmp/elsewhere.jsonl", "actions.jsonl", "\x00"]),
    st.lists(st.integers(-3, 10**6), max_size=40),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 2), max_size=3),
    st.booleans(),
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edits") / "run"
    args = ["run", str(DEFAULT_PROFILE), "--duration", "2h", "--users", "40", "-q", "--no-control"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--snapshot-every", "1h"])
    assert result.exit_code == 0, result.output
    return out


def _edit(snapshot: Path, path: tuple[str, ...], value: Any) -> None:
    with zipfile.ZipFile(snapshot) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members[snapshots.MANIFEST])
    node = manifest
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    members[snapshots.MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(snapshot, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(path=st.sampled_from(FIELDS), value=VALUES)
@example(path=("log", "bytes"), value=1)  # inside the first line: refused, not a corrupt log
def test_an_edited_manifest_resumes_or_is_refused_cleanly(
    run_dir: Path, path: tuple[str, ...], value: Any
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outside = Path(tmp) / "outside.jsonl"
        outside.write_text("keep me\n" * 100)
        copy = Path(tmp) / "run" / "nested"
        shutil.copytree(run_dir, copy)
        snap = snapshots.all_snapshots(copy)[0]
        _edit(snap, path, value)
        result = CliRunner().invoke(
            main, ["run", "--resume", str(snap), "--duration", "3h", "-q", "--no-control"]
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            path,
            value,
            repr(result.exception),
        )
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert "error:" in result.output and "Traceback" not in result.output
        assert outside.read_text() == "keep me\n" * 100
