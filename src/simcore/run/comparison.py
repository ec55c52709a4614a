"""Two run directories compared: their logs read and checked to be one action stream, each
endpoint compared (:mod:`simcore.analysis.compare`), compare.json and compare.html written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simcore import atomic
from simcore.analysis.compare import CompareOptions, compare, endpoint_names
from simcore.analysis.compare_page import compare_page
from simcore.analysis.endpoint import endpoints_of
from simcore.analysis.pairing import PairedRuns, first_difference
from simcore.errors import UsageError
from simcore.logs.lookup import sent_paths
from simcore.logs.read import LogColumns, find_log, read_columns
from simcore.run import rundir
from simcore.run.loading import load_config

COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"


class StreamsDiffer(UsageError):
    """The two runs did not send the same actions: there is nothing to pair."""


def _kinds(run_dir: Path) -> tuple[list[str], list[str]]:
    """The run's kinds in code order and the route each was sent to (``METHOD path-template``),
    from its config.toml."""
    endpoints = endpoints_of(load_config(run_dir / rundir.CONFIG_FILE))
    return [e.name for e in endpoints], [f"{e.route_method} {e.route_path}" for e in endpoints]


def check_run_dir(run_dir: Path, what: str = "") -> Path:
    """The action log of ``run_dir``; a :class:`UsageError` if it is not a run directory with one."""
    where = f"{what} {run_dir}" if what else str(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{where}: no such run directory")
    if not (run_dir / rundir.CONFIG_FILE).is_file():
        raise UsageError(f"{where}: no {rundir.CONFIG_FILE}; is this a simcore run directory?")
    path = find_log(run_dir)
    if path is None:
        raise UsageError(
            f"{where}: no action log (actions.jsonl, .sqlite or .parquet); a run compares only "
            "with its log: run it again without --log none"
        )
    return path


def _log(run_dir: Path, kind_names: list[str]) -> tuple[Path, LogColumns]:
    path = check_run_dir(run_dir)
    return path, read_columns(path, outcomes=True, kind_names=kind_names)


def compare_runs(
    run_a: Path, run_b: Path, out: Path, options: CompareOptions | None = None
) -> dict[str, Any]:
    """Compare run B with run A (both run directories); write compare.json and compare.html
    into ``out``; return what compare.json holds. Raise :class:`StreamsDiffer` if the runs'
    action streams differ."""
    options = options or CompareOptions()
    check_run_dir(run_a)
    check_run_dir(run_b)
    (kinds_a, routes_a), (_, routes_b) = _kinds(run_a), _kinds(run_b)
    _, cols_a = _log(run_a, kinds_a)
    path_b, cols_b = _log(run_b, kinds_a)
    difference = first_difference(cols_a, cols_b, kinds_a)
    if difference is not None:
        raise StreamsDiffer(
            f"cannot compare {run_a} (A) with {run_b} (B): {difference}. Compare runs of the same "
            "config and seed (simcore run --seed N CONFIG, once per build)"
        )
    names, notes = endpoint_names(routes_a, routes_b, kinds_a)
    pairs = PairedRuns.of(cols_a, cols_b)
    result = compare(pairs, names, options, kinds_a)
    listed = [c for e in result["endpoints"] for c in (*e["status_changes"], *e["fixed"])]
    paths_b = sent_paths(path_b, [c["seq"] for c in listed])
    for change in listed:
        change["sent_path"] = paths_b.get(change["seq"])
    result = {"run_a": str(run_a), "run_b": str(run_b), "notes": notes, **result}
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / COMPARE_JSON, json.dumps(result, indent=2) + "\n")
    atomic.write_text(out / COMPARE_HTML, compare_page(result, pairs, names))
    return result
