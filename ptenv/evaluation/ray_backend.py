"""Evaluation on Ray (``ptenv eval --backend ray``): episodes sharded over Ray actors.

The driver keeps everything that makes a run trustworthy: the plan, the run directory (it alone
writes ``results.jsonl``), resume, the fingerprint and the summary (:func:`ptenv.evaluation.evaluate`).
Only the running of episodes moves to the actors. Each actor holds its envs and agents (one per
``concurrency`` slot, so async agents keep that many episodes in flight inside each actor).

Items go out in small batches and a batch's records come back together. An actor or a node that
dies loses the batches it held: they go back to the queue and run again on another actor, and
since nothing of a lost batch ever reached the driver, no episode is counted twice. Ray's
scheduler places the actors; there is no scheduler of ours.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ptenv.evaluation.episodes import EvalSpec, PlanItem, _Runner

#: How long the driver waits for a replacement actor when none is alive (the cluster may have
#: lost the resources for one), in seconds; ``PTENV_RAY_WAIT`` overrides it.
ACTOR_WAIT = 120.0
#: A local Ray started for a run keeps its object store small: records are a few KB each.
_LOCAL_OBJECT_STORE = 256 * 1024**2


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'ptenv[ray]'") from None
    return ray


class EpisodeActor:
    """One Ray actor: ``concurrency`` runners (each its envs and agent), episodes run on them."""

    def __init__(self, spec: EvalSpec, concurrency: int):
        self.free: asyncio.Queue[_Runner] | None = None
        self.spec, self.concurrency = spec, concurrency
        self.runners = [_Runner(spec) for _ in range(concurrency)]

    async def run(self, items: list[PlanItem]) -> list[dict[str, Any]]:
        if self.free is None:  # made on the actor's event loop
            self.free = asyncio.Queue()
            for r in self.runners:
                self.free.put_nowait(r)
        free = self.free

        async def one(item: PlanItem) -> dict[str, Any]:
            runner = await free.get()
            try:
                return await runner.arun(item)
            finally:
                free.put_nowait(runner)

        return list(await asyncio.gather(*(one(i) for i in items)))

    def node(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())


def _batches(todo: list[PlanItem], actors: int, concurrency: int) -> deque[list[PlanItem]]:
    # small enough that a lost batch costs little and results stream; large enough to keep an
    # actor's slots busy (a batch holds at least one episode per slot)
    size = max(concurrency, min(32, len(todo) // (actors * 8) or 1))
    return deque(todo[i : i + size] for i in range(0, len(todo), size))


def run_on_ray(
    spec: EvalSpec,
    todo: list[PlanItem],
    finish: Callable[[dict[str, Any]], None],
    workers: int | None,
    concurrency: int,
    address: str | None,
    on_event: Callable[[str], None] | None = None,
) -> None:
    """Run ``todo`` on Ray actors, handing each record to ``finish`` (in the driver) as its batch
    returns. ``workers`` actors (default: one per CPU of the cluster). ``address``: a running
    cluster (else ``RAY_ADDRESS``, else a local Ray started for this run and stopped after it)."""
    ray = import_ray()
    from ptenv.rl.rllib import init_ray

    started, _ = init_ray(address, object_store_memory=_LOCAL_OBJECT_STORE)
    say = on_event or (lambda _msg: None)
    n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    actor_cls = ray.remote(num_cpus=1, max_restarts=0, max_concurrency=2)(EpisodeActor)
    actors: list[Any] = []
    try:
        _drive(ray, actor_cls, spec, todo, finish, n, concurrency, actors, say)
    finally:
        for a in actors:  # none outlives the run
            ray.kill(a)
        if started:
            ray.shutdown()


def _drive(
    ray: Any,
    actor_cls: Any,
    spec: EvalSpec,
    todo: list[PlanItem],
    finish: Callable[[dict[str, Any]], None],
    n: int,
    concurrency: int,
    actors: list[Any],
    say: Callable[[str], None],
) -> None:
    from ray.exceptions import GetTimeoutError, RayActorError, RaySystemError

    queue = _batches(todo, n, concurrency)
    wait_limit = float(os.environ.get("PTENV_RAY_WAIT", ACTOR_WAIT))
    starting: dict[Any, Any] = {}  # ready ref -> actor not yet known to be up
    live: set[Any] = set()
    load: dict[Any, int] = {}  # actor -> batches it holds
    batches: dict[Any, tuple[Any, list[PlanItem]]] = {}  # result ref -> (actor, batch)

    def start(k: int) -> None:
        for _ in range(k):
            a = actor_cls.options(scheduling_strategy="SPREAD").remote(spec, concurrency)
            actors.append(a)
            starting[a.node.remote()] = a

    def lose(actor: Any) -> None:
        if actor in live:
            live.discard(actor)
            start(1)  # a replacement, wherever Ray finds room
        for ref, (a, batch) in list(batches.items()):
            if a is actor:  # everything it held runs again elsewhere
                del batches[ref]
                queue.appendleft(batch)

    start(n)
    idle_since = time.monotonic()
    while queue or batches:
        for a in list(live):  # two batches per actor: one running, one waiting its turn
            while queue and load[a] < 2:
                batch = queue.popleft()
                batches[a.run.remote(batch)] = (a, batch)
                load[a] += 1
        refs = list(batches) + list(starting)
        if not live and not batches and time.monotonic() - idle_since > wait_limit:
            raise RuntimeError(
                f"no Ray actor is alive and none could start in {wait_limit:.0f} s (each needs 1 CPU: does the cluster have one free?)"
            )
        done, _ = ray.wait(refs, num_returns=1, timeout=1.0)
        for ref in done:
            if ref in starting:
                actor = starting.pop(ref)
                try:
                    ray.get(ref)
                except (RayActorError, RaySystemError) as exc:
                    if "creation task" in str(exc):  # its constructor raised: every actor would
                        raise ValueError(f"a Ray actor could not start its envs and agent: {_root_error(exc)}") from None
                    continue  # lost with its node on the way up; another death's lose() replaces
                live.add(actor)
                load[actor] = 0
                continue
            actor, batch = batches.pop(ref)
            try:
                records = ray.get(ref)
            except (RayActorError, RaySystemError, GetTimeoutError) as exc:
                say(f"a Ray actor was lost ({type(exc).__name__}); its {len(batch)} episodes run again")
                queue.appendleft(batch)
                lose(actor)
                continue
            load[actor] -= 1
            for rec in records:
                finish(rec)
        if live or batches:
            idle_since = time.monotonic()


def _root_error(exc: BaseException) -> str:
    """The original error's last line in a Ray error's text (which holds the remote traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if "Error:" in line and not line.startswith(("ray.", "The actor"))]
    return (errors or lines or [type(exc).__name__])[-1][:500]
