"""Fast deterministic draws from a ``random.Random``.

``random.choice`` and ``randrange`` go through ``_randbelow`` and cost about 1 µs each; the
generator makes dozens of draws per row, so these use one ``random()`` call instead. The
tiny bias of ``int(random() * n)`` (n ≪ 2**53) does not matter for synthetic data, and the
results are still a pure function of the generator's state (determinism is kept).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, seq: Sequence[T]) -> T:
    """One element of ``seq``, uniformly."""
    return seq[int(rng.random() * len(seq))]


def between(rng: random.Random, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi)``."""
    return lo + int(rng.random() * (hi - lo))


def chars(rng: random.Random, alphabet: str, k: int) -> str:
    """``k`` characters of ``alphabet`` from one draw (``len(alphabet) ** k`` must stay < 2**53)."""
    n, out, base = int(rng.random() * len(alphabet) ** k), [], len(alphabet)
    for _ in range(k):
        n, r = divmod(n, base)
        out.append(alphabet[r])
    return "".join(out)


def weighted(rng: random.Random, values: Sequence[T], cum_weights: Sequence[int]) -> T:
    """One of ``values`` with probability proportional to its weight (cumulative weights given)."""
    return values[bisect.bisect(cum_weights, rng.random() * cum_weights[-1])]


def digits(rng: random.Random, k: int) -> str:
    """``k`` decimal digits, leading zeros kept."""
    return f"{int(rng.random() * 10**k):0{k}d}"
