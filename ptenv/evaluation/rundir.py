"""A run directory (``ptenv eval --out DIR``): what makes resuming safe.

* ``run.json`` holds the run's settings and a fingerprint of those that define its results (env,
  agent and the agent settings that change answers, split, dataset and env kwargs, seed, trials,
  episodes, ptenv's version, a checkpoint's bytes). It is written before the first episode. A rerun
  into the same directory resumes only if the fingerprint matches; otherwise it is refused with one
  line naming what differs (``overwrite=True`` starts over).
* ``.lock`` is held (``flock``) while a run writes, so two evals started at once into one
  directory cannot both append: the second is refused with one line.
* ``results.jsonl`` gets one line per finished episode (:mod:`ptenv.evaluation.results` reads it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ptenv.evaluation.results import read_results, record_key

RESULTS, RUN, SUMMARY, LOCK = "results.jsonl", "run.json", "summary.json", ".lock"
#: Agent settings that do not change an agent's answers (where the key, cache and retries live).
NEUTRAL_AGENT_SETTINGS = frozenset({"cache_dir", "timeout", "max_retries", "api_key_env", "max_local_retries", "trust_checkpoint"})


@dataclass(frozen=True)
class RunSettings:
    """Everything that defines a run's results."""

    env: str
    agent: str
    split: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agent_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    trials: int = 1
    episodes: int | None = None
    #: How reports name the run (not part of what defines it).
    label: str | None = None

    def defining(self) -> dict[str, Any]:
        """The settings the fingerprint covers, as JSON-ready data."""
        from ptenv import __version__

        out: dict[str, Any] = {
            "ptenv": __version__,
            "env": self.env,
            "agent": self.agent,
            "agent_settings": {k: v for k, v in sorted(self.agent_kwargs.items()) if k not in NEUTRAL_AGENT_SETTINGS},
            "split": self.split,
            "env_kwargs": dict(sorted(self.env_kwargs.items())),
            "seed": self.seed,
            "trials": self.trials,
            "episodes": self.episodes,
        }
        if os.path.isfile(self.agent):  # a checkpoint: its bytes define the agent
            out["checkpoint_sha256"] = hashlib.sha256(Path(self.agent).read_bytes()).hexdigest()
        return out

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.defining(), sort_keys=True, default=str).encode()).hexdigest()


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            out.append(f"{k}: {json.dumps(old.get(k), default=str)} there, {json.dumps(new.get(k), default=str)} here")
    return out


class RunDir:
    """A run directory claimed by one evaluation (use as a context manager)."""

    def __init__(self, path: Path, settings: RunSettings, planned: int, overwrite: bool = False):
        self.path, self.settings, self.planned, self.overwrite = path, settings, planned, overwrite
        self._lock: TextIO | None = None
        self._sink: TextIO | None = None

    @property
    def results(self) -> Path:
        return self.path / RESULTS

    def __enter__(self) -> RunDir:
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {self.path} is a file; give a directory (it will hold results.jsonl, run.json, summary.json)")
        self.path.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._check_or_start()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sink is not None:
            self._sink.close()
        self._release()

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): runs into one directory are not guarded
            return
        f = (self.path / LOCK).open("a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "?"
            f.close()
            raise ValueError(
                f"{self.path} is being written by another ptenv eval (pid {holder}); wait for it or give another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock = f

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def _check_or_start(self) -> None:
        run_file = self.path / RUN
        has_results = self.results.exists() and self.results.stat().st_size > 0
        if self.overwrite:
            for name in (RESULTS, RUN, SUMMARY):
                (self.path / name).unlink(missing_ok=True)
        elif has_results:
            if not run_file.exists():
                raise ValueError(
                    f"{self.path} has results but no run.json, so its settings are unknown; give another --out, or --overwrite to start over"
                )
            try:
                old = json.loads(run_file.read_text(encoding="utf-8"))["defining"]
                assert isinstance(old, dict)
            except (ValueError, KeyError, TypeError, AssertionError):
                raise ValueError(f"{run_file} is not a run.json ptenv wrote; give another --out, or --overwrite to start over") from None
            new = self.settings.defining()
            diff = _differences(old, new)
            if diff:
                raise ValueError(
                    f"{self.path} holds a run with other settings ({'; '.join(diff)}); give another --out, or --overwrite to start over"
                )
        run = {
            **{k: v for k, v in vars(self.settings).items()},
            "planned_episodes": self.planned,
            "defining": self.settings.defining(),
            "fingerprint": self.settings.fingerprint(),
        }
        tmp = run_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(run_file)

    def finished(self) -> dict[tuple[str, str, int], dict[str, Any]]:
        """The records a resumed run keeps (the last per episode; errored ones are run again).
        A line cut short by a kill is dropped from the file, which this run alone writes now."""
        read = read_results(self.results, repair=True)
        return {k: r for k, r in read.records.items() if r.get("error") is None}

    def append(self, rec: dict[str, Any]) -> None:
        if self._sink is None:
            self._sink = self.results.open("a", encoding="utf-8")
        self._sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self._sink.flush()

    def write_summary(self, summary: dict[str, Any]) -> None:
        (self.path / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


__all__ = ["LOCK", "RESULTS", "RUN", "SUMMARY", "RunDir", "RunSettings", "record_key"]
