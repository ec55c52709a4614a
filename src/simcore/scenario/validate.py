"""Checks of a structured config's meaning, each reported with its TOML key path and a fix."""

from __future__ import annotations

import datetime as dt
import difflib

import numpy as np

from simcore.scenario.backendcheck import backend_problems, faults_problems, limits_problems
from simcore.scenario.checks import Problems, check_known
from simcore.scenario.checks import check_range as _range
from simcore.scenario.checks import did_you_mean as _did_you_mean
from simcore.scenario.durations import DURATION_HELP, parse_seconds
from simcore.scenario.kindcheck import kind_set_problems
from simcore.scenario.schedule import MINUTES_PER_DAY, block_minutes, coverage, parse_clock
from simcore.scenario.schema import CURVES, EVENT_KINDS, Block, Config, Profile, parse_log_choice
from simcore.scenario.thresholds import METRIC_NAMES, parse_condition

MAX_USERS = 2**31 - 2
MAX_TICKS = 2**31 - 2
#: The last simulated moment a run may reach (a week short of datetime's end, for calendars).
LAST_DATE = dt.datetime(9999, 12, 24)


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _schedule(out: Problems, path: str, blocks: tuple[Block, ...], states: list[str]) -> None:
    if not blocks:
        out.append((path, "the schedule is empty; give blocks covering 00:00 to 24:00"))
        return
    valid: list[Block] = []
    for i, block in enumerate(blocks):
        ok = True
        for key in ("start", "end"):
            try:
                parse_clock(getattr(block, key))
            except ValueError as exc:
                out.append((f"{path}[{i}].{key}", str(exc)))
                ok = False
        if block.state not in states:
            out.append(
                (
                    f"{path}[{i}].state",
                    f"unknown state '{block.state}'; "
                    f"{_did_you_mean(block.state, states)} (states are [routine.states.*])",
                )
            )
        if ok:
            valid.append(block)
    if len(valid) != len(blocks):
        return
    counts = coverage(valid)
    uncovered = np.flatnonzero(counts == 0)
    if len(uncovered):
        first = int(uncovered[0])
        run_end = first
        while run_end + 1 < MINUTES_PER_DAY and counts[run_end + 1] == 0:
            run_end += 1
        out.append(
            (
                path,
                f"no block covers {_clock_text(first)}–{_clock_text(run_end + 1)} "
                f"({len(uncovered)} minutes of the day uncovered); add a block for them",
            )
        )
    overlap = np.flatnonzero(counts > 1)
    if len(overlap):
        first = int(overlap[0])
        who = [i for i, b in enumerate(valid) if first in set(block_minutes(b).tolist())]
        out.append(
            (
                path,
                f"blocks {who} overlap at {_clock_text(first)} "
                f"({len(overlap)} minutes covered twice); make each minute belong to one block",
            )
        )


def _profile(out: Problems, path: str, profile: Profile, config: Config) -> None:
    _range(out, f"{path}.shift_minutes", profile.shift_minutes, -1440, 1440)
    _range(out, f"{path}.shift_spread_minutes", profile.shift_spread_minutes, 0, 720)
    _range(out, f"{path}.jitter_minutes", profile.jitter_minutes, 0, 240)
    _range(out, f"{path}.activity", profile.activity, 0, 3600)
    _range(out, f"{path}.activity_spread", profile.activity_spread, 0, 4)
    _range(out, f"{path}.session_actions", profile.session_actions, 1, 10_000)
    _range(out, f"{path}.think_seconds", profile.think_seconds, 0, 86_400, low_open=True)
    choice_kinds = kind_set_problems(config)[1].choice_names
    if profile.opens_with != "none" and profile.opens_with not in choice_kinds:
        out.append(
            (
                f"{path}.opens_with",
                f"got '{profile.opens_with}'; "
                f"{_did_you_mean(profile.opens_with, (*choice_kinds, 'none'))}",
            )
        )
    for before, row in profile.next.items():
        if check_known(out, f"{path}.next.{before}", "action", before, choice_kinds):
            for after, affinity in row.items():
                where = f"{path}.next.{before}.{after}"
                if check_known(out, where, "action", after, choice_kinds):
                    _range(out, where, affinity, 0, 1e6)
    states = config.routine.states
    for state, row in profile.weights.items():
        if check_known(out, f"{path}.weights.{state}", "state", state, list(states)):
            for kind, weight in row.items():
                where = f"{path}.weights.{state}.{kind}"
                if check_known(out, where, "action", kind, choice_kinds):
                    _range(out, where, weight, 0)
    active = [state for state, spec in states.items() if spec.activity > 0]
    if active and not any(state in profile.weights for state in active):
        out.append(
            (
                f"{path}.weights",
                f"no weights for any state it acts in ({', '.join(active)}); add "
                f"[{path}.weights.{active[-1]}] with action weights (a state without weights: "
                "the profile does not act in it)",
            )
        )
    for state, spec in states.items():
        if spec.activity <= 0 or state not in profile.weights:
            continue
        if (
            sum(
                w
                for k, w in profile.weights[state].items()
                if k in choice_kinds and k not in config.backend.lacks and w > 0
            )
            <= 0
        ):
            out.append(
                (
                    f"{path}.weights.{state}",
                    "the weights are all zero (or of kinds in backend.lacks); give at least "
                    "one action a positive weight, e.g. browse_feed = 1",
                )
            )


