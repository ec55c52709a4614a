"""Config mistakes, each with the TOML key path and the message fragment its error must carry.

tests/unit/scenario/test_config.py loads each through loads_config; tests/unit/ui/test_cli.py
feeds each to `simcore config check` and `simcore run`.
"""

from __future__ import annotations

from simcore.scenario.kinds import CHOICE_KINDS

#: (TOML text, key path the error names, fragment of the message saying what to do).
BAD_CONFIGS: list[tuple[str, str, str]] = [
    ("sed = 1", "sed", "did you mean 'seed'"),
    ("[population]\ninital_users = 3", "population.inital_users", "did you mean 'initial_users'"),
    ('seed = "x"', "seed", "expected an integer"),
    ("tick_seconds = 1.5", "tick_seconds", "expected an integer"),
    ("[population]\ninitial_users = -3", "population.initial_users", ">= 0"),
    ("[targets]\npopular_share = 1.5", "targets.popular_share", "<= 1"),
    ('duration = "soon"', "duration", "expected a duration"),
    ('[population.arrivals]\ncurve = "logistc"', "population.arrivals.curve", "did you mean 'logistic'"),
    ("[population.mix]\nlurkr = 1.0", "population.mix.lurkr", "did you mean 'lurker'"),
    (
        '[routine]\nweekday = [{ start = "00:00", end = "23:00", state = "sleeping" }]',
        "routine.weekday",
        "no block covers 23:00–24:00",
    ),
    (
        '[routine]\nweekday = [{ start = "00:00", end = "13:00", state = "sleeping" },'
        ' { start = "12:00", end = "00:00", state = "relaxing" }]',
        "routine.weekday",
        "overlap at 12:00",
    ),
    (
        '[routine]\nweekday = [{ start = "00:00", end = "00:00", state = "sleepin" }]',
        "routine.weekday[0].state",
        "did you mean 'sleeping'",
    ),
    (
        '[routine]\nweekday = [{ start = "25:00", end = "00:00", state = "sleeping" }]',
        "routine.weekday[0].start",
        "between '00:00' and '24:00'",
    ),
    (
        "[profiles.lurker.weights.relaxing]\n" + "".join(f"{k} = 0.0\n" for k in CHOICE_KINDS),
        "profiles.lurker.weights.relaxing",
        "all zero",
    ),
    (
        "[profiles.lurker.weights.relaxing]\nbrowse_fed = 1.0",
        "profiles.lurker.weights.relaxing.browse_fed",
        "did you mean 'browse_feed'",
    ),
    ('[profiles.lurker]\nopens_with = "feed"', "profiles.lurker.opens_with", "expected one of"),
    ("population = 3", "population", "expected a table"),
    ("[population]\nfactions = []", "population.factions", "empty"),
]
