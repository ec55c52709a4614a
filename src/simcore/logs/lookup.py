"""One field of a few actions of a log, by sequence number, without reading every row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from pathlib import Path

from simcore.logs.formats import format_of
from simcore.logs.parquet import load_pyarrow


def sent_paths(path: Path, seqs: Collection[int]) -> dict[int, str | None]:
    """The ``sent_path`` (the path actually requested; None if nothing was sent) of the actions
    numbered ``seqs`` in the log at ``path``."""
    wanted = set(seqs)
    if not wanted:
        return {}
    fmt = format_of(path)
    if fmt == "sqlite":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            marks = ",".join("?" * len(wanted))
            rows = db.execute(
                f"SELECT seq, sent_path FROM actions_named WHERE seq IN ({marks})", sorted(wanted)
            ).fetchall()
        finally:
            db.close()
        return {int(s): p for s, p in rows}
    if fmt == "parquet":
        pa, pc, pq = load_pyarrow()
        table = pq.read_table(str(path), columns=["seq", "sent_path"])
        keep = pc.is_in(table.column("seq"), value_set=pa.array(sorted(wanted), pa.int64()))
        table = table.filter(keep)
        return dict(zip(table.column("seq").to_pylist(), table.column("sent_path").to_pylist()))
    out: dict[int, str | None] = {}
    last = max(wanted)
    with open(path, encoding="utf-8") as f:
        for line in f:  # lines begin {"seq":N, — only the wanted ones are parsed
            head = line[7 : line.find(",")]
            if not head.isdigit():
                continue
            seq = int(head)
            if seq in wanted:
                out[seq] = json.loads(line).get("sent_path")
            if seq >= last:
                break
    return out
