"""Running an agent over a split: in this process, in worker processes, as async slots, or on
Ray actors (:mod:`ptenv.evaluation.ray_backend`). Episodes themselves: :mod:`ptenv.evaluation.episodes`.

* **Results.** One JSON line per finished episode (task id, trajectory, metrics, reward terms,
  timings, error), flushed as each finishes. A rerun with the same file skips finished episodes and
  retries errored ones; a line cut short by a kill is dropped and its episode rerun. The summary is
  computed from the records in plan order, so an interrupted-then-resumed run and an uninterrupted
  one print the same summary, whichever backend ran it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ptenv.core.agent import Agent, load_agent
from ptenv.evaluation.episodes import (
    TEST_SPLITS,
    EvalSpec,
    PlanItem,
    _init_worker,
    _run_chunk,
    _Runner,
    episode_plan,
    episode_seed,
    max_workers,
    run_episode,
    run_episode_async,
)
from ptenv.evaluation.progress import Progress
from ptenv.evaluation.results import record_key, summarize
from ptenv.evaluation.rundir import RunDir, RunSettings

__all__ = [
    "BACKENDS",
    "TEST_SPLITS",
    "EvalSpec",
    "PlanItem",
    "episode_plan",
    "episode_seed",
    "evaluate",
    "max_workers",
    "run_episode",
    "run_episode_async",
]

#: Where episodes run: this machine (processes or async slots), or Ray actors.
BACKENDS = ("local", "ray")


def _check_counts(episodes: int | None, trials: int, workers: int | None, concurrency: int, backend: str = "local") -> None:
    """Counts a user gives, checked before anything runs (one clear line each)."""
    if episodes is not None and episodes < 1:
        raise ValueError(f"--episodes must be at least 1 (or left out for every task), got {episodes}")
    if not 1 <= trials <= 1000:
        raise ValueError(f"--trials must be between 1 and 1000, got {trials}")
    if not 1 <= concurrency <= 1024:
        raise ValueError(f"--concurrency must be between 1 and 1024, got {concurrency}")
    if backend == "ray":  # actors on a cluster: its size is Ray's to know
        if workers is not None and not 1 <= workers <= 4096:
            raise ValueError(f"--workers (Ray actors) must be between 1 and 4096, got {workers}")
        return
    if workers is not None and not 1 <= workers <= max_workers():
        raise ValueError(f"--workers must be between 1 and {max_workers()} (the processors here), got {workers}")
    if (workers or 1) > 1 and concurrency > 1:
        raise ValueError("choose --workers (processes) or --concurrency (async episodes), not both")


def _preflight(agent: Any) -> None:
    """Before the first episode, an agent that talks to a server checks it can (its key, the
    server's address): a run that could only error is refused with one line, not 1,440 errors."""
    check = getattr(agent, "preflight", None)
    if check is not None:
        check()


def evaluate(
    env_id: str,
    agent: Agent | str,
    split: str,
    out_dir: Path | None,
    episodes: int | None = None,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
    trials: int = 1,
    workers: int | None = None,
    concurrency: int = 1,
    agent_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    preflight: bool = True,
    debug: bool = False,
    label: str | None = None,
    backend: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Evaluate and summarize. ``agent`` is an agent, or a name / ``module:Class``. Parallel runs
    (``workers`` processes, or ``concurrency`` episodes in flight in one process for async agents)
    need the name, since each runs its own agent instance.

    With ``out_dir`` the run is kept there (:class:`~ptenv.evaluation.rundir.RunDir`): one line per
    episode as it finishes, resumable by running the same settings again (other settings are
    refused unless ``overwrite``), ``summary.json`` at the end. ``label`` names the run in reports.

    ``backend="ray"`` runs the episodes on Ray actors (:mod:`ptenv.evaluation.ray_backend`):
    ``workers`` actors (default one per CPU of the cluster), each with ``concurrency`` slots, on the
    cluster at ``address`` (else ``RAY_ADDRESS``, else a local Ray started for the run). Results,
    resume and the summary are the local backend's."""
    env_kwargs = dict(env_kwargs or {})
    agent_kwargs = dict(agent_kwargs or {})
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ValueError("--address is the Ray cluster's: it needs --backend ray")
    _check_counts(episodes, trials, workers, concurrency, backend)
    if backend == "ray":  # before anything runs or prints: a dead address is one line, not minutes of retries
        from ptenv.rl.rllib import check_reachable

        check_reachable(address or os.environ.get("RAY_ADDRESS") or None)
    if ((workers or 1) > 1 or concurrency > 1 or backend == "ray") and not isinstance(agent, str):
        raise ValueError("workers > 1, concurrency > 1 or the ray backend need the agent by name (each runs its own instance)")
    name = agent if isinstance(agent, str) else f"{type(agent).__module__}:{type(agent).__qualname__}"
    spec = EvalSpec(env_id, agent if isinstance(agent, str) else "", env_kwargs, seed, agent_kwargs=agent_kwargs, debug=debug)
    plan = episode_plan(env_id, split, episodes, seed, env_kwargs, trials)
    settings = RunSettings(env_id, name, split, env_kwargs, agent_kwargs, seed, trials, episodes, label)
    run = RunDir(out_dir, settings, len(plan), overwrite) if out_dir is not None else None
    with run if run is not None else nullcontext():
        records = run.finished() if run is not None else {}
        todo = [item for item in plan if item not in records]
        if todo and preflight:
            _preflight(agent if not isinstance(agent, str) else load_agent(agent, **agent_kwargs))
        bar = Progress(len(plan), len(plan) - len(todo), enabled=progress)

        def finish(rec: dict[str, Any]) -> None:
            records[record_key(rec)] = rec
            if run is not None:
                run.append(rec)
            bar.update(rec)

        try:
            if backend == "ray" and todo:
                from ptenv.evaluation.ray_backend import run_on_ray

                run_on_ray(spec, todo, finish, workers, concurrency, address, on_event=bar.say)
            else:
                with _frozen_heap():
                    _run(spec, agent, todo, workers or 1, concurrency, finish)
        except KeyboardInterrupt:
            raise EvaluationInterrupted(len(records), len(plan), out_dir) from None
        finally:
            bar.close()
        agent_name = label or (agent if isinstance(agent, str) else getattr(agent, "name", "agent"))
        summary = summarize([records[item] for item in plan if item in records], agent_name=str(agent_name), trials=trials)
        if run is not None:
            run.write_summary(summary)
    return summary


def _run(spec: EvalSpec, agent: Agent | str, todo: list[PlanItem], workers: int, concurrency: int, finish: Any) -> None:
    """Run the plan's remaining items: in this process, in ``concurrency`` async slots, or in
    ``workers`` processes; each record goes to ``finish`` as it is done."""
    if concurrency > 1:
        asyncio.run(_run_concurrently(spec, todo, concurrency, finish))
    elif workers <= 1:
        runner = _Runner(spec, None if isinstance(agent, str) else agent)
        try:
            for item in todo:
                finish(runner.run(item))
        finally:
            runner.close()
    else:
        ctx = get_context("fork") if sys.platform != "win32" else get_context("spawn")
        size = max(1, min(64, len(todo) // (workers * 8) or 1))
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,))
        try:
            for fut in as_completed([pool.submit(_run_chunk, c) for c in chunks]):
                for rec in fut.result():
                    finish(rec)
        except KeyboardInterrupt:
            # stop now: the chunks running are lost (a rerun runs them), not waited for; the
            # executor keeps its processes in a private attribute, the only handle on them
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


class EvaluationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`evaluate`: the episodes finished so far are kept (in ``out_dir``'s
    ``results.jsonl`` when there is one), and a rerun of the same call resumes from them."""

    def __init__(self, done: int, total: int, out_dir: Path | None):
        super().__init__(done, total, out_dir)
        self.done, self.total, self.out_dir = done, total, out_dir

    def __str__(self) -> str:
        if self.out_dir is None:
            return f"interrupted after {self.done} of {self.total} episodes (nothing was kept: run with --out DIR to resume later)"
        kept = self.out_dir / "results.jsonl"
        return f"interrupted: {self.done} of {self.total} episodes are kept in {kept}; run the same command again to resume"


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """While episodes run, the objects alive now (the dataset, hundreds of thousands of them,
    which live as long as the process) are left out of the cyclic garbage collector: a full
    collection walks every one (~50 ms here), a pause that every episode in flight waits out.
    Forked workers share those pages untouched. A heap someone else froze is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _run_concurrently(spec: EvalSpec, todo: list[PlanItem], concurrency: int, finish: Any) -> None:
    """At most ``concurrency`` episodes in flight; each slot keeps its own envs and agent."""
    queue: asyncio.Queue[PlanItem] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)

    async def slot() -> None:
        runner = _Runner(spec)
        try:
            while not queue.empty():
                finish(await runner.arun(queue.get_nowait()))
        finally:
            runner.close()

    await asyncio.gather(*(slot() for _ in range(min(concurrency, len(todo)) or 1)))
