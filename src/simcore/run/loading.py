"""Reading configuration files (the I/O half of :mod:`simcore.scenario.schema`)."""

from __future__ import annotations

from pathlib import Path

from simcore.errors import ConfigError
from simcore.scenario.parse import loads_config
from simcore.scenario.schema import Config


def load_config(path: str | Path) -> Config:
    """Read, parse and check a TOML profile file."""
    p = Path(path)
    if not p.is_file():
        what = "is a directory" if p.is_dir() else "is not a file" if p.exists() else "does not exist"
        hint = "pass a TOML file, e.g. profiles/default.toml"
        raise ConfigError([("", f"config file '{p}' {what}; {hint}")], str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([("", f"cannot read '{p}': {exc}")], str(p)) from None
    return loads_config(text, str(p))
