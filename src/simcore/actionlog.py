"""The action log: one JSON object per action, written a batch at a time.

Each line holds the action (sequence number, tick, simulated ISO-8601 time,
user, profile, state, action, method, path, post id, ref: the reposted or quoted
post, or the followed user) and its outcome (status,
latency, attempts, error). Lines are built for a whole batch and written with
one call; the file is flushed after every batch, so a stop at any point leaves
every finished tick on disk.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from simcore.actions import KIND_NAMES, METHODS, PATH_REF, PATHS, ActionBatch
from simcore.backend import ErrorKind, Outcomes

ERROR_NAMES: tuple[str, ...] = tuple(e.name.lower() for e in ErrorKind)
OUTCOME_FIELDS = ("status", "latency_ms", "attempts", "error")
_PATH_REF = np.array([int(k) for k in PATH_REF], dtype=np.uint8)


def action_times(start: dt.datetime, tick_seconds: int, batch: ActionBatch) -> NDArray[np.str_]:
    """Simulated ISO-8601 times (millisecond precision) of each action of ``batch``."""
    base = np.datetime64(start, "ms") + np.timedelta64(batch.tick * tick_seconds * 1000, "ms")
    stamps = base + batch.offset_ms.astype("timedelta64[ms]")
    return np.datetime_as_string(stamps, unit="ms")


def action_paths(batch: ActionBatch) -> list[str]:
    """The reference API path of each action."""
    ids = np.where(np.isin(batch.kind, _PATH_REF), batch.ref, batch.post)
    return [PATHS[k].replace("{id}", str(p)) for k, p in zip(batch.kind.tolist(), ids.tolist())]


def format_lines(
    batch: ActionBatch,
    outcomes: Outcomes,
    start: dt.datetime,
    tick_seconds: int,
    profile_names: Sequence[str],
    state_names: Sequence[str],
) -> str:
    """The batch's log lines (each ending in a newline)."""
    if len(batch) == 0:
        return ""
    times = action_times(start, tick_seconds, batch).tolist()
    paths = action_paths(batch)
    kinds = batch.kind.tolist()
    profiles = [json.dumps(p) for p in profile_names]
    states = [json.dumps(s) for s in state_names]
    tick = batch.tick
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
        np.round(outcomes.latency_ms.astype(np.float64), 3).tolist(),
        outcomes.attempts.tolist(),
        outcomes.error.tolist(),
    )
    return "".join(
        f'{{"seq":{seq},"tick":{tick},"time":"{when}","user":{user},"profile":{profiles[prof]},'
        f'"state":{states[st]},"action":"{KIND_NAMES[k]}","method":"{METHODS[k]}","path":"{path}",'
        f'"post":{post if post >= 0 else "null"},"ref":{ref if ref >= 0 else "null"},'
        f'"status":{status},"latency_ms":{lat},'
        f'"attempts":{att},"error":{"null" if err == 0 else chr(34) + ERROR_NAMES[err] + chr(34)}}}\n'
        for seq, when, user, prof, st, k, path, post, ref, status, lat, att, err in rows
    )


class JsonlSink:
    """Appends each batch's lines to a JSONL file and flushes after every batch."""

    def __init__(
        self,
        path: Path,
        start: dt.datetime,
        tick_seconds: int,
        profile_names: Sequence[str],
        state_names: Sequence[str],
        append: bool = False,
    ) -> None:
        self.path = path
        self.start, self.tick_seconds = start, tick_seconds
        self.profile_names, self.state_names = tuple(profile_names), tuple(state_names)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
        self.written = 0

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Write one batch."""
        if self._file is None:
            raise ValueError(f"the log {self.path} is closed")
        self._file.write(
            format_lines(
                batch, outcomes, self.start, self.tick_seconds, self.profile_names, self.state_names
            )
        )
        self._file.flush()
        self.written += len(batch)

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