def problems_in(config: Config) -> Problems:
    """Every problem in ``config``'s values, as ``(toml key path, message with the fix)``."""
    out: Problems = []
    for check in (
        _clock,
        _population,
        _routine,
        _profiles,
        _targets,
        _community,
        _churn,
        _events,
        backend_problems,
        faults_problems,
        limits_problems,
        _output,
    ):
        check(out, config)
    return out


def _clock(out: Problems, config: Config) -> None:
    if not -(2**63) <= config.seed < 2**63:
        out.append(("seed", f"got {config.seed}, expected an integer from -2**63 to 2**63-1"))
    _range(out, "tick_seconds", config.tick_seconds, 1, 3600)
    if out:
        return
    try:
        seconds = parse_seconds(config.duration, config.tick_seconds)
    except ValueError:
        out.append(("duration", f"got {config.duration!r}, expected {DURATION_HELP}"))
        return
    if not seconds > 0:
        out.append(("duration", f"got {config.duration!r}, expected a positive duration"))
        return
    ticks = seconds / config.tick_seconds
    if not ticks <= MAX_TICKS:
        out.append(
            (
                "duration",
                f"got {config.duration!r}, {ticks:.3g} ticks of {config.tick_seconds}s; expected at "
                f"most {MAX_TICKS:,} ticks (the logs count ticks in 32 bits)",
            )
        )
        return
    room = (LAST_DATE - config.start).total_seconds()
    if seconds > room:
        out.append(
            (
                "start",
                f"got {config.start.isoformat()} with duration {config.duration!r}: the run would "
                f"end after {LAST_DATE:%Y-%m-%d}, the last date simcore can count to; start earlier "
                "or shorten the duration",
            )
        )


def _population(out: Problems, config: Config) -> None:
    pop = config.population
    _range(out, "population.initial_users", pop.initial_users, 0, MAX_USERS)
    _range(out, "population.max_users", pop.max_users, 1, MAX_USERS)
    if pop.max_users < pop.initial_users:
        out.append(
            (
                "population.max_users",
                f"got {pop.max_users}, expected at least population.initial_users ({pop.initial_users})",
            )
        )
    arr = pop.arrivals
    if arr.curve not in CURVES:
        out.append(
            ("population.arrivals.curve", f"got '{arr.curve}'; {_did_you_mean(arr.curve, CURVES)}")
        )
    _range(out, "population.arrivals.rate_per_hour", arr.rate_per_hour, 0, 1e9)
    _range(out, "population.arrivals.slope_per_day", arr.slope_per_day, -1e9, 1e9)
    _range(out, "population.arrivals.midpoint_days", arr.midpoint_days, -1e6, 1e6)
    _range(out, "population.arrivals.steepness_per_day", arr.steepness_per_day, 0, 1e3, low_open=True)
    if not pop.factions:
        out.append(("population.factions", "the list is empty; name at least one faction"))
    profiles = list(config.profiles)
    for name, share in pop.mix.items():
        check_known(out, f"population.mix.{name}", "profile", name, profiles)
        _range(out, f"population.mix.{name}", share, 0)
    if not pop.mix or sum(max(v, 0.0) for v in pop.mix.values()) <= 0:
        out.append(("population.mix", "the shares are all zero; give a profile a positive share"))


def _routine(out: Problems, config: Config) -> None:
    states = list(config.routine.states)
    if not states:
        out.append(("routine.states", "no states are defined; add e.g. [routine.states.relaxing]"))
    if len(states) > 255:
        out.append(("routine.states", f"got {len(states)} states, expected at most 255"))
    for name, spec in config.routine.states.items():
        _range(out, f"routine.states.{name}.activity", spec.activity, 0, 1000)
    _schedule(out, "routine.weekday", config.routine.weekday, states)
    _schedule(out, "routine.weekend", config.routine.weekend, states)


def _profiles(out: Problems, config: Config) -> None:
    profiles = list(config.profiles)
    if not profiles:
        out.append(("profiles", "no profiles are defined; add at least one [profiles.NAME] table"))
    if len(profiles) > 255:
        out.append(("profiles", f"got {len(profiles)} profiles, expected at most 255"))
    for name, profile in config.profiles.items():
        _profile(out, f"profiles.{name}", profile, config)


