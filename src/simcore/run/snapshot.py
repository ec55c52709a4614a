"""Snapshots: a run's whole state in one file, written atomically, loaded without pickle.

A snapshot is a zip file (readable as a numpy ``.npz``) holding one ``.npy``
member per array and a ``manifest.json``: the format and its version, the
simcore version, the fully resolved config (TOML) and its SHA-256, the clock,
the controller's running totals, the action log's position, and the name,
dtype and shape of every array. Arrays are read with ``allow_pickle=False``.

What is saved:

- the core: ``Simulation.state_arrays()`` (clock, ``users.*``, ``posts.*`` with
  the recent-reads ring). The core's randomness is keyed by coordinates, so
  there is no RNG state; derived indexes are rebuilt on load.
- the backend, if it keeps state that decides its answers: a backend that is
  :class:`~simcore.seam.contract.Stateful` (``state_arrays() -> dict[str, ndarray]``
  and ``load_state(arrays)``; the mock is: who signed up, each post's author, what
  was deleted), under ``backend.*``.
  The http and testclient backends save their id map (users' tokens and server
  ids, posts' server ids, content versions), so a resumed run continues against
  the same server; the routes' ``{run}`` namespace is in the saved config.
- every :class:`~simcore.seam.contract.StatefulSink` (the metrics, for instance):
  the same two methods and a ``state_key``; its arrays go under ``sink.<state_key>.*``.

A snapshot is written to a temporary file in the same folder, fsynced and
renamed over its name, so a crash while writing leaves the previous file whole.
Loading a corrupt, truncated or foreign file raises :class:`SnapshotError`.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import define
from numpy.typing import NDArray

from simcore import atomic
from simcore.errors import ConfigError, SimcoreError
from simcore.run.manifest import manifest_problem
from simcore.scenario.parse import dump_config, loads_config, to_dict
from simcore.scenario.schema import Config
from simcore.seam.contract import Stateful, StatefulSink

if TYPE_CHECKING:
    from simcore.run.controller import Controller
    from simcore.run.totals import Totals

FORMAT = "simcore-snapshot"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SNAPSHOT_DIR = "snapshots"
_NAME = re.compile(r"^tick-(\d+)\.npz$")
#: Config keys that may differ on resume without --force: they change no decision.
FREE_KEYS = ("duration", "output.directory", "output.log", "backend.namespace")


class SnapshotError(SimcoreError):
    """A snapshot cannot be written, read, or resumed from."""


@define
class Snapshot:
    """A loaded snapshot: its manifest and its arrays."""

    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, NDArray[Any]]

    @property
    def tick(self) -> int:
        """Ticks completed when it was taken."""
        return int(self.manifest["tick"])

    @property
    def seq(self) -> int:
        """Actions completed when it was taken."""
        return int(self.manifest["seq"])

    @property
    def config(self) -> Config:
        """The run's config, as saved."""
        try:
            return loads_config(self.manifest["config"], f"{self.path} (its saved config)")
        except ConfigError as exc:
            raise SnapshotError(
                f"{self.path}: its saved config no longer loads with this simcore ({exc}); "
                "resume it with the simcore version that wrote it"
            ) from None

    def group(self, prefix: str) -> dict[str, NDArray[Any]]:
        """The arrays under ``prefix.``, with the prefix removed."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.arrays.items() if k.startswith(prefix + ".")}


def config_hash(config: Config) -> str:
    """SHA-256 of the fully resolved config's TOML."""
    return hashlib.sha256(dump_config(config).encode()).hexdigest()


def snapshot_name(tick: int) -> str:
    """The file name of the snapshot taken after ``tick`` ticks."""
    return f"tick-{tick:08d}.npz"


# --- capture and restore ---------------------------------------------------------------


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "by_kind": totals.by_kind.tolist(),
        "statuses": {str(k): v for k, v in totals.statuses.items()},
        "errors": dict(totals.errors),
        "actions": totals.actions,
    }


def _load_totals(totals: Totals, data: dict[str, Any]) -> None:
    by_kind = np.asarray(data["by_kind"], dtype=np.int64)
    if by_kind.shape != totals.by_kind.shape:
        raise ValueError(f"totals.by_kind has {len(by_kind)} counts, expected {len(totals.by_kind)}")
    totals.by_kind = by_kind
    totals.statuses = {int(k): int(v) for k, v in data["statuses"].items()}
    totals.errors = {str(k): int(v) for k, v in data["errors"].items()}
    totals.actions = int(data["actions"])


