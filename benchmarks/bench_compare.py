"""``simcore compare`` against the reference app served twice: once as is, once with one route
slowed by ``simcore serve --slow``.

Every run is ``simcore run`` (CLI, http backend, lean client, paced at ``--speed 120`` by
default) of the default profile with N users for one simulated hour from a Monday 19:00,
against a fresh ``simcore serve`` (fresh database) on a free loopback port; compare is
:func:`simcore.run.comparison.compare_runs` (what ``simcore compare`` runs).

Runs A and B go **side by side**: both servers up, both ``simcore run`` started together,
so that both see the machine as it is at that moment, each on a core of its own (A's server
and client on core 0, B's on core 1; ``--no-pin`` leaves them to the scheduler, which gave
one run more of the CPUs than the other often enough to flag 14 % of the same-build cases). Run one after the other on this shared
2-CPU machine (other jobs come and go), the same build's latency level moved by 10-30 %
between runs and within them, and half of the A-vs-A′ cases were flagged; at ``--speed max``
the two side-by-side runs compete for the CPUs and the same happens (RESULTS.md).

Sections (RESULTS.md, "simcore compare"):

1. the slowed endpoint flagged exactly: seeds × endpoints, the verdicts with one route slowed;
2. false positives: the same build twice (A vs A′), the share of endpoint × seed cases flagged;
3. the smallest slowdown (a share of the endpoint's median latency in A) flagged in 9 of 10
   seeds, paired (``simcore compare``) and unpaired (the same two runs compared as two
   independent samples: a bootstrap interval of the ratio of medians from independent
   resamples, the same tolerance rule; and Mann-Whitney U at p < 0.05 for reference).

    python benchmarks/bench_compare.py                 # 10 seeds, 1,000 users, 1 h
    python benchmarks/bench_compare.py --seeds 3 --users 300 --record no   # a quick look
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import Table, machine, record_section, scenario_config
from servers import HOST, Server, can_pin, pinned
from simcore.analysis.compare import CompareOptions, _cluster_counts, _weighted_quantiles
from simcore.logs.read import find_log, read_columns
from simcore.run.comparison import compare_runs
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.parse import dump_config

SLOWED_METHOD, SLOWED_PATH, SLOWED_KIND = "GET", "/posts/{id}", "read_post"
SLOWED = f"{SLOWED_METHOD} {SLOWED_PATH}"
HEADING = "## simcore compare: two builds, one crowd"


WHY_SIDE_BY_SIDE = """Why side by side, paced: first tries of this benchmark (2 seeds, before
the cluster bootstrap) ran A, A′ and B one after the other at `--speed max`: 10 of 20 A-vs-A′
endpoint cases were flagged (the server saturated, latency is queueing, and the machine's other
jobs moved its level by 10-30 % between runs and within them, deciles of one run's paired ratio
ranging 0.72-1.28). Side by side at `--speed max`, the two runs compete for the 2 CPUs: 11 of 20
flagged. One after the other at `--speed 120`: 1 of 10. Side by side at `--speed 120` both see
the same machine and neither saturates it. Paired latencies of one action in A and A′ then
correlate weakly (log-latency correlation 0.1-0.25 per endpoint: at a few ms, a request's
latency is mostly the scheduler's noise, not the request), which bounds what pairing can gain
over an unpaired comparison on this app; it gains more where the request itself decides its
cost (a feed page's size, a growing table) or where latency is queueing under a shared burst."""


class Serve(Server):
    """``simcore serve`` (the reference app under uvicorn) with a fresh database and ``--slow``."""

    name = "serve"

    def __init__(self, slow: list[str], core: int | None = None) -> None:
        super().__init__(core)
        self.slow = slow

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "simcore", "serve", "--host", HOST, "--port", str(self.port)]
        command += ["--db", str(self.tmp / "app.db")]
        for spec in self.slow:
            command += ["--slow", spec]
        return command

    def probe(self) -> str:
        return self.url + "/health"


SPEED = "120"
#: run A's server and client on core 0 and B's on core 1 (``--pin``)
PIN = False


def side_by_side(
    config: Path, out_a: Path, out_b: Path, slow_ms: float = 0.0, base_ms: float = 0.0
) -> tuple[Path, Path]:
    """Run A (the app as is, or with ``base_ms`` on the slowed route) and B (``slow_ms`` more on
    the slowed route) at the same time, each
    ``simcore run`` of ``config`` against its own fresh server, so that both see the machine as
    it is at that moment; return the two run directories."""
    if all((out / "summary.json").is_file() for out in (out_a, out_b)):
        return out_a, out_b  # done by an earlier, interrupted invocation with the same --keep
    for out in (out_a, out_b):
        shutil.rmtree(out, ignore_errors=True)
    slow = [f"{SLOWED}={base_ms + slow_ms:g}ms"] if base_ms + slow_ms > 0 else []
    base = [f"{SLOWED}={base_ms:g}ms"] if base_ms > 0 else []
    cores = (0, 1) if PIN and can_pin(0, 1) else (None, None)
    with Serve(base, cores[0]) as server_a, Serve(slow, cores[1]) as server_b:
        runs = []
        for server, out in ((server_a, out_a), (server_b, out_b)):
            command = [sys.executable, "-m", "simcore", "run", str(config), "--backend", "http"]
            command += [
                "--target",
                server.url,
                "--speed",
                SPEED,
                "--out",
                str(out),
                "-q",
                "--no-control",
            ]
            runs.append(
                subprocess.Popen(
                    pinned(command, server.core),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for run in runs:
            _, err = run.communicate()
            if run.returncode not in (0, 3):
                raise RuntimeError(f"simcore run failed ({run.returncode}): {err[-2000:]}")
    return out_a, out_b


def verdicts(run_a: Path, run_b: Path, work: Path, tolerance: float) -> dict[str, Any]:
    """The paired comparison (what ``simcore compare`` writes to compare.json)."""
    out = work / f"cmp-{run_a.name}-{run_b.name}-{tolerance:g}"
    return compare_runs(run_a, run_b, out, CompareOptions(tolerance=tolerance))


Sample = tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.int64]]]


