"""A text space that accepts any unicode string (gymnasium's ``Text`` rejects spaces and "café")."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import Space

# What ``sample`` draws from: printable ASCII, a few accented letters and symbols, and the
# characters tool calls are made of. Samples are noise by design; they exercise error handling.
_SAMPLE_CHARS = np.array(list(" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789{}[]():,=\"'_-.éüñ€→漢"))


class UnicodeText(Space[str]):
    """Any ``str`` of at most ``max_length`` characters.

    ``sample()`` returns random strings (seeded by :meth:`seed`), mostly invalid as actions:
    ``check_env`` sends them to ``step`` to prove a malformed action never raises.
    """

    def __init__(self, max_length: int = 100_000, seed: int | np.random.Generator | None = None):
        self.max_length = int(max_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        n = int(self.np_random.integers(0, min(self.max_length, 64) + 1))
        return "".join(self.np_random.choice(_SAMPLE_CHARS, size=n))

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, UnicodeText) and other.max_length == self.max_length

    def to_jsonable(self, sample_n: Any) -> list[str]:
        return list(sample_n)

    def from_jsonable(self, sample_n: list[str]) -> list[str]:
        return list(sample_n)