def capture(controller: Controller, **extra: Any) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """The manifest and arrays of ``controller``'s state (between ticks)."""
    from simcore import __version__

    sim = controller.sim
    arrays: dict[str, NDArray[Any]] = dict(sim.state_arrays())
    backend = controller.backend
    if isinstance(backend, Stateful):
        arrays.update({f"backend.{k}": v for k, v in backend.state_arrays().items()})
    for sink in controller.sinks:
        if isinstance(sink, StatefulSink):
            key = sink.state_key
            arrays.update({f"sink.{key}.{k}": v for k, v in sink.state_arrays().items()})
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "simcore_version": __version__,
        "config_sha256": config_hash(sim.config),
        "config": dump_config(sim.config),
        "seed": sim.seed,
        "tick": sim.tick,
        "seq": sim.seq,
        "backend": backend.name,
        "totals": _totals_json(controller.totals),
        "hour_totals": _totals_json(controller._hour),
        "wall_seconds": controller.wall_seconds,
        **extra,
    }
    manifest["arrays"] = {
        name: {"dtype": np.asarray(a).dtype.str, "shape": list(np.shape(a))}
        for name, a in arrays.items()
    }
    return manifest, arrays


def restore(snapshot: Snapshot, controller: Controller) -> None:
    """Put a fresh controller (built from the snapshot's config) in the snapshot's state."""
    sim = controller.sim
    clock = snapshot.arrays["clock"]
    tick, seed = int(clock[0]), int(clock[2])
    if seed != sim.seed:
        raise SnapshotError(f"{snapshot.path} was taken with seed {seed}, this run has {sim.seed}")
    if sim.tick != 0:
        raise SnapshotError("restore() needs a fresh simulation (tick 0)")
    try:
        _restore(snapshot, controller)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise _bad(
            snapshot.path, f"its state does not fit this run ({type(exc).__name__}: {exc})"
        ) from None
    controller.ticks_done = tick


def _restore(snapshot: Snapshot, controller: Controller) -> None:
    controller.sim.load_state(snapshot.arrays)
    backend_state = snapshot.group("backend")
    backend = controller.backend
    if isinstance(backend, Stateful) and backend_state:
        backend.load_state(backend_state)  # without saved state (another backend's run) it starts empty
    for sink in controller.sinks:
        if isinstance(sink, StatefulSink):
            state = snapshot.group(f"sink.{sink.state_key}")
            if state:
                sink.load_state(state)
    _load_totals(controller.totals, snapshot.manifest["totals"])
    _load_totals(controller._hour, snapshot.manifest["hour_totals"])
    controller.wall_seconds = float(snapshot.manifest.get("wall_seconds", 0.0))


# --- files -------------------------------------------------------------------------------


