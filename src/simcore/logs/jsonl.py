"""The action log: one JSON object per action, written a batch at a time.

Each line holds the action (sequence number, tick, simulated ISO-8601 time,
user, profile, state, action, method, ``path``: the reference API's path with the
core's ids, ``sent_path``: the path actually requested — the reference path on
the mock, ``null`` if nothing was sent —, post id, ``ref``: the reposted or quoted
post or the followed user) and its outcome (status, latency, attempts, error; and
where the backend has real time, ``sent_at``: wall-clock UTC of the first attempt
in epoch milliseconds, and ``bytes``: the size of the answer's body). Lines are built for a whole batch and written with
one call; the file is flushed after every batch, so a stop at any point leaves
every finished tick on disk.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch, Spelling
from simcore.logs.fields import LogHeader, action_epoch_ms, action_paths, action_times, logged_latency
from simcore.seam.contract import ERROR_NAMES, LogSink, Outcomes

#: What a backend reports about an action (the rest of a line is the action itself: the same on every backend).
OUTCOME_FIELDS = ("status", "latency_ms", "attempts", "error", "sent_path", "sent_at", "bytes")


def format_lines(
    batch: ActionBatch,
    outcomes: Outcomes,
    header: LogHeader,
) -> str:
    """The batch's log lines (each ending in a newline), byte for byte :func:`format_lines_reference`.

    Built column by column: numbers through ``map(str, ...)``, names, routes,
    statuses and times from lookup tables, latencies as integer microseconds
    split at the decimal point; then every piece is joined once. Values the
    tables do not cover (negative or huge latencies, odd statuses) fall back
    to the reference.
    """
    n = len(batch)
    if n == 0:
        return ""
    start, tick_seconds = header.start, header.tick_seconds
    profile_names, state_names = header.profile_names, header.state_names
    spelled = header.spelling
    tables = _tables(profile_names, state_names, spelled)
    status = outcomes.status.astype(np.intp)
    error = outcomes.error.astype(np.intp)
    lat = outcomes.latency_ms.astype(np.float64)
    micro = np.rint(lat * 1000.0)
    if (
        status.min() < 0
        or status.max() >= len(_STATUS_TEXT)
        or error.max() >= len(ERROR_NAMES)
        or batch.profile.max() >= len(profile_names)
        or batch.state.max() >= len(state_names)
        or batch.kind.max() >= len(spelled.names)
        or not np.all(np.isfinite(micro))
        or np.signbit(lat).any()
        or micro.max() >= 1e15
    ):
        return format_lines_reference(batch, outcomes, header)
    kind = batch.kind.astype(np.intp)
    path, post_text, ref_text = _id_texts(kind, batch.post, batch.ref, spelled)
    minute_text, second_text = _time_texts(start, tick_seconds, batch)
    micro_int = micro.astype(np.int64)
    P = 20
    parts: list[str] = [""] * (P * n)
    parts[0::P] = ['{"seq":'] * n
    parts[1::P] = map(str, batch.seq.tolist())
    parts[2::P] = [f',"tick":{batch.tick},"time":"'] * n
    parts[3::P] = minute_text
    parts[4::P] = second_text
    parts[5::P] = ['","user":'] * n
    parts[6::P] = map(str, batch.user.tolist())
    combo = (batch.profile.astype(np.intp) * len(state_names) + batch.state) * len(spelled.names) + kind
    parts[7::P] = tables[combo].tolist()
    parts[8::P] = path.tolist()
    parts[9::P] = ['","sent_path":'] * n
    parts[10::P] = _sent_path_texts(outcomes, path)
    parts[11::P] = [',"post":'] * n
    parts[12::P] = post_text.tolist()
    parts[13::P] = [',"ref":'] * n
    parts[14::P] = ref_text.tolist()
    parts[15::P] = _STATUS_TEXT[status].tolist()
    parts[16::P] = map(str, (micro_int // 1000).tolist())
    parts[17::P] = _FRACTION_TEXT[micro_int % 1000].tolist()
    parts[18::P] = _TAIL_TEXT[outcomes.attempts.astype(np.intp) * len(ERROR_NAMES) + error].tolist()
    parts[19::P] = _real_time_texts(outcomes)
    return "".join(parts)


def _sent_path_texts(outcomes: Outcomes, path: NDArray[np.object_]) -> list[str]:
    """Each action's ``sent_path`` as JSON: the path requested (``null``: nothing was sent), or
    the reference path where the backend sends no requests (the mock)."""
    if not outcomes.real:
        return ('"' + path + '"').tolist()  # type: ignore[no-any-return]
    sent = outcomes.sent_path
    texts = np.full(len(sent), "null", dtype=object)
    has = np.flatnonzero(sent != None)  # noqa: E711 (elementwise on an object array)
    texts[has] = list(map(json.dumps, sent[has].tolist()))
    return texts.tolist()  # type: ignore[no-any-return]


def _real_time_texts(outcomes: Outcomes) -> list[str]:
    """Each line's end: ``,"sent_at":…,"bytes":…}`` where recorded, else ``}``."""
    n = len(outcomes)
    if not outcomes.real:
        return ["}\n"] * n
    texts = np.full(n, "}\n", dtype=object)
    sent = np.flatnonzero(outcomes.sent_at > 0)
    if len(sent):
        size = outcomes.response_bytes[sent]
        size_text = np.full(len(sent), "}\n", dtype=object)
        answered = np.flatnonzero(size >= 0)
        size_text[answered] = [f',"bytes":{b}}}\n' for b in size[answered].tolist()]
        texts[sent] = (
            ',"sent_at":' + np.array(list(map(str, outcomes.sent_at[sent].tolist())), object) + size_text
        )
    return texts.tolist()  # type: ignore[no-any-return]


