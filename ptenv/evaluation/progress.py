"""The progress line of a long evaluation, on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """A progress bar with the running score on stderr (redrawn at most every 0.2 s)."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled = total, done, enabled
        self.scored = self.right = 0
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.ran = 0

    def update(self, rec: dict[str, Any]) -> None:
        self.done += 1
        self.ran += 1
        for t in rec.get("tasks", []):
            self.scored += 1
            self.right += bool(t.get("success"))
        now = time.perf_counter()
        if self.enabled and (now - self.last > 0.2 or self.done == self.total):
            self.last = now
            rate = self.ran / max(1e-9, now - self.t0)
            eta = (self.total - self.done) / rate if rate else 0.0
            width = 24
            filled = int(width * self.done / max(1, self.total))
            score = self.right / self.scored if self.scored else 0.0
            print(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  success {score:.3f}  {rate:.0f} ep/s  eta {eta:.0f}s ",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.enabled and self.ran:
            print(file=sys.stderr)
