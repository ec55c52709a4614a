"""The Parquet action log (``actions.parquet``; needs pyarrow: ``pip install 'simcore[parquet]'``).

The JSONL log's columns (``sent_at`` and ``bytes`` null where not recorded) with
``time`` as a millisecond timestamp and the names dictionary-encoded; batches are buffered into row groups of ``row_group`` rows.

A Parquet file is readable only once its footer is written, so while a run goes on
its rows go to complete part files in ``actions.parquet.parts/`` (each written
atomically, holding whole ticks: one every ``row_group`` rows, and at least every
``flush_seconds`` or when asked to flush, as before a snapshot). Closing the log
joins the parts into ``actions.parquet`` and removes them. A run killed with -9
keeps every part (``pyarrow.parquet.read_table("actions.parquet.parts")`` reads
them); resuming it, or :func:`read_table`, joins them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore import atomic
from simcore.core.actions import ActionBatch
from simcore.logs.fields import LogHeader, epoch_ms, logged_latency
from simcore.logs.formats import LogError
from simcore.seam.contract import ERROR_NAMES, LogSink, Outcomes


def load_pyarrow() -> tuple[Any, Any, Any]:
    """pyarrow, pyarrow.compute and pyarrow.parquet, or a :class:`LogError` saying how to install them."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise LogError(
            "the parquet log needs pyarrow, which is not installed; "
            "install it with: pip install 'simcore[parquet]' (or choose --log jsonl or sqlite)"
        ) from None
    return pa, pc, pq


def parts_of(path: Path) -> Path:
    """The folder of a Parquet log's part files while its run goes on (or after a crash)."""
    return path.with_name(path.name + ".parts")


def _part_files(path: Path) -> list[Path]:
    folder = parts_of(path)
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def read_table(path: Path, columns: list[str] | None = None) -> Any:
    """A Parquet log as one pyarrow table: the file, or the parts of a run that never closed it."""
    pq = load_pyarrow()[2]
    if not path.exists() and _part_files(path):
        import pyarrow as pa

        return pa.concat_tables([pq.read_table(str(p), columns=columns) for p in _part_files(path)])
    return pq.read_table(str(path), columns=columns)