def latencies(run: Path, *kinds: str) -> Sample:
    """The latencies of the actions of ``kinds`` (an endpoint's) answered in ``run``, and the
    simulated minute each was sent in (its cluster, as simcore compare resamples them)."""
    path = find_log(run)
    assert path is not None
    cols = read_columns(path, outcomes=True)
    codes = [KIND_NAMES.index(kind) for kind in kinds]
    keep = np.isin(cols.kind, codes) & (cols.status > 0) & (cols.latency_ms > 0)
    return cols.latency_ms[keep], cols.time_ms[keep] // CompareOptions().cluster_ms


def _medians(sample: Sample, m: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """``m`` bootstrap medians of one run's sample, its minutes resampled (the cluster bootstrap
    simcore compare uses, on one run alone)."""
    values, clusters = sample
    labels = np.unique(clusters, return_inverse=True)[1].ravel()
    order = np.argsort(values, kind="stable")
    counts = _cluster_counts(int(labels.max()) + 1, m, rng).T
    (median,) = _weighted_quantiles(values[order], counts[labels[order]], [0.5])
    return median


def unpaired(a: Sample, b: Sample, tolerance: float, seed: int, comparisons: int = 1) -> dict[str, Any]:
    """The two runs as independent samples: a percentile-bootstrap interval of
    median(B)/median(A), each run's minutes resampled on their own (1,000 times), with the
    paired method's tolerance rule; and Mann-Whitney U's p-value (two-sided; significant below
    0.05 / ``comparisons``)."""
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(seed)
    low, high = np.percentile(_medians(b, 1000, rng) / _medians(a, 1000, rng), [2.5, 97.5])
    p = float(mannwhitneyu(b[0], a[0]).pvalue)
    return {
        "ratio": float(np.median(b[0]) / np.median(a[0])),
        "low": float(low),
        "high": float(high),
        "flagged": bool(low > 1 + tolerance or high < 1 - tolerance),
        "regressed": bool(low > 1 + tolerance),
        "mwu_p": p,
        "mwu": p < 0.05 / comparisons,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--duration", default="1h")
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--exact-ms", type=float, default=20.0, help="section 1's slowdown")
    parser.add_argument(
        "--shares",
        default="0.04,0.08,0.15,0.3",
        help="section 3's slowdowns, shares of the endpoint's median latency in A",
    )
    parser.add_argument(
        "--base-ms",
        type=float,
        default=1.0,
        help="section 3: both builds wait this long on the slowed route, B the share more",
    )
    parser.add_argument("--speed", default="120", help="simcore run --speed (max, or N x real time)")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="leave the runs to the scheduler (default: A's server and client on core 0, B's on core 1)",
    )
    parser.add_argument("--record", choices=["yes", "no"], default="yes")
    parser.add_argument(
        "--keep", type=Path, help="keep the run directories here (runs already there are reused)"
    )
    args = parser.parse_args()
    global SPEED, PIN
    SPEED, PIN = args.speed, not args.no_pin
    started = time.perf_counter()
    work = args.keep or Path(tempfile.mkdtemp(prefix="simcore-bench-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    header = machine()
    print(header, flush=True)
    seeds = list(range(1, args.seeds + 1))
    configs = {}
    for seed in seeds:
        configs[seed] = work / f"config-seed{seed}.toml"
        configs[seed].write_text(dump_config(scenario_config(args.users, args.duration, seed=seed)))

    base: dict[int, Path] = {}
    again: dict[int, Path] = {}
    exact: dict[int, tuple[Path, Path]] = {}
    for seed in seeds:
        base[seed], again[seed] = side_by_side(
            configs[seed], work / f"A-seed{seed}", work / f"A2-seed{seed}"
        )
        exact[seed] = side_by_side(
            configs[seed],
            work / f"A3-seed{seed}",
            work / f"B{args.exact_ms:g}ms-seed{seed}",
            args.exact_ms,
        )
        print(f"seed {seed}: A|A′ and A|B done ({time.perf_counter() - started:.0f} s)", flush=True)

    # 1. exactly the slowed endpoint
    first = verdicts(*exact[seeds[0]], work, args.tolerance)
    names = [e["endpoint"] for e in first["endpoints"]]
    short = {n: n.replace("/posts", "/p").replace("/users", "/u") for n in names}
    t1 = Table(
        f"Verdicts with {SLOWED} slowed by {args.exact_ms:g} ms (B) against the same build as is (A)",
        ["seed", *(short[n] for n in names), "<exactly that endpoint"],
    )
    exact_ok = 0
    for seed in seeds:
        result = verdicts(*exact[seed], work, args.tolerance)
        by = {e["endpoint"]: e["verdict"] for e in result["endpoints"]}
        ok = result["regressed"] == [SLOWED]
        exact_ok += ok
        t1.add(str(seed), *(by.get(n, "–")[:4] for n in names), "yes" if ok else "NO")
    t1.caption = f"regr = regressed, impr = improved, unch = unchanged; exactly {SLOWED}: {exact_ok} of {len(seeds)} seeds"
    t1.print()

    # 2. false positives: A vs A′, paired and unpaired
    cases = judged = flagged = regressed = 0
    u_flagged = u_regressed = mwu_flagged = 0
    flagged_list = []
    for seed in seeds:
        result = verdicts(base[seed], again[seed], work, args.tolerance)
        for e in result["endpoints"]:
            if e["note"] is not None:  # too few pairs or minutes: no latency verdict
                continue
            judged += 1
            flagged += e["verdict"] != "unchanged"
            regressed += e["verdict"] == "regressed"
            if e["verdict"] != "unchanged":
                flagged_list.append(f"seed {seed} {e['endpoint']} {e['verdict']}")
            kinds = e["kinds"]
            u = unpaired(
                latencies(base[seed], *kinds), latencies(again[seed], *kinds), args.tolerance, seed
            )
            u_flagged += u["flagged"]
            u_regressed += u["regressed"]
            mwu_flagged += u["mwu"]
        cases += len(result["endpoints"])

    def rate(n: int) -> str:
        return f"{n} ({n / judged:.1%})" if judged else "–"

    t2 = Table(
        f"The same build twice (A vs A′): {judged} endpoint × seed cases with a latency verdict "
        f"(of {cases})",
        ["<method", "flagged (regressed or improved)", "regressed"],
    )
    t2.add("paired: simcore compare", rate(flagged), rate(regressed))
    t2.add("unpaired: bootstrap of median(B)/median(A), same rule", rate(u_flagged), rate(u_regressed))
    t2.add("unpaired: Mann-Whitney U, p < 0.05 (no tolerance)", rate(mwu_flagged), "–")
    t2.caption = (
        "a case has a latency verdict with 20 paired latencies over 10 simulated minutes at least; "
        "paired flags: " + ("; ".join(flagged_list) if flagged_list else "none")
    )
    t2.print()

    # 3. the smallest slowdown flagged in 9 of 10 seeds, paired vs unpaired
    # both builds wait base_ms on the route (a thread's hand-over, ~0.15 ms, then is in both)
    median_a = args.base_ms + float(
        np.median([np.median(latencies(base[s], SLOWED_KIND)[0]) for s in seeds])
    )
    shares = [float(x) for x in args.shares.split(",")]
    t3 = Table(
        f"{SLOWED} slowed by a share of its median latency in A ({median_a:.1f} ms: the median over "
        f"seeds as is, plus {args.base_ms:g} ms that A and B both wait there): seeds flagged of {len(seeds)}",
        [
            "share",
            "added ms",
            "measured share",
            "paired (simcore compare)",
            "unpaired bootstrap",
            "unpaired Mann-Whitney p<0.05",
            "median paired CI width",
            "median unpaired CI width",
        ],
    )
    need = int(np.ceil(0.9 * len(seeds)))
    smallest: dict[str, float | None] = {"paired": None, "unpaired": None, "mwu": None}
    for share in shares:
        added = share * median_a
        counts = {"paired": 0, "unpaired": 0, "mwu": 0}
        widths_p, widths_u = [], []
        pooled_a, pooled_b = [], []
        for seed in seeds:
            run_a, run_b = side_by_side(
                configs[seed],
                work / f"A-b{args.base_ms:g}-{share:g}-seed{seed}",
                work / f"B-b{args.base_ms:g}-{share:g}-seed{seed}",
                added,
                args.base_ms,
            )
            result = verdicts(run_a, run_b, work, args.tolerance)
            e = next(x for x in result["endpoints"] if x["endpoint"] == SLOWED)
            counts["paired"] += e["verdict"] == "regressed"
            widths_p.append(e["median_ratio"]["high"] - e["median_ratio"]["low"])
            lat_a, lat_b = latencies(run_a, SLOWED_KIND), latencies(run_b, SLOWED_KIND)
            pooled_a.append(lat_a[0])
            pooled_b.append(lat_b[0])
            u = unpaired(lat_a, lat_b, args.tolerance, seed)
            counts["unpaired"] += u["regressed"]
            counts["mwu"] += u["mwu"] and u["ratio"] > 1
            widths_u.append(u["high"] - u["low"])
        for method, n in counts.items():
            if n >= need and smallest[method] is None:
                smallest[method] = share
        t3.add(
            f"{share:.0%}",
            f"{added:.2f}",
            f"{np.median(np.concatenate(pooled_b)) / np.median(np.concatenate(pooled_a)) - 1:.0%}",
            f"{counts['paired']}",
            f"{counts['unpaired']}",
            f"{counts['mwu']}",
            f"{np.median(widths_p):.3f}",
            f"{np.median(widths_u):.3f}",
        )
        print(f"share {share:g} done ({time.perf_counter() - started:.0f} s)", flush=True)

    def shown(x: float | None) -> str:
        return f"{x:.0%}" if x is not None else f"> {shares[-1]:.0%}"

    t3.caption = (
        "measured share: median(B)/median(A) - 1 of the slowed endpoint, all seeds pooled "
        "(the wait `serve --slow` adds is precise to about 0.15 ms); "
        + f"smallest share flagged in {need} of {len(seeds)} seeds: paired {shown(smallest['paired'])}, "
        f"unpaired bootstrap {shown(smallest['unpaired'])} (tolerance {args.tolerance:g}); "
        f"Mann-Whitney U, which has no tolerance, {shown(smallest['mwu'])}"
    )
    t3.print()
    wall = time.perf_counter() - started
    print(f"\nwall time {wall:.0f} s", flush=True)
    if args.record == "yes":
        command = "python benchmarks/bench_compare.py " + " ".join(sys.argv[1:])
        body = "\n\n".join(
            [
                f"Machine: {header}. Command: `{command.strip()}` ({wall / 60:.0f} min; with `--keep DIR` "
                "the runs already in DIR are reused and only the comparisons recomputed). "
                f"{len(seeds)} seeds, {args.users:,} users × {args.duration} from Monday 19:00, default "
                f"profile, http backend (lean client) at `--speed {args.speed}`; each comparison's A and B "
                "run side by side (at the same time), each against its own fresh `simcore serve`"
                + (
                    "; A's server and client pinned to core 0, B's to core 1"
                    if PIN and can_pin(0, 1)
                    else ""
                )
                + "; "
                f"tolerance {args.tolerance:g}, every other compare option at its default.",
                t1.markdown(),
                t2.markdown(),
                t3.markdown(),
                WHY_SIDE_BY_SIDE,
            ]
        )
        record_section(HEADING, body)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
