"""Soak (issue 13): simcore drives the reference app over HTTP for a long time at a steady pace;
the app's and the client's memory must stay flat, and the database grow only with the data.

    python benchmarks/bench_soak.py                    # one hour, as the issue asks
    python benchmarks/bench_soak.py --minutes 10 --key-ttl 120 --record

The reference app runs under uvicorn (one worker, a fresh database in a temp folder) on a
free loopback port; ``simcore run --backend http`` drives it, paced (``--speed``). Every
``--every`` seconds the table gets one row: resident memory of the server's and the
client's process trees, the database's size (main file and WAL), the rows it holds (users,
posts, likes, follows: the data) and the remembered Idempotency-Keys (expired after
``--key-ttl`` seconds, the app's ``SIMCORE_APP_KEY_TTL``). *bytes/row* is the database's
size over its data rows: flat when the database grows only with the data.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Table, machine, record_section
from servers import RefApp, _tree, stop_process


class SoakApp(RefApp):
    """The reference app with a chosen Idempotency-Key lifetime."""

    def __init__(self, key_ttl: float | None) -> None:
        super().__init__()
        self.key_ttl = key_ttl

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.key_ttl is not None:
            env["SIMCORE_APP_KEY_TTL"] = str(self.key_ttl)
        return env


def rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its descendants, in MB."""
    total = 0
    for pid in _tree(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def db_counts(db: Path) -> dict[str, int]:
    """Rows per table, read without taking a write lock (WAL readers never block writers)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {
            t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in ("users", "posts", "likes", "follows", "idempotency")
        }
    finally:
        conn.close()


def size_mb(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="How long to soak (real minutes).")
    parser.add_argument("--every", type=float, default=60.0, help="Seconds between table rows.")
    parser.add_argument("--users", type=int, default=2000, help="Initial population.")
    parser.add_argument("--speed", type=float, default=300.0, help="Simulated seconds per real second.")
    parser.add_argument(
        "--key-ttl", type=float, default=None, help="Idempotency-Key lifetime, s (app default: 900)."
    )
    parser.add_argument(
        "--record", action="store_true", help="Write the table into benchmarks/RESULTS.md."
    )
    args = parser.parse_args()

    header = machine()
    print(header, flush=True)
    table = Table(
        f"Soak: {args.minutes:g} min, {args.users:,} users at speed {args.speed:g}, "
        f"key TTL {args.key_ttl if args.key_ttl is not None else 900:g} s",
        [
            "min",
            "server MB",
            "client MB",
            "db MB",
            "wal MB",
            "users",
            "posts",
            "likes",
            "follows",
            "keys",
            "bytes/row",
            "writes/s",
        ],
    )
    seconds = args.minutes * 60
    simulated = int(seconds * args.speed * 1.5)  # longer than the soak: the soak stops it
    with SoakApp(args.key_ttl) as app, tempfile.TemporaryDirectory(prefix="simcore-soak-") as tmp:
        db = app.tmp / "app.db"
        config = Path(tmp) / "soak.toml"  # the default scenario, from a Monday evening on
        config.write_text("start = 2026-01-05T17:00:00\n", encoding="utf-8")
        client = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simcore.ui.cli",
                "run",
                str(config),
                "--backend",
                "http",
                "--target",
                app.url,
                "--users",
                str(args.users),
                "--speed",
                f"{args.speed:g}",
                "--duration",
                f"{simulated}s",
                "--log",
                "none",
                "-q",
                "--no-control",
                "--out",
                str(Path(tmp) / "run"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert app.process is not None
        start = time.monotonic()
        last_writes, last_t = 0, start
        try:
            while (now := time.monotonic()) - start < seconds:
                time.sleep(min(args.every, max(seconds - (now - start), 0.1)))
                if client.poll() is not None:
                    raise SystemExit(f"the client ended early: {client.stderr.read().decode()[-2000:]}")
                counts = db_counts(db)
                data = counts["users"] + counts["posts"] + counts["likes"] + counts["follows"]
                stored = db.stat().st_size + (
                    db.with_name("app.db-wal").stat().st_size
                    if db.with_name("app.db-wal").exists()
                    else 0
                )
                t = time.monotonic()
                writes = data  # data rows only grow; their rate is the write rate
                table.add(
                    f"{(t - start) / 60:.1f}",
                    f"{rss_mb(app.process.pid):.0f}",
                    f"{rss_mb(client.pid):.0f}",
                    f"{size_mb(db):.1f}",
                    f"{size_mb(db.with_name('app.db-wal')):.1f}",
                    f"{counts['users']:,}",
                    f"{counts['posts']:,}",
                    f"{counts['likes']:,}",
                    f"{counts['follows']:,}",
                    f"{counts['idempotency']:,}",
                    f"{stored / max(data, 1):.0f}",
                    f"{(writes - last_writes) / (t - last_t):.0f}",
                )
                last_writes, last_t = writes, t
                print(" | ".join(table.rows[-1]), flush=True)
        finally:
            if client.poll() is None:
                client.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                client.wait(timeout=60)
            stop_process(client)  # type: ignore[arg-type]
    table.caption = (
        "RSS of each process tree; db/wal: the SQLite files; users … follows: the data rows; keys: "
        "remembered Idempotency-Keys (expired after the TTL); bytes/row: (db + wal) / data rows; "
        "writes/s: data rows added per second since the row before."
    )
    table.print()
    if args.record:
        command = " ".join(["python benchmarks/bench_soak.py", *sys.argv[1:]]).replace(" --record", "")
        record_section(
            "## Soak (issue 13): `python benchmarks/bench_soak.py`",
            f"Command: `{command}`. Machine: {header}.\n\n{table.markdown()}",
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
