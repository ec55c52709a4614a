"""Where the core benchmark's time goes: cProfile shares by phase, or line timings.

    python benchmarks/profile_core.py                 # 1M users, --plain day, phase shares
    python benchmarks/profile_core.py --users 100000
    python benchmarks/profile_core.py --lines         # per-line times of the hot functions
                                                      # (needs: pip install line_profiler)

The same run as ``bench_core.py --plain`` (mock backend, logging off). Times are
under the profiler, so larger than the benchmark's; compare shares, and compare
runs of two commits with the same command.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from common import Table, core_config

#: The tick's phases (Simulation.plan) and the hot functions inside them, by file and name.
PHASES = (
    ("wake: block edges", "simulation.py", "wake"),
    ("  cross block edges", "sessions.py", "cross_edges"),
    ("act: sessions, kinds", "simulation.py", "act"),
    ("  session turns", "sessions.py", "take_turns"),
    ("target", "simulation.py", "target"),
    ("arrive", "simulation.py", "arrive"),
    ("order", "simulation.py", "order"),
    ("apply effects", "simulation.py", "apply"),
    ("mock backend", "mock.py", "execute"),
    ("controller counting", "totals.py", "of"),
)


def _controller(users: int, plain: bool) -> tuple[object, int]:
    from simcore.core.simulation import Simulation
    from simcore.run.controller import Controller
    from simcore_backends.mock import MockBackend

    config = core_config(users, 1.0, plain=plain)
    return Controller(Simulation(config), MockBackend(), sinks=[]), config.duration_ticks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--full", action="store_true", help="community behaviours on (default: --plain)")
    parser.add_argument("--lines", action="store_true", help="line timings (line_profiler)")
    args = parser.parse_args()
    controller, ticks = _controller(args.users, not args.full)
    if args.lines:
        from line_profiler import LineProfiler

        from simcore.core import actions, choice, effects, sessions, simulation, targets
        from simcore_backends import mock

        lp = LineProfiler()
        for f in (
            simulation.Simulation.wake,
            simulation.Simulation.act,
            simulation.Simulation.target,
            simulation.Simulation.order,
            sessions.Sessions.cross_edges,
            sessions.Sessions.take_turns,
            choice.Targeting.choose,
            effects.apply_effects,
            actions.KindTables.sample,
            targets.read_targets,
            mock.MockBackend.execute,
        ):
            lp.add_function(f)
        lp.runcall(controller.run, ticks)  # type: ignore[attr-defined]
        lp.print_stats(output_unit=1e-3, stripzeros=True)
        return
    profile = cProfile.Profile()
    profile.runcall(controller.run, ticks)  # type: ignore[attr-defined]
    stats = pstats.Stats(profile)
    total = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
    table = Table(
        title=f"{args.users:,} users, one day, {'full' if args.full else 'plain'}: {total:.2f} s under cProfile",
        columns=["<phase", "s", "share"],
    )
    for label, file, name in PHASES:
        cum = sum(v[3] for (f, _, n), v in stats.stats.items() if f.endswith(file) and n == name)  # type: ignore[attr-defined]
        table.add(label, f"{cum:.2f}", f"{cum / total:.1%}")
    table.print()


if __name__ == "__main__":
    main()