class ParquetSink(LogSink):
    """Buffers batches and writes them as Parquet row groups of about ``row_group`` rows
    (as part files until the log is closed; see the module's docstring)."""

    def __init__(
        self,
        path: Path,
        header: LogHeader,
        row_group: int = 262_144,
        keep_before: int | None = None,
        flush_seconds: float = 2.0,
    ) -> None:
        pa, self._pc, pq = load_pyarrow()
        self._pa = pa
        self.path = path
        self.start_ms = epoch_ms(header.start)
        self.tick_ms = header.tick_seconds * 1000
        self.row_group = row_group
        self._profiles = pa.array(list(header.profile_names), pa.string())
        self._states = pa.array(list(header.state_names), pa.string())
        spelled = self._spelled = header.spelling
        self._kinds = pa.array(list(spelled.names), pa.string())
        methods = sorted(set(spelled.methods))
        self._methods = pa.array(methods, pa.string())
        self._method_of = np.array([methods.index(m) for m in spelled.methods], np.int8)
        self._paths = pa.array(list(spelled.paths), pa.string())
        self._heads = pa.array([h for h, _ in spelled.parts], pa.string())
        self._tails = pa.array([t for _, t in spelled.parts], pa.string())
        self._errors = pa.array(list(ERROR_NAMES), pa.string())
        dict8 = pa.dictionary(pa.int8(), pa.string())
        self.schema = pa.schema(
            [
                ("seq", pa.int64()),
                ("tick", pa.int32()),
                ("time", pa.timestamp("ms")),
                ("user", pa.int32()),
                ("profile", dict8),
                ("state", dict8),
                ("action", dict8),
                ("method", dict8),
                ("path", pa.string()),
                ("sent_path", pa.string()),
                ("post", pa.int32()),
                ("ref", pa.int32()),
                ("status", pa.int16()),
                ("latency_ms", pa.float64()),
                ("attempts", pa.uint8()),
                ("error", dict8),
                ("sent_at", pa.int64()),
                ("bytes", pa.int64()),
            ]
        )
        self._pq = pq
        self.parts = parts_of(path)
        self.flush_seconds = flush_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        has_rows = path.exists() or bool(_part_files(path))
        kept = self._rows_before(path, keep_before) if keep_before is not None and has_rows else None
        path.unlink(missing_ok=True)
        shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir()
        self._open = True
        self._part_count = 0
        self._pending: list[tuple[ActionBatch, Outcomes]] = []
        self._pending_rows = 0
        self._last_flush = time.monotonic()
        if kept is not None and kept.num_rows:
            self._write_part(kept)

    def _rows_before(self, path: Path, seq: int) -> Any:
        """The rows of an existing log with sequence numbers below ``seq`` (a resumed run's)."""
        try:
            table = read_table(path).cast(self.schema)
        except Exception as exc:  # a log cut off by a crash before this layout has no footer
            raise LogError(
                f"cannot continue the Parquet log {path}: {exc}; it was probably cut off by a crash. "
                "Move it away, or pass --log with another file or format"
            ) from None
        return table.filter(self._pc.less(table.column("seq"), seq))

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Buffer one batch; write a part once enough rows are pending, or once the pending
        rows are ``flush_seconds`` old and a new tick begins (parts hold whole ticks)."""
        if not self._open:
            raise ValueError(f"the log {self.path} is closed")
        if (
            self._pending
            and batch.tick != self._pending[-1][0].tick
            and time.monotonic() - self._last_flush >= self.flush_seconds
        ):
            self.flush()
        if len(batch):
            self._pending.append((batch, outcomes))
            self._pending_rows += len(batch)
        if self._pending_rows >= self.row_group:
            self.flush()

    def flush(self) -> None:
        """Write the pending batches as one part file (atomically)."""
        self._last_flush = time.monotonic()
        if not self._pending or not self._open:
            return
        batches = [b for b, _ in self._pending]
        outs = [o for _, o in self._pending]
        self._write_part(self._table(batches, outs))
        self._pending, self._pending_rows = [], 0

    def _write_part(self, table: Any) -> None:
        target = self.parts / f"part-{self._part_count:06d}.parquet"
        with atomic.replacing(target) as f:
            self._pq.write_table(table, f, row_group_size=max(table.num_rows, 1))
        self._part_count += 1

    def _join_parts(self) -> None:
        """Write the parts as ``path`` (row groups of about ``row_group`` rows), atomically."""
        pa = self._pa
        with atomic.replacing(self.path) as f:
            writer = self._pq.ParquetWriter(f, self.schema)
            try:
                held = self.schema.empty_table()
                for part in _part_files(self.path):
                    held = pa.concat_tables([held, self._pq.read_table(str(part)).cast(self.schema)])
                    while held.num_rows >= self.row_group:  # whole row groups; the rest waits
                        writer.write_table(held.slice(0, self.row_group), row_group_size=self.row_group)
                        held = held.slice(self.row_group)
                if held.num_rows:
                    writer.write_table(held, row_group_size=self.row_group)
            finally:
                writer.close()
        shutil.rmtree(self.parts, ignore_errors=True)

    def _table(self, batches: list[ActionBatch], outs: list[Outcomes]) -> Any:
        pa, pc = self._pa, self._pc

        def cat(arrays: list[NDArray[Any]]) -> NDArray[Any]:
            return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]

        sizes = [len(b) for b in batches]
        tick = np.repeat(np.array([b.tick for b in batches], np.int64), sizes)
        kind = cat([b.kind for b in batches]).astype(np.int8)
        post = cat([b.post for b in batches])
        ref = cat([b.ref for b in batches])
        offset = cat([b.offset_ms for b in batches]).astype(np.int64)
        error = cat([o.error for o in outs]).astype(np.int8)
        no_post = post < 0

        def coded(codes: NDArray[Any], names: Any, mask: NDArray[np.bool_] | None = None) -> Any:
            return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8(), mask=mask), names)

        post_arr = pa.array(post, pa.int32(), mask=no_post)
        ref_arr = pa.array(ref, pa.int32(), mask=ref < 0)
        path_id = self._spelled.path_id[kind]
        ids = np.where(path_id == 1, post, ref)
        id_text = pc.cast(pa.array(ids, pa.int32(), mask=ids < 0), pa.string())
        kinds = pa.array(kind)
        heads, tails = pc.take(self._heads, kinds), pc.take(self._tails, kinds)
        joined = pc.binary_join_element_wise(heads, id_text, tails, "")
        fixed = pc.take(self._paths, kinds)
        path = pc.if_else(pa.array(path_id > 0), joined, fixed)
        sent_path, sent_at, size = self._real_columns(outs, path)
        columns = [
            pa.array(cat([b.seq for b in batches]), pa.int64()),
            pa.array(tick.astype(np.int32), pa.int32()),
            pa.array(self.start_ms + tick * self.tick_ms + offset, pa.int64()).cast(pa.timestamp("ms")),
            pa.array(cat([b.user for b in batches]), pa.int32()),
            coded(cat([b.profile for b in batches]).astype(np.int8), self._profiles),
            coded(cat([b.state for b in batches]).astype(np.int8), self._states),
            coded(kind, self._kinds),
            coded(self._method_of[kind], self._methods),
            path,
            sent_path,
            post_arr,
            ref_arr,
            pa.array(cat([o.status for o in outs]), pa.int16()),
            pa.array(logged_latency(cat([o.latency_ms for o in outs])), pa.float64()),
            pa.array(cat([o.attempts for o in outs]), pa.uint8()),
            coded(error, self._errors, mask=error == 0),
            sent_at,
            size,
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _real_columns(self, outs: list[Outcomes], path: Any) -> tuple[Any, Any, Any]:
        """``sent_path`` (the reference path where no request is sent), ``sent_at`` and ``bytes``
        (null where not recorded)."""
        pa = self._pa
        n = sum(len(o) for o in outs)
        if not any(o.real for o in outs):
            return path, pa.nulls(n, pa.int64()), pa.nulls(n, pa.int64())
        whole = Outcomes.concat([o if o.real else _as_real(o) for o in outs])
        sent_path = pa.array(whole.sent_path.tolist(), pa.string())
        if not all(o.real for o in outs):  # some parts sent nothing: their sent path is the reference
            sent_path = self._pc.if_else(
                pa.array(np.concatenate([np.full(len(o), o.real) for o in outs])), sent_path, path
            )
        sent_at = pa.array(whole.sent_at, pa.int64(), mask=whole.sent_at <= 0)
        size = pa.array(whole.response_bytes, pa.int64(), mask=whole.response_bytes < 0)
        return sent_path, sent_at, size

    def close(self) -> None:
        """Write what is pending and join the parts into the log file (idempotent)."""
        if not self._open:
            return
        try:
            self.flush()
        finally:
            self._open = False
        self._join_parts()


def _as_real(outcomes: Outcomes) -> Outcomes:
    """``outcomes`` with blank real-time columns (for joining with outcomes that have them)."""
    blank = Outcomes.pending(len(outcomes), real=True)
    blank.status, blank.latency_ms = outcomes.status, outcomes.latency_ms
    blank.attempts, blank.error = outcomes.attempts, outcomes.error
    return blank