def write(path: Path, manifest: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Path:
    """Write a snapshot file atomically (temp file, fsync, rename); return ``path``."""
    path = Path(path)
    try:
        return _write(path, manifest, arrays)
    except OSError as exc:
        raise SnapshotError(
            f"cannot write snapshot {path}: {exc}; free some space or give the run another --out"
        ) from None


def _write(path: Path, manifest: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Path:
    with (
        atomic.replacing(path) as raw,
        zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, default=str))
    return path


def save(path: Path, controller: Controller, **extra: Any) -> Path:
    """Capture ``controller`` and write it to ``path`` atomically."""
    manifest, arrays = capture(controller, **extra)
    return write(path, manifest, arrays)


def _bad(path: Path, what: str) -> SnapshotError:
    return SnapshotError(
        f"{path} is not a usable simcore snapshot: {what}; "
        f"pass a file from RUN_DIR/{SNAPSHOT_DIR}/ (or the run directory, for its latest snapshot)"
    )


def load(path: Path) -> Snapshot:
    """Read and check a snapshot file (or the latest snapshot of a run directory)."""
    path = Path(path)
    if path.is_dir():
        found = latest(path)
        if found is None:
            raise SnapshotError(
                f"{path} holds no snapshot (looked for {SNAPSHOT_DIR}/tick-*.npz); "
                "pass a snapshot file or a run directory that has one"
            )
        path = found
    if not path.is_file():
        raise SnapshotError(f"snapshot {path} does not exist; pass a file from RUN_DIR/{SNAPSHOT_DIR}/")
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                manifest = json.loads(zf.read(MANIFEST))
            except KeyError:
                raise _bad(path, f"it has no {MANIFEST} (a foreign .npz or zip file)") from None
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise _bad(path, f"its manifest is not a {FORMAT} manifest")
            version = manifest.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise _bad(
                    path,
                    f"format version {version!r}, this simcore reads up to {FORMAT_VERSION}; "
                    "upgrade simcore",
                )
            arrays: dict[str, NDArray[Any]] = {}
            for name, meta in manifest["arrays"].items():
                with zf.open(f"{name}.npy") as member:
                    array = np.lib.format.read_array(member, allow_pickle=False)
                if array.dtype.str != meta["dtype"] or list(array.shape) != meta["shape"]:
                    raise _bad(
                        path,
                        f"array {name} is {array.dtype.str}{list(array.shape)}, "
                        f"the manifest says {meta['dtype']}{meta['shape']}",
                    )
                arrays[name] = array
    except SnapshotError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _bad(path, f"it is corrupt or truncated ({exc})") from None
    except KeyError as exc:
        raise _bad(path, f"it lacks {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise _bad(path, f"it holds unreadable data ({exc})") from None
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc}") from None
    problem = manifest_problem(manifest, arrays)
    if problem:
        raise _bad(path, problem)
    return Snapshot(path=path, manifest=manifest, arrays=arrays)


def all_snapshots(run_dir: Path) -> list[Path]:
    """The snapshot files of a run directory, oldest first."""
    folder = Path(run_dir) / SNAPSHOT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest(run_dir: Path) -> Path | None:
    """The newest snapshot of a run directory, if any."""
    found = all_snapshots(run_dir)
    return found[-1] if found else None


def prune(run_dir: Path, keep: int) -> None:
    """Keep the ``keep`` newest snapshots and remove stale temporary files."""
    folder = Path(run_dir) / SNAPSHOT_DIR
    for stale in folder.glob(".tick-*.tmp"):
        stale.unlink(missing_ok=True)
    for old in all_snapshots(run_dir)[: -max(keep, 1)]:
        old.unlink(missing_ok=True)


# --- resuming ----------------------------------------------------------------------------


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, (list, tuple)):
        return {prefix: [_flatten(v) if isinstance(v, dict) else v for v in data]}
    return {prefix: data}


def config_changes(old: Config, new: Config) -> list[str]:
    """Each key whose value differs, as ``key: old → new`` (``FREE_KEYS`` excluded)."""
    a, b = _flatten(to_dict(old)), _flatten(to_dict(new))
    changes = []
    for key in sorted(set(a) | set(b)):
        if key in FREE_KEYS or a.get(key) == b.get(key):
            continue
        before = "(absent)" if key not in a else repr(a[key])
        after = "(absent)" if key not in b else repr(b[key])
        changes.append(f"{key}: {before} → {after}")
    return changes


def check_resume(snapshot: Snapshot, config: Config, backend_name: str, force: bool) -> list[str]:
    """What differs between the snapshot's run and this one; raises unless ``force``."""
    from simcore import __version__

    changes = config_changes(snapshot.config, config)
    saved_version = snapshot.manifest.get("simcore_version")
    if saved_version != __version__:
        changes.append(f"simcore version: {saved_version} → {__version__}")
    saved_backend = snapshot.manifest.get("backend")
    if saved_backend != backend_name:
        changes.append(f"backend: {saved_backend} → {backend_name}")
    if changes and not force:
        listing = "\n".join(f"  {c}" for c in changes)
        raise SnapshotError(
            f"{snapshot.path} was taken with a different setup; resuming would not continue the same "
            f"run:\n{listing}\nresume without those changes, or pass --force to continue anyway"
        )
    return changes


def truncate_log(log: Path, size: int) -> int:
    """Cut the action log back to ``size`` bytes (what the snapshot had); return bytes removed."""
    if not log.exists():
        if size == 0:
            return 0
        raise SnapshotError(
            f"the action log {log} is missing; the snapshot continues it at byte {size}. "
            "Restore the log, or pass --log none (or another path) to log the rest elsewhere"
        )
    have = log.stat().st_size
    if have < size:
        raise SnapshotError(
            f"the action log {log} has {have} bytes, the snapshot continues it at byte {size}: "
            "it was replaced or cut. Restore it, or pass --log none (or another path)"
        )
    if size > 0:  # a whole tick ends with a whole line: anything else is not this log's position
        with open(log, "rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                raise SnapshotError(
                    f"the snapshot continues the action log {log} at byte {size}, which is not the end "
                    "of a line: the snapshot's manifest was edited or the log changed. Resume from "
                    "another snapshot, or pass --log none (or another path)"
                )
    if have > size:
        with open(log, "r+b") as f:
            f.truncate(size)
    return have - size
