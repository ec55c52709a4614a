"""simcore never overwrites or truncates a file it did not create in this run directory, and a
resume only ever touches the logs inside the run directory it resumes (issue 13)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.run import snapshot as snapshots
from simcore.ui.cli import main
from tests.support.paths import DEFAULT_PROFILE

SMALL = ("--duration", "2h", "--users", "30", "-q", "--no-control")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_out_at_an_existing_run_directory_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """A second run with --out at a run directory neither truncates its log nor adds snapshots."""
    run = tmp_path / "run"
    assert _run("run", str(DEFAULT_PROFILE), *SMALL, "--out", str(run))[0] == 0
    before = _tree(run)
    code, out = _run("run", str(DEFAULT_PROFILE), *SMALL, "--seed", "9", "--out", str(run))
    assert code == 2 and "--out" in out and "already holds files" in out and "Traceback" not in out
    assert _tree(run) == before


def test_an_empty_out_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert _run("run", str(DEFAULT_PROFILE), *SMALL, "--out", str(tmp_path / "empty"))[0] == 0
    assert (tmp_path / "empty" / "actions.jsonl").stat().st_size > 0


@pytest.mark.parametrize("name", ["important.db", "settings.json", "data.parquet", "old.jsonl"])
def test_log_at_an_existing_file_is_refused(tmp_path: Path, name: str) -> None:
    """--log FILE never deletes, recreates or overwrites a file that exists."""
    target = tmp_path / name
    if name.endswith(".db"):
        with sqlite3.connect(target) as db:
            db.execute("CREATE TABLE precious (x)")
    else:
        target.write_text("precious\n")
    before = target.read_bytes()
    code, out = _run(
        "run", str(DEFAULT_PROFILE), *SMALL, "--out", str(tmp_path / "r"), "--log", str(target)
    )
    assert code == 2 and str(target) in out and "already exists" in out
    assert target.read_bytes() == before
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("make", "out_arg", "words"),
    [
        (lambda t: (t / "f").write_text("x"), "f", "is a file"),
        (lambda t: (t / "f").write_text("x"), "f/sub", "cannot create"),
        (lambda t: None, "/proc/simcore-nope", "cannot create"),
    ],
)
def test_unusable_out_paths_are_messages(tmp_path: Path, make: object, out_arg: str, words: str) -> None:
    make(tmp_path)  # type: ignore[operator]
    out_path = out_arg if out_arg.startswith("/") else str(tmp_path / out_arg)
    code, out = _run("run", str(DEFAULT_PROFILE), *SMALL, "--out", out_path)
    assert code == 2 and "--out" in out and words in out and "Traceback" not in out


def test_output_directory_under_a_file_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[output]\ndirectory = "{tmp_path / "f"}"\n')
    code, out = _run("run", str(cfg), *SMALL)
    assert code == 2 and "output.directory" in out


def test_log_that_is_a_directory_or_under_a_file_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").mkdir()
    (tmp_path / "f").write_text("x")
    for log in (tmp_path / "d.jsonl", tmp_path / "f" / "x.jsonl"):
        code, out = _run(
            "run", str(DEFAULT_PROFILE), *SMALL, "--out", str(tmp_path / "r"), "--log", str(log)
        )
        assert code == 2 and str(log) in out and "Traceback" not in out


def _edit_manifest(snapshot: Path, **changes: object) -> None:
    with zipfile.ZipFile(snapshot) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members[snapshots.MANIFEST])
    manifest.update(changes)
    members[snapshots.MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(snapshot, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_resume_never_touches_a_log_outside_its_run_directory(tmp_path: Path) -> None:
    """A manifest edited to name a .jsonl elsewhere is refused; that file is left as it was."""
    run = tmp_path / "run"
    assert _run("run", str(DEFAULT_PROFILE), *SMALL, "--out", str(run), "--snapshot-every", "1h")[0] == 0
    victim = tmp_path / "victim.jsonl"
    victim.write_text("line one\nline two\n" * 50)
    before = victim.read_bytes()
    snap = snapshots.latest(run)
    assert snap is not None
    for name in (str(victim), "../victim.jsonl"):
        _edit_manifest(snap, log={"path": name, "bytes": 3})
        code, out = _run("run", "--resume", str(snap), "--duration", "3h", "-q", "--no-control")
        assert code == 2 and "outside the run directory" in out, out
        assert victim.read_bytes() == before


def test_resume_with_a_log_option_outside_may_not_overwrite(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _run("run", str(DEFAULT_PROFILE), *SMALL, "--out", str(run))[0] == 0
    other = tmp_path / "other.jsonl"
    other.write_text("mine\n")
    code, out = _run("run", "--resume", str(run), "--duration", "3h", "-q", "--log", str(other))
    assert code == 2 and "already exists" in out and other.read_text() == "mine\n"
    # a new file outside is fine: it logs the rest there
    code, out = _run(
        "run", "--resume", str(run), "--duration", "3h", "-q", "--log", str(tmp_path / "new.jsonl")
    )
    assert code == 0, out
    assert (tmp_path / "new.jsonl").stat().st_size > 0