def _id_texts(
    kind: NDArray[np.intp], post: NDArray[np.int32], ref: NDArray[np.int32], spelled: Spelling
) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.object_]]:
    """Each action's path with its id filled in, and its post and ref as JSON (``null`` if none)."""
    n = len(kind)
    post_text = np.array(list(map(str, post.tolist())), dtype=object)
    path_text, path_head, path_tail = _path_tables(spelled)
    path = path_text[kind]
    path_id = spelled.path_id[kind]
    head, tail = path_head[kind], path_tail[kind]
    on_post = np.flatnonzero(path_id == 1)
    path[on_post] = head[on_post] + post_text[on_post] + tail[on_post]
    on_ref = np.flatnonzero(path_id == 2)
    path[on_ref] = (
        head[on_ref] + np.array(list(map(str, ref[on_ref].tolist())), dtype=object) + tail[on_ref]
    )
    post_text[post < 0] = "null"
    ref_text = np.full(n, "null", dtype=object)
    has_ref = np.flatnonzero(ref >= 0)
    ref_text[has_ref] = list(map(str, ref[has_ref].tolist()))
    return path, post_text, ref_text


def _time_texts(
    start: dt.datetime, tick_seconds: int, batch: ActionBatch
) -> tuple[list[str], list[str]]:
    """Each action's time as ``"YYYY-MM-DDTHH:MM:"`` and ``"SS.mmm"``.

    The minute from a few datetime strings, seconds and milliseconds from a table.
    """
    total = action_epoch_ms(start, tick_seconds, batch)
    minute = total // 60_000
    first = int(minute.min())
    span = np.arange(first, int(minute.max()) + 1, dtype=np.int64) * 60_000
    minute_text = np.array(
        [m + ":" for m in np.datetime_as_string(span.astype("datetime64[ms]"), unit="m").tolist()],
        dtype=object,
    )
    return minute_text[minute - first].tolist(), _second_text()[total - minute * 60_000].tolist()


@functools.cache
def _path_tables(
    spelled: Spelling,
) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.object_]]:
    """Each kind's path, and the path's parts before and after ``{id}``, by code."""
    return (
        np.array(spelled.paths, dtype=object),
        np.array([h for h, _ in spelled.parts], dtype=object),
        np.array([t for _, t in spelled.parts], dtype=object),
    )


