"""Fuzzing the command line as a hostile user would (issue 13): config documents with one key
set to a hostile value, and hostile option values. Every outcome is a run, or exit 2 with one
message naming the offending key or option — never a traceback."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcore.scenario.parse import converter
from simcore.scenario.schema import Config
from simcore.ui.cli import main
from tests.support.hostile import assert_clean_failure, simcore
from tests.support.paths import DEFAULT_PROFILE


def _leaves(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.extend(_leaves(value, (*prefix, key)))
        else:
            out.append((*prefix, key))
    return out


#: Every key path of the default scenario (lists count as one leaf).
KEYS = sorted(_leaves(converter.unstructure(Config())))

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HOSTILE = st.one_of(
    st.integers(min_value=2**62, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-1),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e-308, 0.0]),
    _text,
    st.sampled_from(["", "9" * 400 + "d", "1e400 ticks", "-1h", "0s", "\u202e", "a" * 10_000]),
    st.booleans(),
    st.lists(st.integers(-5, 5) | _text, max_size=4),
    st.dictionaries(_text.filter(bool), st.integers(-3, 3), max_size=3),
    st.sampled_from(
        [
            dt.datetime(1, 1, 1),
            dt.datetime(9999, 12, 31, 23, 0),
            dt.datetime(1969, 12, 31, 23, 59),
            dt.date(9999, 12, 31),
        ]
    ),
)


def _document(path: tuple[str, ...], value: Any) -> str:
    data: dict[str, Any] = {}
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return tomli_w.dumps(data)


def _names(output: str, path: tuple[str, ...]) -> bool:
    """The message names the key: its dotted path, its own name, or the table holding it (a
    value that makes its table wrong as a whole, as a lone route does to backend.routes)."""
    flat = " ".join(output.split())
    prefixes = (".".join(path[:n]) for n in range(min(2, len(path)), len(path) + 1))
    return path[-1] in flat or any(p in flat for p in prefixes)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(KEYS), value=HOSTILE)
def test_config_check_of_a_hostile_document_is_ok_or_names_the_key(
    path: tuple[str, ...], value: Any
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.toml"
        cfg.write_text(_document(path, value), encoding="utf-8")
        result = CliRunner().invoke(main, ["config", "check", str(cfg)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert "error:" in result.output and "Traceback" not in result.output
        assert _names(result.output, path), (path, value, result.output)


@pytest.mark.parametrize(
    "document",
    [
        "a = " + "[" * 5000 + "]" * 5000,
        "x" + ".x" * 3000 + " = 1",
        "[population]\nmix = " + "{ a = " * 300 + "1" + " }" * 300,
        "start = 9999-12-31T23:00:00",
        'duration = "' + "9" * 400 + ' ticks"',
        "seed = 170141183460469231731687303715884105727",
    ],
)
def test_config_check_of_pathological_documents(tmp_path: Path, document: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(document, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", str(cfg)])
    assert result.exit_code == 2 and "error:" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.slow
@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(KEYS), value=HOSTILE)
def test_run_of_a_hostile_document_runs_or_fails_cleanly(path: tuple[str, ...], value: Any) -> None:
    """The whole run (3 simulated minutes) in a child process with capped memory."""
    if path[0] in ("output", "backend"):  # where it writes, what it drives: fuzzed as options below
        return
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.toml"
        cfg.write_text(_document(path, value), encoding="utf-8")
        done = simcore(
            "run", str(cfg), "--duration", "3m", "-q", "--no-control", "--out", "r", cwd=Path(tmp)
        )
        out = assert_clean_failure(done)
    if done.returncode == 2 and "invalid configuration" in out:
        assert _names(out, path), (path, value, out)


#: Each option, the words a message about it must contain (one of), and hostile values.
OPTIONS: dict[str, tuple[tuple[str, ...], st.SearchStrategy[str]]] = {
    "--seed": (("seed",), st.integers(-(2**80), 2**80).map(str)),
    "--duration": (
        ("duration",),
        st.sampled_from(["9" * 400, "99999999999999d", "-1h", "0", "1e3h", "ticks"]),
    ),
    "--users": (("users",), st.integers(-(2**40), 2**40).map(str)),
    "--out": (("--out",), st.sampled_from(["afile", "afile/sub", "/proc/nope/x", "adir", "."])),
    "--log": (
        ("log",),
        st.sampled_from(["afile", "adir.jsonl", "afile/x.jsonl", "x.csv", "none,jsonl", "a.json"]),
    ),
    "--target": (
        ("target",),
        st.sampled_from(
            ["http://a..b:1", "http://" + "a" * 70 + ".x", "ftp://x", "http://:0", "http://[::1"]
        ),
    ),
    "--speed": (("speed",), st.sampled_from(["0", "-3", "nan", "inf", "1e400", "fast"])),
    "--snapshot-every": (("snapshot-every",), st.sampled_from(["9" * 400, "-1h", "x"])),
    "--resume": (("snapshot", "resume"), st.sampled_from(["afile", "adir", "nope.npz"])),
}


@pytest.mark.slow
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(sorted(OPTIONS)), data=st.data())
def test_a_hostile_option_runs_or_names_the_option(option: str, data: st.DataObject) -> None:
    words, values = OPTIONS[option]
    value = data.draw(values)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "afile").write_text("precious\n")
        (Path(tmp) / "adir").mkdir()
        (Path(tmp) / "adir" / "keep").write_text("keep\n")
        (Path(tmp) / "adir.jsonl").mkdir()
        args = ["run", str(DEFAULT_PROFILE), "--duration", "3m", "--users", "50", "-q", "--no-control"]
        if option != "--out":
            args += ["--out", "r"]
        args += ["--backend", "http"] if option == "--target" else []
        done = simcore(*args, option, value, cwd=Path(tmp))
        out = assert_clean_failure(done)
        assert (Path(tmp) / "afile").read_text() == "precious\n"
        assert sorted(os.listdir(Path(tmp) / "adir")) == ["keep"]
    if done.returncode == 2:
        assert any(w in out for w in words), (option, value, out)
