"""The ``simcore`` command line: the group, its error handling, and its commands.

The ui package is the only one that imports click and rich; each command only
parses options and prints (runs are built by :mod:`simcore.run.builder`).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from simcore import __version__
from simcore.errors import SimcoreError
from simcore.ui.commands import backends_command, config, ctl, report_command, serve
from simcore.ui.compare_command import compare_command
from simcore.ui.plan_command import plan
from simcore.ui.run_command import run


def _fail(message: str, code: int = 2) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}", markup=True
    )
    sys.exit(code)


class _Group(click.Group):
    """Turns every :class:`SimcoreError` into a clear message and exit code 2, and a Ctrl-C
    that no run handles (another command's, or a second one after a stopped run has written
    and printed everything) into exit code 130, as a shell reports it, not click's "Aborted!"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            sys.exit(130)
        except SimcoreError as exc:
            _fail(str(exc), exc.exit_code)
        except OSError as exc:  # a file simcore reads or writes (a full disk, permissions)
            where = f" '{exc.filename}'" if exc.filename else ""
            _fail(
                f"cannot use{where}: {exc.strerror or exc}; check the path, its permissions and free space"
            )
        except MemoryError:
            _fail("out of memory; simulate fewer users (--users N) or a shorter --duration")
        except RecursionError:
            _fail("input nested too deeply to read (a config, snapshot or option); simplify it")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simcore")
def main() -> None:
    """simcore: simulate a social app's users and drive its API with what they do.

    \b
    Start with:  simcore run --seed 42 profiles/default.toml
    Check a config:  simcore config check profiles/default.toml
    Requests per second before sending any:  simcore plan profiles/default.toml --rate 500
    """


for _command in (run, plan, report_command, compare_command, ctl, serve, config, backends_command):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
