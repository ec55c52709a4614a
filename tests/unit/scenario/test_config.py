"""Config loading: defaults, the TOML round trip, and a clear error for every kind of mistake."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simcore.errors import ConfigError
from simcore.scenario.parse import dump_config, loads_config
from simcore.scenario.schema import Arrivals, Config, Population, Profile, Targets
from tests.support.bad_configs import BAD_CONFIGS
from tests.support.paths import DEFAULT_PROFILE
from tests.support.strategies import routines

names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
finite = st.floats(0, 50, allow_nan=False, allow_infinity=False)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """Valid configs of every shape: custom states, schedules, profiles, mixes and curves."""
    routine = draw(routines())
    active = [s for s, spec in routine.states.items() if spec.activity > 0]
    profile_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    profiles = {}
    for name in profile_names:
        weights = {
            s: {
                "browse_feed": draw(st.floats(0.1, 5)),
                "read_post": draw(finite),
                "create_post": draw(finite),
            }
            for s in active
        }
        profiles[name] = Profile(
            shift_minutes=draw(st.floats(-600, 600)),
            jitter_minutes=draw(st.floats(0, 60)),
            activity=draw(st.floats(0, 10)),
            activity_spread=draw(st.floats(0, 3)),
            session_actions=draw(st.floats(1, 20)),
            think_seconds=draw(st.floats(1, 600)),
            opens_with=draw(st.sampled_from(["browse_feed", "read_post", "none"])),
            weights=weights,
        )
    mix = {name: draw(st.floats(0.01, 1)) for name in profile_names}
    arrivals = Arrivals(
        curve=draw(st.sampled_from(["constant", "linear", "logistic"])),
        rate_per_hour=draw(finite),
        slope_per_day=draw(st.floats(-5, 5)),
    )
    return Config(
        seed=draw(st.integers(0, 2**63 - 1)),
        tick_seconds=draw(st.sampled_from([1, 30, 60, 300, 3600])),
        start=draw(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1))).replace(
            microsecond=0
        ),
        duration=draw(st.sampled_from(["6h", "2d", "90m", "100 ticks", "1w"])),
        population=Population(
            initial_users=draw(st.integers(0, 10_000)), max_users=20_000, arrivals=arrivals, mix=mix
        ),
        routine=routine,
        profiles=profiles,
        targets=Targets(popular_share=draw(st.floats(0, 0.55)), recent_half_life="3h"),
    )


@given(configs())
def test_show_round_trips(config: Config) -> None:
    """dump_config writes TOML that loads back to an equal config."""
    assert loads_config(dump_config(config)) == config


def test_a_mix_lists_the_profiles_the_population_is_made_of() -> None:
    """[population.mix] replaces the default mix (profiles it leaves out have no share), so a
    config with a mix of some profiles dumps and loads back equal (snapshots rely on it)."""
    config = loads_config("[population.mix]\nchatterbox = 1\n")
    assert config.population.mix == {"chatterbox": 1.0}
    assert loads_config(dump_config(config)) == config


def test_empty_file_is_the_default_config() -> None:
    """Every key has a default: an empty file is a valid config."""
    assert loads_config("") == Config()


def test_default_profile_is_valid_and_explicit() -> None:
    """profiles/default.toml loads, and spells out every knob (showing it changes no value)."""
    text = DEFAULT_PROFILE.read_text()
    config = loads_config(text)
    assert loads_config(dump_config(config)) == config
    for key in (
        "tick_seconds",
        "initial_users",
        "max_users",
        "curve",
        "rate_per_hour",
        "weekday",
        "weekend",
        "shift_minutes",
        "jitter_minutes",
        "activity_spread",
        "session_actions",
        "think_seconds",
        "opens_with",
        "popular_share",
        "recent_half_life",
        "newest_own_post",
    ):
        assert f"\n{key} =" in text or f"{key} = " in text, key


@pytest.mark.parametrize(("text", "path", "message"), BAD_CONFIGS)
def test_bad_config_names_the_key_path(text: str, path: str, message: str) -> None:
    """Each mistake is reported with its TOML key path and what to do."""
    with pytest.raises(ConfigError) as info:
        loads_config(text, "bad.toml")
    report = str(info.value)
    assert f"  {path}: " in report, report
    assert message in report, report
    assert report.startswith("invalid configuration in bad.toml")


def test_several_problems_are_reported_together() -> None:
    """A file with three mistakes lists all three."""
    with pytest.raises(ConfigError) as info:
        loads_config("sed = 1\n[population]\ninitial_users = -1\n[targets]\npopular_share = 2.0")
    assert len(info.value.problems) == 3


def test_syntax_error_is_a_config_error() -> None:
    """A TOML syntax error says so, with the position."""
    with pytest.raises(ConfigError, match="TOML syntax error"):
        loads_config("seed = [")


def test_an_empty_file_is_the_default_scenario() -> None:
    """One source of defaults: an empty document is exactly profiles/default.toml's scenario."""
    assert loads_config("") == loads_config(DEFAULT_PROFILE.read_text())


def test_a_profile_table_merges_key_by_key() -> None:
    """Changing one key of one profile keeps the other keys, profiles and weights."""
    base = loads_config("")
    changed = loads_config(
        "[profiles.lurker]\nactivity = 0.9\n[profiles.lurker.weights.working]\nrepost = 0.5\n"
    )
    assert changed.profiles["lurker"].activity == 0.9
    assert changed.profiles["lurker"].weights["working"] == {
        **base.profiles["lurker"].weights["working"],
        "repost": 0.5,
    }
    assert changed.profiles["lurker"].weights["relaxing"] == base.profiles["lurker"].weights["relaxing"]
    assert {k: v for k, v in changed.profiles.items() if k != "lurker"} == {
        k: v for k, v in base.profiles.items() if k != "lurker"
    }


def test_removing_a_profile_is_explicit_and_round_trips() -> None:
    """`removed = true` drops a default profile and its mix share; dump_config keeps it dropped."""
    config = loads_config("[profiles.night_owl]\nremoved = true\n")
    assert list(config.profiles) == ["lurker", "chatterbox", "content_curator"]
    assert "night_owl" not in config.population.mix
    assert loads_config(dump_config(config)) == config


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            '[profiles.night_owl]\nremoved = "yes"\n',
            "profiles.night_owl.removed: expected true or false",
        ),
        ("population = 3\n[profiles.night_owl]\nremoved = true\n", "population: expected a table"),
    ],
)
def test_a_bad_removal_is_a_config_error(text: str, where: str) -> None:
    """A removal that is not a boolean, or beside a population that is not a table, is reported
    with its key path, not a traceback."""
    with pytest.raises(ConfigError) as caught:
        loads_config(text)
    assert where in str(caught.value)
