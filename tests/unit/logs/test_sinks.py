"""JSONL, SQLite and Parquet logs of the same run hold the same rows; choosing logs from --log."""

from __future__ import annotations

import builtins
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simcore.analysis.crowd import crowd_shape
from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.logs.fields import LogHeader
from simcore.logs.formats import LogError, log_targets
from simcore.logs.jsonl import JsonlSink
from simcore.logs.parquet import ParquetSink
from simcore.logs.read import find_log, read_columns, read_rows
from simcore.logs.sinks import open_sink
from simcore.logs.sqlite import SqliteSink
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.schema import Config
from simcore.seam.contract import ERROR_NAMES, ErrorKind, Outcomes
from simcore_backends.mock import MockBackend

REF_KINDS = ("repost", "quote_post", "follow_user", "unfollow_user")


def _run_logged(
    config: Config, directory: Path, ticks: int, row_group: int = 1000, real: bool = False
) -> dict[str, Path]:
    """One run written to every format at once, with varied latencies and some errors; ``real``:
    with send times, answer sizes and sent paths as a backend with real requests records them."""
    sim, backend = Simulation(config), MockBackend()
    header = LogHeader.of(sim)
    paths = {f: directory / f"actions.{f}" for f in ("jsonl", "sqlite", "parquet")}
    sinks: list[Any] = [
        JsonlSink(paths["jsonl"], header),
        SqliteSink(paths["sqlite"], header),
        ParquetSink(paths["parquet"], header, row_group=row_group),
    ]
    rng = np.random.default_rng(11)
    for _ in range(ticks):
        batch = sim.step()
        out = backend.execute(batch)
        out.latency_ms = rng.lognormal(1, 1.5, len(batch)).astype(np.float32)
        timeouts = rng.random(len(batch)) < 0.02
        out.error[timeouts] = ErrorKind.TIMEOUT
        out.status[timeouts] = 0
        if real:
            n = len(batch)
            out.sent_at = np.where(timeouts, 0, 1_764_547_200_000 + np.arange(n)).astype(np.int64)
            out.response_bytes = np.where(timeouts, -1, rng.integers(0, 5000, n)).astype(np.int64)
            out.sent_path = np.array(
                [None if t else f'/api/é/{i}?q="x"' for i, t in enumerate(timeouts)] + [None]
            )[:n]
        for sink in sinks:
            sink.write(batch, out)
    for sink in sinks:
        sink.close()
    return paths


