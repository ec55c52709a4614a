"""Snapshots: exact resume, atomic writes, clear errors on bad files and changed configs."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simcore.run import snapshot
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from tests.support.paths import DEFAULT_PROFILE
from tests.support.resume import assert_same_run, mock_controller, run_split, run_straight


@given(
    n=st.integers(1, 40),
    k_share=st.floats(0.0, 1.0),
    users=st.integers(0, 80),
    seed=st.integers(0, 2**31 - 1),
    hour=st.integers(0, 23),
    tick_seconds=st.sampled_from([30, 60, 300]),
    overshoot=st.integers(0, 3),
    mix=st.sampled_from([None, {"chatterbox": 0.5, "content_curator": 0.5}, {"night_owl": 1.0}]),
)
def test_resume_equivalence(
    small_config: Config,
    n: int,
    k_share: float,
    users: int,
    seed: int,
    hour: int,
    tick_seconds: int,
    overshoot: int,
    mix: dict[str, float] | None,
) -> None:
    """Running N ticks == running k, snapshot, load, running N-k: same log bytes, state, totals
    (with a mix of some profiles only too: the snapshot's config must load back equal)."""
    k = round(k_share * n)
    config = with_overrides(
        small_config,
        seed=seed,
        tick_seconds=tick_seconds,
        population__initial_users=users,
        start=dt.datetime(2026, 1, 9, hour, 0),  # a Friday: some runs cross into the weekend
    )
    if mix is not None:
        config = with_overrides(config, population__mix=mix)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        assert_same_run(run_straight(config, n, folder), run_split(config, n, k, folder, overshoot))


def test_resume_equivalence_with_a_mix_of_some_profiles(default_config: Config, tmp_path: Path) -> None:
    """The case that once diverged: a mix of two profiles, 150 users, resumed at tick 30, the
    users who arrive after the resume acting as in the straight run."""
    config = with_overrides(
        default_config,
        population__initial_users=150,
        population__mix={"chatterbox": 0.5, "content_curator": 0.5},
        start=dt.datetime(2026, 1, 5, 18, 0),
        duration="2h",
    )
    assert_same_run(run_straight(config, 120, tmp_path), run_split(config, 120, 30, tmp_path))


@pytest.mark.slow
def test_resume_equivalence_over_a_day(default_config: Config, tmp_path: Path) -> None:
    """The default profile over a whole day, resumed from the middle of the evening peak."""
    config = with_overrides(default_config, duration="1d")
    n = config.duration_ticks
    assert_same_run(run_straight(config, n, tmp_path), run_split(config, n, 1140, tmp_path, overshoot=5))


def test_snapshot_contents(small_config: Config, tmp_path: Path) -> None:
    """Manifest: format, versions, config and hash, clock; arrays load without pickle."""
    c = mock_controller(small_config, tmp_path / "log.jsonl")
    c.run(30)
    path = snapshot.save(tmp_path / "s.npz", c, note="hello")
    snap = snapshot.load(path)
    m = snap.manifest
    assert m["format"] == snapshot.FORMAT and m["format_version"] == snapshot.FORMAT_VERSION
    assert m["config_sha256"] == snapshot.config_hash(small_config) and snap.config == small_config
    assert (m["tick"], m["seq"], m["seed"], m["note"]) == (30, c.sim.seq, small_config.seed, "hello")
    assert m["totals"]["actions"] == c.totals.actions
    assert "backend.signed_up" in snap.arrays and "posts.recent_reads" in snap.arrays
    with zipfile.ZipFile(path) as zf:  # a plain zip of .npy members and a JSON manifest
        names = set(zf.namelist())
    assert snapshot.MANIFEST in names and "clock.npy" in names
    with np.load(path, allow_pickle=False) as npz:  # numpy reads it as an .npz too
        assert np.array_equal(npz["clock"], snap.arrays["clock"])


def test_latest_and_prune(small_config: Config, tmp_path: Path) -> None:
    """A run directory's snapshots are found by tick; pruning keeps the newest and drops temp files."""
    c = mock_controller(small_config, tmp_path / "log.jsonl")
    folder = tmp_path / snapshot.SNAPSHOT_DIR
    for _ in range(5):
        c.run(7)
        snapshot.save(folder / snapshot.snapshot_name(c.sim.tick), c)
    (folder / ".tick-00000099.npz.abc.tmp").write_bytes(b"half")
    assert snapshot.latest(tmp_path) == folder / "tick-00000035.npz"
    assert snapshot.load(tmp_path).tick == 35  # a directory means its latest snapshot
    snapshot.prune(tmp_path, keep=2)
    assert [p.name for p in snapshot.all_snapshots(tmp_path)] == [
        "tick-00000028.npz",
        "tick-00000035.npz",
    ]
    assert not list(folder.glob("*.tmp"))


# --- bad files ----------------------------------------------------------------------------


@pytest.fixture
def good(small_config: Config, tmp_path: Path) -> Path:
    c = mock_controller(small_config, tmp_path / "log.jsonl")
    c.run(20)
    return snapshot.save(tmp_path / "good.npz", c)


def _rewrite(src: Path, dst: Path, edit: object) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            out = edit(item.filename, data)  # type: ignore[operator]
            if out is not None:
                zout.writestr(item.filename, out)
    return dst


def test_corrupt_and_foreign_files_get_clear_errors(good: Path, tmp_path: Path) -> None:
    """Garbage, truncation, flipped bytes, foreign zips and newer formats: SnapshotError, no traceback."""
    cases: dict[str, tuple[Path, str]] = {}
    garbage = tmp_path / "garbage.npz"
    garbage.write_text("not a snapshot")
    cases["garbage"] = (garbage, "corrupt or truncated")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    cases["truncated"] = (truncated, "corrupt or truncated")
    flipped = tmp_path / "flipped.npz"
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("users.level.npy")
    raw = bytearray(data)
    at = info.header_offset + 30 + len(info.filename) + info.compress_size - 3  # inside the array data
    raw[at] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    cases["flipped"] = (flipped, "corrupt or truncated")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    cases["foreign"] = (foreign, "no manifest.json")

    def newer(name: str, body: bytes) -> bytes:
        if name != snapshot.MANIFEST:
            return body
        m = json.loads(body)
        m["format_version"] = snapshot.FORMAT_VERSION + 1
        return json.dumps(m).encode()

    cases["newer"] = (_rewrite(good, tmp_path / "newer.npz", newer), "upgrade simcore")

    def other_format(name: str, body: bytes) -> bytes:
        return b'{"format": "something-else"}' if name == snapshot.MANIFEST else body

    cases["other"] = (_rewrite(good, tmp_path / "other.npz", other_format), "not a simcore-snapshot")

    def edited(name: str, body: bytes) -> bytes:
        if name != snapshot.MANIFEST:
            return body
        m = json.loads(body)
        m["config"] = m["config"].replace("seed = 42", "seed = 43")
        return json.dumps(m).encode()

    cases["edited"] = (_rewrite(good, tmp_path / "edited.npz", edited), "SHA-256")

    def pickled(name: str, body: bytes) -> bytes:
        if name != "clock.npy":
            return body
        import io

        buffer = io.BytesIO()
        np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
        return buffer.getvalue()

    cases["pickle"] = (_rewrite(good, tmp_path / "pickle.npz", pickled), "unreadable data")

    def missing(name: str, body: bytes) -> bytes | None:
        return None if name == "users.state.npy" else body

    cases["missing"] = (_rewrite(good, tmp_path / "missing.npz", missing), "lacks")
    cases["absent"] = (tmp_path / "absent.npz", "does not exist")
    cases["empty dir"] = (tmp_path / "emptydir", "holds no snapshot")
    (tmp_path / "emptydir").mkdir()
    for name, (path, expected) in cases.items():
        with pytest.raises(snapshot.SnapshotError) as info:
            snapshot.load(path)
        assert expected in str(info.value), f"{name}: {info.value}"
        assert str(path) in str(info.value)


def test_changed_config_is_refused_with_the_changes_named(good: Path, small_config: Config) -> None:
    """Resuming with another config lists each changed key; --force lets it through."""
    snap = snapshot.load(good)
    assert snapshot.check_resume(snap, small_config, "mock", force=False) == []
    longer = with_overrides(small_config, duration="2d")  # the length may change freely
    assert snapshot.check_resume(snap, longer, "mock", force=False) == []
    changed = with_overrides(small_config, seed=7, population__initial_users=10)
    with pytest.raises(snapshot.SnapshotError) as info:
        snapshot.check_resume(snap, changed, "other", force=False)
    message = str(info.value)
    for expected in (
        "seed: 42 → 7",
        "population.initial_users: 200 → 10",
        "backend: mock → other",
        "--force",
    ):
        assert expected in message
    assert len(snapshot.check_resume(snap, changed, "other", force=True)) == 3


def test_truncate_log(tmp_path: Path) -> None:
    """The log is cut back to the snapshot's position; a shorter or missing log, or a position
    that is not the end of a line (an edited manifest), is an error that leaves the log alone."""
    log = tmp_path / "a.jsonl"
    log.write_bytes(b"012\n456\n89")
    with pytest.raises(snapshot.SnapshotError, match="not the end of a line"):
        snapshot.truncate_log(log, 2)
    assert log.read_bytes() == b"012\n456\n89"
    assert snapshot.truncate_log(log, 4) == 6 and log.read_bytes() == b"012\n"
    with pytest.raises(snapshot.SnapshotError, match="has 4 bytes"):
        snapshot.truncate_log(log, 10)
    with pytest.raises(snapshot.SnapshotError, match="missing"):
        snapshot.truncate_log(tmp_path / "gone.jsonl", 3)


def test_failed_write_leaves_the_previous_snapshot(
    good: Path, small_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception in the middle of a write keeps the old file and leaves no temp file."""
    before = good.read_bytes()
    c = mock_controller(small_config, tmp_path / "other.jsonl")
    c.run(25)
    calls = []

    def boom(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        real(*args, **kwargs)

    real = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        snapshot.save(good, c)
    assert good.read_bytes() == before and snapshot.load(good).tick == 20
    assert not list(good.parent.glob(".good.npz.*"))


_WRITER = textwrap.dedent(
    """
    import sys
    import time
    import numpy as np
    from simcore.run import snapshot
    from simcore.scenario.parse import with_overrides
    from simcore.run.loading import load_config
    from simcore.run.controller import Controller
    from simcore.core.simulation import Simulation
    from simcore_backends.mock import MockBackend

    target, profile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    config = with_overrides(load_config(profile), population__initial_users=300)
    c = Controller(Simulation(config), MockBackend(), [])
    c.run(5)
    manifest, arrays = snapshot.capture(c)
    pad = np.arange(4_000_000, dtype=np.int64)  # 32 MB: a write takes a while
    real_write_array = np.lib.format.write_array

    def stall_in_the_middle(fp, array, **kwargs):
        real_write_array(fp, array, **kwargs)
        if len(array) == len(pad):
            print("mid-write", flush=True)  # the parent kills us here
            time.sleep(60)

    i = 0
    while True:
        if mode == "stall" and i == 1:
            np.lib.format.write_array = stall_in_the_middle
        arrays["sink.pad.data"] = pad + i
        manifest["tick"] = 5 + i
        manifest["arrays"]["sink.pad.data"] = {"dtype": pad.dtype.str, "shape": [len(pad)]}
        snapshot.write(target, manifest, arrays)
        print(i, flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_kill_9_during_a_snapshot_write_leaves_the_previous_one(tmp_path: Path) -> None:
    """A process killed (SIGKILL) while it rewrites a snapshot leaves a whole, loadable file."""
    profile = DEFAULT_PROFILE
    target = tmp_path / snapshot.SNAPSHOT_DIR / "tick-00000005.npz"
    for mode in ("stall", "random", "random"):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(target), str(profile), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "0"  # one complete snapshot exists
        if mode == "stall":
            assert proc.stdout.readline().strip() == "mid-write"
        else:
            time.sleep(random.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        written = [int(x) for x in proc.stdout.read().split()]
        proc.stdout.close()
        leftovers = list(target.parent.glob(".tick-*.tmp"))
        if mode == "stall":
            assert leftovers, "the kill did not land inside a write"
        snap = snapshot.load(target)  # checks every member's CRC
        i = snap.tick - 5
        last = written[-1] if written else 0
        allowed = {0} if mode == "stall" else {last, last + 1}  # the last printed, or one just after
        assert i in allowed, (mode, i, written)
        assert np.array_equal(snap.arrays["sink.pad.data"][:3], np.arange(3) + i)
        snapshot.prune(tmp_path, keep=1)  # clears the dead writer's temp file
        assert not list(target.parent.glob("*.tmp"))
    assert os.path.getsize(target) > 32_000_000
