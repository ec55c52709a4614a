"""The one exception tree of simcore.

Every error a user can cause derives from :class:`SimcoreError`; its message
says what was received, what was expected, and how to fix it. The CLI turns
these into a one-paragraph message and exit code 2, never a traceback.
"""

from __future__ import annotations


class SimcoreError(Exception):
    """Root of every error simcore raises on purpose."""

    exit_code = 2


class ConfigError(SimcoreError, ValueError):
    """A configuration file is missing, unreadable, or invalid.

    ``problems`` holds one ``(key_path, message)`` pair per problem found, so
    that a file with several mistakes reports all of them at once.
    """

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"invalid configuration{where}:"]
        for path, message in self.problems:
            lines.append(f"  {path}: {message}" if path else f"  {message}")
        super().__init__("\n".join(lines))


class BackendError(SimcoreError):
    """A backend cannot be found, built, opened or reached."""


class UsageError(SimcoreError, ValueError):
    """A command-line value is malformed (a duration, a path, a name)."""


class WorkerError(SimcoreError):
    """Distributed workers cannot be had: Ray is not installed, a cluster cannot be reached,
    or a worker does not start."""


class WorkerLost(WorkerError):
    """A worker died (or failed) during a run; ``worker`` is its shard number, ``reason`` the
    short reason a stopped run reports."""

    exit_code = 5

    def __init__(self, message: str, worker: int, reason: str) -> None:
        super().__init__(message)
        self.worker = worker
        self.reason = reason
