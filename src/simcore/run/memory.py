"""Whether the machine can hold a run's population, checked before any array is allocated."""

from __future__ import annotations

from simcore.errors import UsageError
from simcore.scenario.schema import Config

#: Memory a run holds per user (core, metrics, backend and per-tick temporaries), measured
#: as the peak resident size of 2,000,000 users (about 185 bytes each) with some margin.
BYTES_PER_USER = 200


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_users(config: Config) -> tuple[int, str]:
    """An upper bound of the users a run reaches, and the key that sets it."""
    pop = config.population
    hours = config.duration_ticks * config.tick_seconds / 3600
    rate = pop.arrivals.rate_per_hour + max(pop.arrivals.slope_per_day, 0.0) * hours / 24
    arriving = rate * hours * 1.1 + 100  # Poisson: well above the mean
    if pop.initial_users + arriving < pop.max_users:
        key = (
            "population.arrivals.rate_per_hour"
            if arriving > pop.initial_users
            else "population.initial_users"
        )
        return int(pop.initial_users + arriving), key
    key = "population.initial_users" if pop.initial_users >= pop.max_users else "population.max_users"
    return pop.max_users, key


def memory_message(config: Config, why: str) -> str:
    users, key = peak_users(config)
    return (
        f"{key}: up to {users:,} users, who need about {users * BYTES_PER_USER / 2**30:.1f} GiB; "
        f"{why}. Simulate fewer users (--users N, population.max_users) or a shorter --duration"
    )


def check_memory(config: Config) -> None:
    """Refuse a population the machine's free memory cannot hold, before allocating it
    (an allocation the kernel overcommits would otherwise end in the OOM killer)."""
    available = _available_memory()
    need = peak_users(config)[0] * BYTES_PER_USER
    if available is not None and need > available:
        raise UsageError(memory_message(config, f"this machine has {available / 2**30:.1f} GiB free"))