def _targets(out: Problems, config: Config) -> None:
    tg = config.targets
    _range(out, "targets.popular_share", tg.popular_share, 0, 1)
    _range(out, "targets.popular_memory", tg.popular_memory, 1, 10_000_000)
    _range(out, "targets.newest_own_post", tg.newest_own_post, 0, 1)
    try:
        if parse_seconds(tg.recent_half_life, max(config.tick_seconds, 1)) <= 0:
            raise ValueError
    except ValueError:
        out.append(
            (
                "targets.recent_half_life",
                f"got {tg.recent_half_life!r}, expected a positive {DURATION_HELP}",
            )
        )
    _range(out, "targets.trending_share", tg.trending_share, 0, 1)
    _range(out, "targets.following_share", tg.following_share, 0, 1)
    each = (tg.popular_share, tg.trending_share, tg.following_share)
    shares = sum(each)
    if all(0 <= v <= 1 for v in each) and shares > 1 + 1e-9:
        out.append(
            (
                "targets",
                f"popular_share + trending_share + following_share = {shares:g}, expected <= 1; "
                "lower one of them (the rest of the reads pick by age)",
            )
        )


def _output(out: Problems, config: Config) -> None:
    if not config.output.log:
        out.append(("output.log", "empty; give a file name such as 'actions.jsonl', or 'none'"))
    else:
        _log_choice(out, config.output.log)
    _thresholds(out, config.thresholds)


def _community(out: Problems, config: Config) -> None:
    tr = config.trends
    try:
        if parse_seconds(tr.half_life, max(config.tick_seconds, 1)) <= 0:
            raise ValueError
    except ValueError:
        out.append(("trends.half_life", f"got {tr.half_life!r}, expected a positive {DURATION_HELP}"))
    _range(out, "trends.pool", tr.pool, 1, 65_536)
    for name in ("view_weight", "like_weight", "repost_weight", "quote_weight", "reputation"):
        _range(out, f"trends.{name}", getattr(tr, name), 0, 1e6)
    fo = config.follows
    _range(out, "follows.reciprocity", fo.reciprocity, 0, 1)
    _range(out, "follows.popular", fo.popular, 0, 1)
    tags = config.tags
    if not tags.names:
        out.append(("tags.names", 'the list is empty; name at least one tag, e.g. ["general"]'))
    if len(tags.names) > 255:
        out.append(("tags.names", f"got {len(tags.names)} tags, expected at most 255"))
    if len(set(tags.names)) != len(tags.names):
        out.append(("tags.names", "a tag is listed twice; give each tag once"))
    _range(out, "tags.focus", tags.focus, 0, 1)
    _range(out, "tags.interest_reads", tags.interest_reads, 0, 1)
    _range(out, "tags.faction_bias", tags.faction_bias, 0, 1)


def _churn(out: Problems, config: Config) -> None:
    ch = config.churn
    _range(out, "churn.lifetime_days", ch.lifetime_days, 0, 1e6, low_open=True)
    _range(out, "churn.lifetime_tail", ch.lifetime_tail, 0, 100, low_open=True)
    _range(out, "churn.established_days", ch.established_days, 0, 1e6)
    _range(out, "churn.return_share", ch.return_share, 0, 1)
    _range(out, "churn.dormancy_spread", ch.dormancy_spread, 0, 5)
    try:
        if parse_seconds(ch.dormancy_median, max(config.tick_seconds, 1)) <= 0:
            raise ValueError
    except ValueError:
        out.append(
            ("churn.dormancy_median", f"got {ch.dormancy_median!r}, expected a positive {DURATION_HELP}")
        )


def _events(out: Problems, config: Config) -> None:
    for i, event in enumerate(config.events):
        path = f"events[{i}]"
        if event.kind not in EVENT_KINDS:
            out.append((f"{path}.kind", f"got '{event.kind}'; {_did_you_mean(event.kind, EVENT_KINDS)}"))
        for key, positive in (("at", False), ("duration", True)):
            text = getattr(event, key)
            try:
                seconds = parse_seconds(text, max(config.tick_seconds, 1))
                if seconds < 0 or (positive and seconds <= 0):
                    raise ValueError
            except ValueError:
                what = "a positive " if positive else ""
                out.append((f"{path}.{key}", f"got {text!r}, expected {what}{DURATION_HELP}"))
        _range(out, f"{path}.arrivals_per_hour", event.arrivals_per_hour, 0, 1e9)
        _range(out, f"{path}.post", event.post, -1, MAX_USERS)
        _range(out, f"{path}.share", event.share, 0, 1)
        _range(out, f"{path}.give_up_after", event.give_up_after, 1, 1000)


def _log_choice(out: Problems, choice: str) -> None:
    try:
        parse_log_choice([choice])
    except ValueError as exc:
        out.append(("output.log", str(exc)))


def _thresholds(out: Problems, thresholds: dict[str, str]) -> None:
    for metric, condition in thresholds.items():
        path = f'thresholds."{metric}"' if "." in metric else f"thresholds.{metric}"
        if metric not in METRIC_NAMES:
            near = difflib.get_close_matches(metric, METRIC_NAMES, n=1)
            hint = (
                f"did you mean '{near[0]}'?" if near else "see simcore.analysis.thresholds for the names"
            )
            out.append((path, f"unknown metric '{metric}'; {hint}"))
        try:
            parse_condition(condition)
        except ValueError as exc:
            out.append((path, str(exc)))