@pytest.fixture(scope="module")
def logs(small_config: Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _run_logged(small_config, tmp_path_factory.mktemp("logs"), 180)


def test_same_rows_in_every_format(logs: dict[str, Path]) -> None:
    """Row for row, jsonl == sqlite (its actions_named view) == parquet."""
    rows = {fmt: read_rows(path) for fmt, path in logs.items()}
    assert len(rows["jsonl"]) > 1000
    assert any(r["error"] == "timeout" for r in rows["jsonl"])
    assert any(r["post"] is None for r in rows["jsonl"])
    # the social kinds are there, with their refs and concrete paths
    actions = {r["action"] for r in rows["jsonl"]}
    assert {"like_post", "repost", "quote_post", "follow_user"} <= actions  # unfollows are rare
    for r in rows["jsonl"]:
        assert "{" not in r["path"]
        assert (r["ref"] is not None) == (r["action"] in REF_KINDS), r
        if r["action"] in ("repost", "follow_user", "unfollow_user"):
            assert str(r["ref"]) in r["path"].split("/"), r
    assert rows["sqlite"] == rows["jsonl"]
    assert rows["parquet"] == rows["jsonl"]
    assert all(r["sent_path"] == r["path"] and "sent_at" not in r for r in rows["jsonl"])


def test_same_real_time_fields_in_every_format(small_config: Config, tmp_path: Path) -> None:
    """sent_path, sent_at and bytes, recorded by a backend with real requests, read back alike."""
    paths = _run_logged(small_config, tmp_path, 60, real=True)
    rows = {fmt: read_rows(path) for fmt, path in paths.items()}
    sent = [r for r in rows["jsonl"] if r["error"] != "timeout"]
    assert sent and all(r["sent_path"].startswith("/api/é/") and r["sent_at"] > 0 for r in sent)
    assert all(0 <= r["bytes"] < 5000 for r in sent)
    unsent = [r for r in rows["jsonl"] if r["error"] == "timeout"]
    assert unsent and all(r["sent_path"] is None and "sent_at" not in r for r in unsent)
    assert rows["sqlite"] == rows["jsonl"]
    assert rows["parquet"] == rows["jsonl"]


def test_every_kind_has_the_same_row_in_every_format(tmp_path: Path) -> None:
    """One action of each kind (ids in paths, refs, NULLs) reads back alike from each format."""
    n = len(KIND_NAMES)
    batch = ActionBatch(
        tick=3,
        user=np.arange(n, dtype=np.int32),
        kind=np.arange(n, dtype=np.uint8),
        post=np.array([-1, -1, 5, 9, 5, 5, 7, 20, 21, -1, -1, -1], np.int32),
        offset_ms=np.arange(n, dtype=np.int32),
        state=np.zeros(n, np.uint8),
        profile=np.zeros(n, np.uint8),
        ref=np.array([-1] * 7 + [3, 4, 45, 46, -1], np.int32),
    )
    outcomes = Outcomes(
        status=np.full(n, 200, np.int16),
        latency_ms=np.ones(n, np.float32),
        attempts=np.ones(n, np.uint8),
        error=np.zeros(n, np.uint8),
    )
    header = LogHeader(dt.datetime(2026, 1, 5), 60, ("p",), ("s",))
    paths = {f: tmp_path / f"actions.{f}" for f in ("jsonl", "sqlite", "parquet")}
    for sink in (JsonlSink(paths["jsonl"], header), SqliteSink(paths["sqlite"], header)):
        sink.write(batch, outcomes)
        sink.close()
    parquet = ParquetSink(paths["parquet"], header)
    parquet.write(batch, outcomes)
    parquet.close()
    rows = {fmt: read_rows(path) for fmt, path in paths.items()}
    assert [(r["path"], r["post"], r["ref"]) for r in rows["jsonl"]] == [
        ("/users", None, None),
        ("/posts", None, None),
        ("/posts/5", 5, None),
        ("/posts", 9, None),
        ("/posts/5", 5, None),
        ("/posts/5", 5, None),
        ("/posts/7/like", 7, None),
        ("/posts/3/repost", 20, 3),
        ("/posts", 21, 4),
        ("/users/45/follow", None, 45),
        ("/users/46/follow", None, 46),
        ("/feed/following", None, None),
    ]
    assert rows["sqlite"] == rows["jsonl"]
    assert rows["parquet"] == rows["jsonl"]
    assert all(r["sent_path"] == r["path"] and "sent_at" not in r for r in rows["jsonl"])


def test_same_columns_and_crowd_in_every_format(logs: dict[str, Path]) -> None:
    """The columns the crowd numbers use read the same from each format."""
    cols = {fmt: read_columns(path) for fmt, path in logs.items()}
    for fmt in ("sqlite", "parquet"):
        for name in ("time_ms", "user", "kind", "post"):
            np.testing.assert_array_equal(
                getattr(cols[fmt], name), getattr(cols["jsonl"], name), err_msg=fmt
            )
    assert crowd_shape(cols["parquet"]) == crowd_shape(cols["jsonl"])


def test_sqlite_has_one_indexed_table(logs: dict[str, Path]) -> None:
    """Table actions with indexes on tick, user and post (built at close)."""
    db = sqlite3.connect(logs["sqlite"])
    try:
        indexed = {
            db.execute(f"PRAGMA index_info({name!r})").fetchone()[2]
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='actions'"
            )
        }
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        reads = db.execute("SELECT count(*) FROM actions_named WHERE action = 'read_post'").fetchone()[0]
    finally:
        db.close()
    assert {"tick", "user", "post"} <= indexed
    assert "actions" in tables
    assert reads == sum(r["action"] == "read_post" for r in read_rows(logs["jsonl"]))


