"""Task sources: where an env's requests come from, behind one interface.

* :class:`DatasetSource`: the tasks of a built-in dataset's split (optionally filtered by scenario
  and kind), run as executing :class:`~ptenv.core.task_episode.TaskEpisode` s.
* :class:`RecordSource`: PTBench records (a ``data.json`` or a list), run as
  :class:`~ptenv.core.record_episode.RecordEpisode` s: calls are recorded and judged, not executed.

Both give each request a key (its id), public facts about it (:class:`TaskInfo`), an episode, and
its one-shot form for ``PTBench-v0`` (:meth:`one_shot`). A dataset source also works out, once per
task or user, what every episode of it needs: the gold in PTBench's vocabulary and the user as
each visibility mode shows them. Dataset sources are shared by the envs of a process that ask for
the same split and filters (:func:`dataset_source`), so those caches are too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from ptenv.core.builtins import Builtins
from ptenv.core.episode import EpisodeConfig, TaskInfo
from ptenv.core.observations import EncodedText
from ptenv.core.record_episode import RecordEpisode
from ptenv.core.records import PTBenchRecord, load_records
from ptenv.core.task_episode import TaskEpisode
from ptenv.core.user_sim import SimulatedUser
from ptenv.scenarios import TASK_KINDS, Task, load_dataset, render_profile
from ptenv.scenarios.dataset import ptbench_answer, ptbench_query
from ptenv.scoring import GoldAnswer
from ptenv.tools_registry import Registry


class NoTaskMatches(ValueError):
    """A split and filters that leave no task (a ``ValueError``: the caller's choice, told in one line)."""


class TaskSource(Protocol):
    """What an env draws its requests from."""

    def keys(self) -> Sequence[str]:
        """Every request's key, in a fixed order (``options={"task_index": i}`` picks the i-th)."""
        ...

    def __contains__(self, key: object) -> bool: ...

    def info(self, key: str) -> TaskInfo: ...

    def episode(self, key: str, config: EpisodeConfig, sim_user: SimulatedUser) -> TaskEpisode | RecordEpisode: ...

    def one_shot(self, key: str, visibility: str) -> PTBenchRecord:
        """The request as PTBench shows it: one prompt, one answer (``PTBench-v0``)."""
        ...


class _Keyed:
    """A source's keys in a fixed order, and each key's position."""

    def _set_keys(self, keys: Iterable[str]) -> None:
        self._keys = tuple(keys)
        self._index = {k: i for i, k in enumerate(self._keys)}

    def keys(self) -> Sequence[str]:
        return self._keys

    def __contains__(self, key: object) -> bool:
        return key in self._index


class DatasetSource(_Keyed):
    """The tasks of one split of a built-in dataset, optionally filtered (see :func:`dataset_source`)."""

    def __init__(self, dataset: str, split: str, scenarios: tuple[str, ...] | None = None, kinds: tuple[str, ...] | None = None):
        self.registry = Registry.default()
        self.dataset = load_dataset(dataset)
        # keys come from the split's ids and each task's meta: a task is parsed when an episode
        # first needs it, so a process that runs a few episodes reads a few tasks
        keys = self.dataset.split_ids(split)
        meta = self.dataset.meta
        if scenarios:
            unknown = set(scenarios) - set(self.registry.scenarios)
            if unknown:
                raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {list(self.registry.scenarios)}")
            keys = [k for k in keys if meta(k)[1] in scenarios]
        if kinds:
            unknown = set(kinds) - set(TASK_KINDS)
            if unknown:
                raise ValueError(f"unknown task kinds {sorted(unknown)}; choose from {list(TASK_KINDS)}")
            keys = [k for k in keys if meta(k)[2] in kinds]
        if not keys:
            wanted = {
                "dataset": dataset,
                "split": split,
                "scenarios": list(scenarios) if scenarios else None,
                "kinds": list(kinds) if kinds else None,
            }
            raise NoTaskMatches(f"no task matches {wanted}")
        self._set_keys(keys)
        self._gold: dict[str, GoldAnswer] = {}
        self._views: dict[tuple[str, str, str], str | None] = {}
        self._one_shot: dict[tuple[str, str], PTBenchRecord] = {}
        self._sessions: dict[int, dict[str, list[str]]] = {}
        self._tools: dict[tuple[str, str, str, bool], str] = {}
        #: Each scenario's PTBench tool list, carrying its JSON (it is most of a one-shot observation).
        self._tools_text: dict[str, EncodedText] = {}

    @property
    def tasks(self) -> tuple[Task, ...]:
        """Every task of the source, in order (parses those not read yet)."""
        return tuple(self.dataset.task(k) for k in self._keys)

    # -- the interface --------------------------------------------------------------------------
    def task(self, key: str) -> Task:
        if key not in self._index:
            raise KeyError(key)
        return self.dataset.task(key)

    def info(self, key: str) -> TaskInfo:
        if key not in self._index:
            raise KeyError(key)
        _, scenario, kind = self.dataset.meta(key)
        return TaskInfo(key, scenario, kind)

    def episode(self, key: str, config: EpisodeConfig, sim_user: SimulatedUser) -> TaskEpisode:
        t, vis = self.task(key), config.visibility
        user = self.dataset.users[t.user_id]
        profile, tools = self.profile_text(t.user_id, t.scenario, vis), self.tools_json(t.scenario, vis, config.tool_view, config.ask_user)
        return TaskEpisode(t, user, self.registry, config, self.gold(key), profile, tools, sim_user)

    def one_shot(self, key: str, visibility: str) -> PTBenchRecord:
        hit = self._one_shot.get((key, visibility))
        if hit is None:
            t = self.task(key)
            platforms, tools = self.registry.ptbench_prompt_parts(t.scenario)
            tools = self._tools_text.get(tools) or self._tools_text.setdefault(tools, EncodedText(tools))
            answer, qp, pp = ptbench_answer(t, self.registry)
            profile = self.profile_text(t.user_id, t.scenario, visibility) or ""
            query = ptbench_query(t, self.dataset.users[t.user_id])  # with v2's notices and rules
            hit = PTBenchRecord(0, t.id, profile, platforms, tools, query, answer, tuple(qp), tuple(pp), t.now, (t.gold.platform,))
            self._one_shot[(key, visibility)] = hit
        return hit

    # -- worked out once ------------------------------------------------------------------------
    def gold(self, key: str) -> GoldAnswer:
        """The task's gold in PTBench's vocabulary, with the platform's id as an accepted alias."""
        gold = self._gold.get(key)
        if gold is None:
            t = self.task(key)
            answer, qp, pp = ptbench_answer(t, self.registry)
            gold = self._gold[key] = GoldAnswer.from_ptbench(answer, qp, pp, aliases=(t.gold.platform,))
        return gold

    def profile_text(self, user_id: str, scenario: str, visibility: str) -> str | None:
        """What a visibility mode shows of a user in a scenario (None: the profile is hidden)."""
        key = (user_id, scenario, visibility)
        if key not in self._views:
            self._views[key] = (
                None
                if visibility == "hidden"
                else render_profile(
                    self.dataset.users[user_id],
                    self.registry,
                    scenarios=[scenario],
                    statements=visibility == "profile",
                    history=visibility != "facts",
                )
            )
        return self._views[key]

    def tools_json(self, scenario: str, visibility: str, view: str = "full", ask: bool = False) -> str:
        """The tools an episode offers at its start (the scenario's platforms' and the built-ins on
        offer; in the ``platform_first`` view the built-ins only; in the ``compact`` view the
        platforms' tools shortened), as the JSON list its first observation splices in."""
        text = self._tools.get((scenario, visibility, view, ask))
        if text is None:
            builtin_tools = Builtins.definitions_json(visibility, tuple(self.registry.scenarios), view, ask)
            if view == "platform_first":
                text = builtin_tools
            else:
                reg = self.registry
                platform_tools = reg.compact_definitions_json(scenario) if view == "compact" else reg.tool_definitions_json(scenario)
                text = platform_tools[:-1] + "," + builtin_tools[1:]
            self._tools[(scenario, visibility, view, ask)] = text
        return text

    def by_user(self, min_tasks: int) -> dict[str, list[str]]:
        """Keys of each user's tasks, for users with at least ``min_tasks`` (sorted by user id)."""
        hit = self._sessions.get(min_tasks)
        if hit is None:
            groups: dict[str, list[str]] = {}
            for k in self._keys:
                groups.setdefault(self.dataset.meta(k)[0], []).append(k)
            hit = self._sessions[min_tasks] = {u: ks for u, ks in sorted(groups.items()) if len(ks) >= min_tasks}
        return hit


@cache
def dataset_source(dataset: str, split: str, scenarios: tuple[str, ...] | None, kinds: tuple[str, ...] | None) -> DatasetSource:
    """The process's shared :class:`DatasetSource` for these settings (its caches are shared too)."""
    return DatasetSource(dataset, split, scenarios, kinds)


class RecordSource(_Keyed):
    """PTBench records: a ``data.json`` path, or a list of records or of raw record objects."""

    def __init__(self, records: str | Path | Sequence[Any]):
        if isinstance(records, (list, tuple)) and records and all(isinstance(r, PTBenchRecord) for r in records):
            recs: list[PTBenchRecord] = list(records)
        else:
            recs, errors = load_records(records if isinstance(records, (str, Path)) else list(records))
            if not recs:
                raise ValueError("no readable PTBench record: " + "; ".join(errors[:3]))
        self.records: tuple[PTBenchRecord, ...] = tuple(recs)
        # a record's key is its id; a repeated id gets its position too, so every record stays reachable
        seen: set[str] = set()
        keys = []
        for i, r in enumerate(recs):
            keys.append(r.id if r.id not in seen else f"{r.id}#{i}")
            seen.add(r.id)
        self._set_keys(keys)

    def record(self, key: str) -> PTBenchRecord:
        return self.records[self._index[key]]

    def info(self, key: str) -> TaskInfo:
        return TaskInfo(key, "ptbench", None)

    def episode(self, key: str, config: EpisodeConfig, sim_user: SimulatedUser) -> RecordEpisode:
        return RecordEpisode(self.record(key), config)

    def one_shot(self, key: str, visibility: str) -> PTBenchRecord:
        return self.record(key)