_STATUS_TEXT = np.array([f',"status":{s},"latency_ms":' for s in range(1000)], dtype=object)
_FRACTION_TEXT = np.array(["." + (f"{f:03d}".rstrip("0") or "0") for f in range(1000)], dtype=object)
_TAIL_TEXT = np.array(
    [
        f',"attempts":{a},"error":{"null" if e == 0 else json.dumps(ERROR_NAMES[e])}'
        for a in range(256)
        for e in range(len(ERROR_NAMES))
    ],
    dtype=object,
)


@functools.cache
def _second_text() -> NDArray[np.object_]:
    """``"SS.mmm"`` for each millisecond of a minute."""
    return np.array([f"{ms // 1000:02d}.{ms % 1000:03d}" for ms in range(60_000)], dtype=object)


@functools.cache
def _tables(
    profile_names: tuple[str, ...], state_names: tuple[str, ...], spelled: Spelling
) -> NDArray[np.object_]:
    """The text from profile to path for each (profile, state, kind)."""
    names, methods = spelled.names, spelled.methods
    return np.array(
        [
            f',"profile":{json.dumps(p)},"state":{json.dumps(s)},"action":"{names[k]}",'
            f'"method":"{methods[k]}","path":"'
            for p in profile_names
            for s in state_names
            for k in range(len(names))
        ],
        dtype=object,
    )


def format_lines_reference(
    batch: ActionBatch,
    outcomes: Outcomes,
    header: LogHeader,
) -> str:
    """The batch's log lines, one f-string per action: the definition :func:`format_lines` matches."""
    if len(batch) == 0:
        return ""
    times = action_times(header.start, header.tick_seconds, batch).tolist()
    paths = action_paths(batch.kind, batch.post, batch.ref, header.kinds)
    names, methods = header.spelling.names, header.spelling.methods
    kinds = batch.kind.tolist()
    profiles = [json.dumps(p) for p in header.profile_names]
    states = [json.dumps(s) for s in header.state_names]
    tick = batch.tick
    n = len(batch)
    real = outcomes.real
    sent_paths = outcomes.sent_path.tolist() if real else paths
    sent_at = outcomes.sent_at.tolist() if real else [0] * n
    sizes = outcomes.response_bytes.tolist() if real else [-1] * n
    ends = [
        (f',"sent_at":{at}' + (f',"bytes":{size}' if size >= 0 else "") if at > 0 else "") + "}\n"
        for at, size in zip(sent_at, sizes)
    ]
    rows = zip(
        batch.seq.tolist(),
        times,
        batch.user.tolist(),
        batch.profile.tolist(),
        batch.state.tolist(),
        kinds,
        paths,
        batch.post.tolist(),
        batch.ref.tolist(),
        outcomes.status.tolist(),
        logged_latency(outcomes.latency_ms).tolist(),
        outcomes.attempts.tolist(),
        outcomes.error.tolist(),
        sent_paths,
        ends,
    )
    return "".join(
        f'{{"seq":{seq},"tick":{tick},"time":"{when}","user":{user},"profile":{profiles[prof]},'
        f'"state":{states[st]},"action":"{names[k]}","method":"{methods[k]}","path":"{path}",'
        f'"sent_path":{json.dumps(sent)},'
        f'"post":{post if post >= 0 else "null"},"ref":{ref if ref >= 0 else "null"},'
        f'"status":{status},"latency_ms":{lat},'
        f'"attempts":{att},"error":{"null" if err == 0 else chr(34) + ERROR_NAMES[err] + chr(34)}'
        f"{end}"
        for seq, when, user, prof, st, k, path, post, ref, status, lat, att, err, sent, end in rows
    )


class JsonlSink(LogSink):
    """Appends each batch's lines to a JSONL file and flushes after every batch."""

    def __init__(
        self,
        path: Path,
        header: LogHeader,
        append: bool = False,
    ) -> None:
        self.path = path
        self.header = header
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Write one batch."""
        if self._file is None:
            raise ValueError(f"the log {self.path} is closed")
        self._file.write(format_lines(batch, outcomes, self.header))
        self._file.flush()

    def flush(self) -> None:
        """Push what was written to the operating system (every batch already is)."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Flush and close (idempotent)."""
        if self._file is not None:
            self._file.flush()
            self._file.close()
            self._file = None


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSONL action log (for tests, reports and tools)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
