"""Randomness as a pure function of coordinates.

Every random number simcore uses is ``U(seed, stream, tick, key[, k])``: a
counter-based SplitMix64 hash of its coordinates, never the next draw of a
stateful generator. Consequences (docs/architecture.md, "Randomness keyed by
coordinates"): snapshots carry no RNG state, any sharding of users draws the
same numbers, and adding a user, a profile or a decision stream shifts nobody
else's draws.

All functions are vectorised over ``key`` (a uint64-convertible array, usually
user ids or post ids); ``seed``, ``stream`` and ``tick`` are scalars.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
from numpy.typing import ArrayLike, NDArray

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_53 = float(2**53)
_MASK64 = (1 << 64) - 1


def stream_id(name: str) -> int:
    """A fixed 64-bit id for a decision stream, from its name (stable across versions)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def mix64(z: int) -> int:
    """SplitMix64's finaliser on a Python int: the scalar twin of :func:`hash64`'s mixing."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@functools.lru_cache(maxsize=1024)
def _stream_key(seed: int, stream: int) -> int:
    return mix64(mix64(seed & _MASK64) ^ (stream & _MASK64))


def base_key(seed: int, stream: int, tick: int, k: int = 0) -> int:
    """Fold the scalar coordinates into one 64-bit key."""
    z = mix64(_stream_key(seed, stream) ^ (tick & _MASK64))
    return mix64(z ^ (k & _MASK64))


def hash64(seed: int, stream: int, tick: int, key: ArrayLike, k: int = 0) -> NDArray[np.uint64]:
    """64 random bits per element of ``key`` at coordinates (seed, stream, tick, key, k)."""
    z = np.asarray(key).astype(np.uint64, copy=True)
    if z.size == 0:
        return z
    z *= _GOLDEN
    z ^= np.uint64(base_key(seed, stream, tick, k))
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def uniform(seed: int, stream: int, tick: int, key: ArrayLike, k: int = 0) -> NDArray[np.float64]:
    """Uniform floats in [0, 1), 53 bits each."""
    out: NDArray[np.float64] = (hash64(seed, stream, tick, key, k) >> _S11).astype(np.float64) / _TWO_53
    return out


def uniform_open(seed: int, stream: int, tick: int, key: ArrayLike, k: int = 0) -> NDArray[np.float64]:
    """Uniform floats in (0, 1): never exactly 0, safe under ``log``."""
    bits = (hash64(seed, stream, tick, key, k) >> _S11).astype(np.float64)
    out: NDArray[np.float64] = (bits + 0.5) / _TWO_53
    return out


def exponential(seed: int, stream: int, tick: int, key: ArrayLike, k: int = 0) -> NDArray[np.float64]:
    """Standard exponential variates (mean 1)."""
    return -np.log(uniform_open(seed, stream, tick, key, k))


def normal(seed: int, stream: int, tick: int, key: ArrayLike, k: int = 0) -> NDArray[np.float64]:
    """Standard normal variates (Box-Muller over two keyed uniforms)."""
    u1 = uniform_open(seed, stream, tick, key, 2 * k)
    u2 = uniform(seed, stream, tick, key, 2 * k + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def integers(
    seed: int, stream: int, tick: int, key: ArrayLike, high: ArrayLike, k: int = 0
) -> NDArray[np.int64]:
    """Integers uniform in [0, high) (``high`` scalar or per element, > 0)."""
    u = uniform(seed, stream, tick, key, k)
    out: NDArray[np.int64] = np.minimum((u * np.asarray(high)).astype(np.int64), np.asarray(high) - 1)
    return out


def choice(
    seed: int, stream: int, tick: int, key: ArrayLike, cumulative: NDArray[np.float64], k: int = 0
) -> NDArray[np.intp]:
    """Categorical draws: index ``i`` with probability ``p_i``, given ``cumsum(p)`` (last = 1)."""
    return categorical(uniform(seed, stream, tick, key, k), cumulative)


def categorical(u: NDArray[np.float64], cumulative: NDArray[np.float64]) -> NDArray[np.intp]:
    """The index each uniform ``u`` falls on, given cumulative weights (need not end at 1)."""
    idx = np.searchsorted(cumulative, u * cumulative[-1], side="right")
    out: NDArray[np.intp] = np.minimum(idx, len(cumulative) - 1)
    return out


def geometric(
    seed: int, stream: int, tick: int, key: ArrayLike, mean: ArrayLike, k: int = 0
) -> NDArray[np.int64]:
    """Geometric variates on {1, 2, ...} with the given mean (>= 1)."""
    m = np.maximum(np.asarray(mean, dtype=np.float64), 1.0)
    p = 1.0 / m
    u = uniform_open(seed, stream, tick, key, k)
    with np.errstate(divide="ignore"):
        out = np.where(p >= 1.0, 1.0, np.ceil(np.log(u) / np.log1p(-np.minimum(p, 1 - 1e-12))))
    return np.maximum(out, 1).astype(np.int64)


def poisson(seed: int, stream: int, tick: int, mean: float) -> int:
    """One Poisson variate by exact inversion, split into chunks of mean <= 16.

    Poisson(m) is the sum of independent Poisson(m / n) parts; each part is an
    inversion of its own keyed uniform against a CDF table, so the result is
    exact, keyed, and costs O(m / 16) vector work.
    """
    if mean <= 0.0:
        return 0
    parts = max(1, int(np.ceil(mean / 16.0)))
    lam = mean / parts
    kmax = int(lam + 12.0 * np.sqrt(lam) + 20.0)
    ks = np.arange(kmax + 1, dtype=np.float64)
    log_pmf = -lam + ks * np.log(lam) - np.cumsum(np.log(np.maximum(ks, 1.0)))
    cdf = np.cumsum(np.exp(log_pmf))
    u = uniform(seed, stream, tick, np.arange(parts, dtype=np.uint64))
    counts = np.searchsorted(cdf, u, side="right")
    return int(np.minimum(counts, kmax).sum())
