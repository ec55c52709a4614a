"""How much of a run succeeds against a third-party-style API when answers get lost.

Reproduces the "Third-party API with lost answers" table of benchmarks/RESULTS.md. The
Medium-like API of the tests (tests/support/medium_api.py: nested JSON, slugs that change
on edit, a non-idempotent sign-up, a ``Token`` prefix, its own SQLite file) runs under
uvicorn in a subprocess, behind the dropping proxy of tests/support/dropping_proxy.py (a
subprocess too), which forwards every request and, for a keyed share of them, closes the
connection AFTER the app handled it, without passing the answer on.

simcore's http backend drives it at the default concurrency (64) with the routes table of
the tests (``exists``/``log_in`` on the sign-up, ``ok`` on likes and follows, ``id``
re-learning edited slugs, ``{run}`` in usernames): without drops, with 10 % of answers
dropped, and, for comparison, with 10 % dropped and the routes stripped of ``exists``,
``log_in`` and ``ok`` (what a routes table could say before issue 11). Each row is a fresh
database; the action stream is the same in every row (its digest is printed).

    python benchmarks/bench_third_party.py              # 1,000 users for 1 h, three rows
    python benchmarks/bench_third_party.py --quick      # 300 users for 30 min
    python benchmarks/bench_third_party.py --no-record  # print only

Every load is bounded (one simulated hour) and goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from attrs import evolve

import servers
from common import EVENING, ROOT, OutcomeSink, Table, machine, record_section, run_simcore
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.parse import loads_config, with_overrides
from simcore.scenario.schema import Config

sys.path.insert(0, str(ROOT))  # tests.support: the API and the proxy
from tests.support import medium_api

HEADING = "### Third-party API with lost answers"
CREATES = [KIND_NAMES.index(k) for k in ("create_post", "repost", "quote_post")]
HOW_TO_READ = (
    "- how to read: the proxy closes the connection after the app handled a keyed 10 % of the "
    "requests, so the client retries work the server already did. A retried sign-up meets 422 "
    '"taken" and logs in (`exists`, `log_in`); a retried like or follow meets 409 and counts as '
    "done (`ok`); creates, edits and deletes are replayed by the API's Idempotency-Key. Without "
    "`exists`/`log_in`/`ok` those retries fail, and every later action of a user whose sign-up "
    "failed is skipped. *creates ok / articles in db* and *sign-ups ok / users in db* compare "
    "the log with the server's own database (equal: nothing made twice, nothing lost).",
    "- which answers are dropped is keyed by the request (path, body, token, the action's "
    "sequence number); the users' tokens are the server's random ones, so the drops among reads "
    "and the third row's figures move by a few points from run to run (85-91 % succeeded "
    "in five runs).",
)


def config_for(users: int, duration: str, plain: bool) -> Config:
    """The default crowd (and its comments) driving the Medium-like API; ``plain``: without
    exists, log_in, ok."""
    config = loads_config(medium_api.ROUTES)
    table = dict(config.backend.routes)
    if plain:
        table.pop("log_in")
        table = {k: evolve(r, ok=(), exists=()) for k, r in table.items()}
    # a fixed {run}: every row a fresh database, the same requests, so the same drops
    backend = evolve(config.backend, routes=table, namespace="bench")
    return with_overrides(
        evolve(config, backend=backend),
        seed=42,
        start=EVENING,
        duration=duration,
        population__initial_users=users,
        population__max_users=max(users * 2, 1000),
    )


def _start(command: list[str], url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    servers.wait_http(url, 30, process)
    return process


def one_row(config: Config, rate: float) -> tuple[OutcomeSink, int, int, int, float]:
    """Run ``config`` through the proxy dropping ``rate`` of the answers, over a fresh database;
    return the outcomes, the articles and users in the database, the ticks run and the wall
    seconds."""
    with tempfile.TemporaryDirectory(prefix="simcore-bench-3p-") as tmp:
        db = Path(tmp) / "medium.db"
        env = {**os.environ, "MEDIUM_API_DB": str(db), "PYTHONPATH": str(ROOT)}
        app_port, proxy_port = servers.free_port(), servers.free_port()
        app_url = f"http://127.0.0.1:{app_port}"
        app = _start(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.support.medium_api:app_from_env",
             "--host", "127.0.0.1", "--port", str(app_port), "--log-level", "warning"],
            app_url + "/api/articles",
            env,
        )  # fmt: skip
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        proxy = None
        try:
            proxy = _start(
                [
                    sys.executable,
                    "-m",
                    "tests.support.dropping_proxy",
                    app_url,
                    str(proxy_port),
                    str(rate),
                ],
                proxy_url + "/api/articles",
                env,
            )
            sink = OutcomeSink()
            run = run_simcore(config, "http", {"target": proxy_url}, sinks=[sink])
        finally:
            if proxy is not None:
                servers.stop_process(proxy)
            servers.stop_process(app)
        contents = medium_api.read_db(db)
    return sink, len(contents["articles"]), len(contents["users"]), run.ticks, run.wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 users for 30 min")
    parser.add_argument("--no-record", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    users, duration = (300, "30m") if args.quick else (1000, "1h")
    table = Table(
        f"Medium-like API behind a dropping proxy: default profile with comments, {users:,} users from Mon 19:00 "
        f"for {duration}, seed 42, http backend, concurrency 64",
        ("<routes", "answers dropped", "actions", "succeeded", "failed", "skipped", "retried",
         "<failures", "creates ok / articles in db", "sign-ups ok / users in db", "wall s"),
    )  # fmt: skip
    digests = set()
    for label, rate, plain in (
        ("issue 11 (exists, log_in, ok, id)", 0.0, False),
        ("issue 11 (exists, log_in, ok, id)", 0.10, False),
        ("without exists, log_in, ok", 0.10, True),
    ):
        sink, articles, db_users, _ticks, wall = one_row(config_for(users, duration, plain), rate)
        digests.add(sink.digest.hexdigest())
        status, error = sink.joined("status"), sink.joined("error")
        kinds = np.concatenate(sink.kinds)
        attempts = sink.joined("attempts")
        failed = np.concatenate([p.failed() for p in sink.parts])
        n = len(status)
        skipped = int(np.count_nonzero(error == 3))
        creates_ok = int(np.count_nonzero(np.isin(kinds, CREATES) & ~failed))
        signups_ok = int(np.count_nonzero((kinds == 0) & ~failed))
        reasons = {}
        for code in np.unique(status[failed & (error != 3)]).tolist():
            reasons[str(code)] = int(np.count_nonzero(failed & (error != 3) & (status == code)))
        table.add(
            label,
            f"{rate:.0%}",
            f"{n:,}",
            f"{1 - failed.mean():.2%}",
            f"{int(failed.sum()) - skipped:,}",
            f"{skipped:,}",
            f"{np.mean(attempts > 1):.1%}",
            " ".join(f"{k}:{v}" for k, v in reasons.items()) or "–",
            f"{creates_ok:,} / {articles:,}",
            f"{signups_ok:,} / {db_users:,}",
            f"{wall:.1f}",
        )
    table.caption = (
        "succeeded: answered 2xx (or a route's ok status) and usable; skipped: never sent, its "
        "user's sign-up or its post's create failed; retried: more than one attempt; the same "
        f"action stream in every row ({len(digests)} distinct digest{'s' if len(digests) > 1 else ''})"
    )
    table.print()
    if not args.no_record:
        body = "\n".join(
            [
                f"`python benchmarks/bench_third_party.py{' --quick' if args.quick else ''}`",
                "",
                f"- machine: {machine()}",
                *HOW_TO_READ,
                "",
                table.markdown(),
            ]
        )
        record_section(HEADING, body)


if __name__ == "__main__":
    main()
