"""Gymnasium environments: one task per episode (:class:`PersonalToolEnv`) and the shared base."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

from ptenv.core.observations import dumps
from ptenv.core.record_episode import RecordEpisode
from ptenv.core.task_episode import EpisodeConfig, EpisodeScore, TaskEpisode
from ptenv.core.user_sim import ScriptedUser, SimulatedUser
from ptenv.envs.spaces import UnicodeText
from ptenv.ptbench.files import PTBenchRecord
from ptenv.scenarios import TASK_KINDS, Dataset, Task, load_dataset
from ptenv.tools_registry import Registry

MAX_OBSERVATION_CHARS = 1_000_000
MAX_ACTION_CHARS = 20_000


def make_sim_user(spec: SimulatedUser | str | None) -> SimulatedUser:
    """A simulated user from an instance, ``None``/``"scripted"``, or ``"openai:MODEL"`` /
    ``"anthropic:MODEL"`` (an LLM-backed user; ``PTENV_USER_BASE_URL`` points it at a server)."""
    if spec is None or spec == "scripted":
        return ScriptedUser()
    if isinstance(spec, str):
        import os

        from ptenv.llm.user import LLMUser

        return LLMUser.from_spec(spec, base_url=os.environ.get("PTENV_USER_BASE_URL"))
    return spec


class BaseTaskEnv(gym.Env[str, str]):
    """What every ptenv environment shares: the dataset and its filters, the text spaces, the
    episode settings, ``ansi`` rendering, and pickling without the (shared, cached) dataset."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        dataset: str = "ptenv-v1",
        split: str = "train",
        scenarios: list[str] | tuple[str, ...] | None = None,
        kinds: list[str] | tuple[str, ...] | None = None,
        visibility: str = "profile",
        reward_mode: str = "shaped",
        scorer: str = "strict",
        max_steps: int = 12,
        render_mode: str | None = None,
        debug: bool = False,
        sim_user: SimulatedUser | str | None = None,
        records: str | list[Any] | None = None,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self._kwargs: dict[str, Any] = {"dataset": dataset, "split": split, "scenarios": scenarios, "kinds": kinds}
        #: PTBench records (a data.json path or a list) to run instead of a ptenv dataset
        self._records_source = records
        self.config = EpisodeConfig(visibility=visibility, reward_mode=reward_mode, scorer=scorer, max_steps=max_steps)  # type: ignore[arg-type]
        self.render_mode = render_mode
        self.debug = debug
        self.sim_user: SimulatedUser = make_sim_user(sim_user)
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self._load()
        self._last_obs = ""

    def _load(self) -> None:
        if self._records_source is not None:
            self._load_records()
            return
        kw = self._kwargs
        self._registry = Registry.default()
        self._dataset: Dataset = load_dataset(kw["dataset"])
        tasks = self._dataset.split(kw["split"])
        if kw["scenarios"]:
            unknown = set(kw["scenarios"]) - set(self._registry.scenarios)
            if unknown:
                raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {list(self._registry.scenarios)}")
            tasks = [t for t in tasks if t.scenario in kw["scenarios"]]
        if kw["kinds"]:
            unknown = set(kw["kinds"]) - set(TASK_KINDS)
            if unknown:
                raise ValueError(f"unknown task kinds {sorted(unknown)}; choose from {list(TASK_KINDS)}")
            tasks = [t for t in tasks if t.kind in kw["kinds"]]
        if not tasks:
            raise ValueError(f"no task matches {kw}")
        self._tasks: list[Task] = tasks
        self._task_index = {t.id: i for i, t in enumerate(tasks)}

    def _load_records(self) -> None:
        from ptenv.ptbench.files import load_records

        src = self._records_source
        assert src is not None
        if isinstance(src, list) and src and all(isinstance(r, PTBenchRecord) for r in src):
            records = list(src)
        else:
            records, errors = load_records(src)
            if not records:
                raise ValueError("no readable PTBench record: " + "; ".join(errors[:3]))
        self._registry = Registry.default()
        self._tasks = records
        self._task_index = {r.id: i for i, r in enumerate(records)}

    @property
    def tasks(self) -> list[Task]:
        """The tasks this env draws from (gold included: for evaluation code, never for agents)."""
        return self._tasks

    def _pick(self, options: dict[str, Any] | None) -> Task:
        options = options or {}
        if "task_id" in options:
            if options["task_id"] not in self._task_index:
                raise ValueError(f"task {options['task_id']!r} is not in this env's split and filters")
            return self._tasks[self._task_index[options["task_id"]]]
        if "task_index" in options:
            return self._tasks[int(options["task_index"]) % len(self._tasks)]
        return self._tasks[int(self.np_random.integers(len(self._tasks)))]

    def _episode(self, task: Task) -> TaskEpisode:
        if isinstance(task, PTBenchRecord):  # no backend: calls are recorded and judged at the end
            return RecordEpisode(task, self.config)
        return TaskEpisode(task, self._dataset.users[task.user_id], self._registry, self.config, self.sim_user)

    @staticmethod
    def _gold(ep: Any) -> Any:
        """The gold for ``info`` in debug mode only."""
        record = getattr(ep, "record", None)
        return record.answer if record is not None else ep.task.gold.model_dump()

    def _end_info(self, ep: TaskEpisode, score: EpisodeScore) -> dict[str, Any]:
        return {
            "task_id": ep.task.id,
            "scenario": ep.task.scenario,
            "kind": ep.task.kind,
            "success": score.success,
            "reward_terms": {**score.terms, **{f"penalty_{k}": v for k, v in score.penalties.items()}, "total": score.total},
            "metrics": score.record.as_dict(notes=self.debug),
        }

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._last_obs + "\n"
        return None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for k in ("_registry", "_dataset", "_tasks", "_task_index"):
            state.pop(k, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._load()
        ep = state.get("_ep")
        if ep is not None:  # the episode's registry is the process's shared one
            ep.registry = self._registry


class PersonalToolEnv(BaseTaskEnv):
    """
    ## Description
    One request of one simulated user per episode. The agent calls the tools of a scenario's
    three functionally similar platforms (and built-ins) step by step, against a stateful mock
    backend, and is scored on choosing the platform *this* user prefers in *this* situation and on
    filling arguments the user never said from what it may know about them.

    ## Action Space
    :class:`~ptenv.envs.spaces.UnicodeText`: a JSON tool call ``{"name": ..., "arguments": {...}}`` or a
    list of them, a provider tool-call object, or PTBench's ``Platform:[func(arg=value)]``. Built-ins:
    ``finish`` (always), ``ask_user``, ``get_profile_field``, ``search_history`` (hidden mode). A
    malformed action returns an ``error`` observation and a penalty; it never raises.

    ## Observation Space
    :class:`~ptenv.envs.spaces.UnicodeText`: a JSON document (see :func:`ptenv.parse_observation`). At
    reset, ``type: "task"`` with the query, the clock (``now``), what the visibility mode shows of
    the user, the platforms and the tools (JSON Schema). After each step, ``type: "tool_results"``
    (or ``"error"``) with each call's output or structured error.

    ## Starting State
    A task drawn uniformly (with ``self.np_random``) from the split and filters, or the one named
    by ``options={"task_id": ...}`` / ``{"task_index": i}``; a fresh backend seeded by the task.

    ## Rewards
    ``shaped`` (default): step costs for invalid actions (-0.05), questions (-0.02) and look-ups
    (-0.01); at the end 0.15·platform + 0.15·tool_names + 0.15·query_args + 0.15·profile_args +
    0.4·success, minus 0.01 per extra READ and 0.1 per extra WRITE call. ``sparse``: 1 at the end on
    success, else 0. docs/environments.md defines each term.

    ## Episode End
    Terminated when the agent calls ``finish``; truncated after ``max_steps`` steps.

    ## Information
    Every step: ``task_id``, ``scenario``, ``step`` and counters (``invalid_actions``,
    ``failed_calls``, ``tool_calls``, ``questions``, ``lookups``). At the end also ``kind``,
    ``success``, ``reward_terms`` (every term and penalty, and ``total``) and ``metrics`` (PTBench's
    columns for this episode). No gold or hidden value, unless ``debug=True`` (adds ``gold``).

    ## Arguments
    ``dataset`` (``"ptenv-v1"``), ``split`` (``train``, ``test_trained``, ``test_untrained``,
    ``test``, ``all``), ``scenarios`` and ``kinds`` (filters), ``visibility`` (``profile``,
    ``history``, ``hidden``), ``reward_mode`` (``shaped``, ``sparse``), ``scorer`` (``strict``,
    ``compat``), ``max_steps`` (12), ``render_mode`` (``"ansi"`` or None), ``debug``, ``sim_user``.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._ep: TaskEpisode | None = None
        self._score: EpisodeScore | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._ep = self._episode(self._pick(options))
        self._score = None
        self._last_obs = self._ep.intro_text()
        return self._last_obs, self._get_info()

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        ep = self._ep
        if ep is None:
            raise RuntimeError("call reset() before step()")
        if self._score is not None:  # stepping a finished episode changes nothing
            self._last_obs = dumps({"type": "error", "error": "the episode is over; call reset()"})
            return self._last_obs, 0.0, True, False, self._get_info()
        payload, reward = ep.act(action)
        terminated = ep.finished
        truncated = not terminated and ep.steps >= self.config.max_steps
        info = self._get_info()
        if terminated or truncated:
            self._score = ep.score()
            reward += self._score.terminal_reward
            info.update(self._end_info(ep, self._score))
            if self.debug:
                info["gold"] = self._gold(ep)
        self._last_obs = dumps(payload)
        return self._last_obs, reward, terminated, truncated, info

    def _get_info(self) -> dict[str, Any]:
        ep = self._ep
        assert ep is not None
        info: dict[str, Any] = {"task_id": ep.task.id, "scenario": ep.task.scenario, "step": ep.steps, **ep.counts}
        if self.debug and ep.steps == 0:
            info["gold"] = self._gold(ep)
        return info