def test_parquet_row_groups_are_batched(logs: dict[str, Path]) -> None:
    """Parquet writes whole row groups of buffered batches, not one per action."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(logs["parquet"]).metadata
    assert meta.num_rows == len(read_rows(logs["jsonl"]))
    assert 1 < meta.num_row_groups < meta.num_rows / 500


def test_parquet_without_pyarrow_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A missing pyarrow is a clear LogError naming the extra, not an ImportError."""
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    import datetime as dt

    with pytest.raises(LogError, match=r"pip install 'simcore\[parquet\]'"):
        open_sink(
            "parquet", tmp_path / "a.parquet", LogHeader(dt.datetime(2026, 1, 5), 60, ("p",), ("s",))
        )


def test_log_targets(tmp_path: Path) -> None:
    """Formats, comma lists, file names by suffix, and none."""
    d = tmp_path / "run"
    assert log_targets(["jsonl,sqlite", "parquet"], d) == [
        ("jsonl", d / "actions.jsonl"),
        ("sqlite", d / "actions.sqlite"),
        ("parquet", d / "actions.parquet"),
    ]
    assert log_targets(["actions.jsonl"], d) == [("jsonl", d / "actions.jsonl")]
    assert log_targets(["out/x.db"], d, relative_to=tmp_path) == [("sqlite", tmp_path / "out/x.db")]
    assert log_targets(["none"], d) == []
    with pytest.raises(UsageError, match="cannot be combined"):
        log_targets(["none", "jsonl"], d)
    with pytest.raises(UsageError, match="unknown suffix"):
        log_targets(["log.txt"], d)


def test_find_log_prefers_the_fastest_format(logs: dict[str, Path]) -> None:
    """A run directory with several logs is read from its Parquet log."""
    assert find_log(logs["jsonl"].parent) == logs["parquet"]


def test_sqlite_queries_by_post_use_the_index(logs: dict[str, Path]) -> None:
    """The partial post index serves `post = ?` lookups."""
    db = sqlite3.connect(logs["sqlite"])
    try:
        plan = " ".join(
            str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM actions WHERE post = ?", (3,))
        )
        by_user = " ".join(
            str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM actions WHERE user = 5")
        )
    finally:
        db.close()
    assert "actions_post" in plan and "actions_user" in by_user


def test_jsonl_columns_without_pyarrow(logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The line-by-line JSONL reader (no pyarrow) gives the same columns as the fast one."""
    import sys

    fast = read_columns(logs["jsonl"], outcomes=True)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` raises ImportError
    slow = read_columns(logs["jsonl"], outcomes=True)
    for name in ("time_ms", "user", "kind", "post", "seq", "status", "latency_ms", "error", "sent_at"):
        np.testing.assert_array_equal(getattr(slow, name), getattr(fast, name))


def test_empty_logs_read_as_no_actions(tmp_path: Path) -> None:
    """A run with no actions leaves empty logs that read back as zero rows."""
    import datetime as dt

    header = LogHeader(dt.datetime(2026, 1, 5), 60, ("p",), ("s",))
    for fmt in ("jsonl", "sqlite", "parquet"):
        sink = open_sink(fmt, tmp_path / f"a.{fmt}", header)
        sink.close()
        assert len(read_columns(tmp_path / f"a.{fmt}")) == 0, fmt
        assert read_rows(tmp_path / f"a.{fmt}") == [], fmt


def test_outcome_columns_in_every_format(small_config: Config, tmp_path: Path) -> None:
    """read_columns(outcomes=True) gives every format's statuses, latencies, errors and real time alike."""
    paths = _run_logged(small_config, tmp_path, 60, real=True)
    cols = {fmt: read_columns(path, outcomes=True) for fmt, path in paths.items()}
    rows = read_rows(paths["jsonl"])
    want_error = [0 if r["error"] is None else ERROR_NAMES.index(r["error"]) for r in rows]
    for fmt, c in cols.items():
        assert c.seq.tolist() == [r["seq"] for r in rows], fmt
        assert c.status.tolist() == [r["status"] for r in rows], fmt
        assert c.latency_ms.tolist() == [r["latency_ms"] for r in rows], fmt
        assert c.error.tolist() == want_error, fmt
        assert c.sent_at.tolist() == [r.get("sent_at", 0) for r in rows], fmt
        assert c.bytes.tolist() == [r.get("bytes", -1) for r in rows], fmt
    assert (cols["jsonl"].sent_at == 0).any() and (cols["jsonl"].sent_at > 0).any()
