"""The progress bar of an evaluation (tqdm, on stderr), with the running success rate.

A resumed run says so and where it resumes from; the rate and the time left are tqdm's, taken
over the episodes this run has finished (smoothed), not over those it found done.
"""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    def __init__(self, total: int, done: int, enabled: bool):
        self.scored = self.right = 0
        self.bar: Any = None
        if not enabled:
            return
        from tqdm import tqdm

        if done:
            print(f"resuming: {done} of {total} episodes already done, {total - done} to run", file=sys.stderr)
        self.bar = tqdm(total=total, initial=done, unit="ep", file=sys.stderr, dynamic_ncols=True, mininterval=0.2, smoothing=0.1)

    def update(self, rec: dict[str, Any]) -> None:
        for t in rec.get("tasks", []):
            self.scored += 1
            self.right += bool(t.get("success"))
        if self.bar is not None:
            self.bar.set_postfix_str(f"success {self.right / self.scored:.3f}" if self.scored else "", refresh=False)
            self.bar.update(1)

    def say(self, message: str) -> None:
        """A line above the bar (or on stderr without one)."""
        if self.bar is not None:
            self.bar.write(f"ptenv: {message}", file=sys.stderr)
        else:
            print(f"ptenv: {message}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
