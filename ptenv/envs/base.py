"""What every ptenv environment shares (:class:`BaseTaskEnv`): a task source, the text spaces,
the episode settings, ``ansi`` rendering, pickling, and the few public methods evaluation code
uses to run every request of a split (:meth:`~BaseTaskEnv.episode_keys`,
:meth:`~BaseTaskEnv.reset_options`, :meth:`~BaseTaskEnv.closed_tasks`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from ptenv.core.actions import MAX_ACTION_CHARS
from ptenv.core.episode import Episode, EpisodeConfig, TaskInfo
from ptenv.core.observations import dumps
from ptenv.core.records import PTBenchRecord
from ptenv.core.reward import EpisodeScore
from ptenv.core.sources import DatasetSource, RecordSource, TaskSource, dataset_source
from ptenv.core.user_sim import ScriptedUser, SimulatedUser
from ptenv.envs.spaces import UnicodeText
from ptenv.scenarios import DATASETS, Task

MAX_OBSERVATION_CHARS = 1_000_000
#: The keys of ``info`` that describe a closed request (its result).
RESULT_KEYS = ("task_id", "scenario", "kind", "success", "reward_terms", "metrics")


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


def _check_names(what: str, value: Any, one: bool = False) -> None:
    """A name (``one``) or a list of names: a bare string where a list is wanted would be read
    letter by letter, so it is refused."""
    if one:
        if not isinstance(value, str):
            raise ValueError(f"{what} must be a name (a string), got {value!r}")
    elif value is not None and not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
        example = {"scenarios": '["takeout"]', "kinds": '["tool_preference"]'}.get(what, '["..."]')
        raise ValueError(f"{what} must be a list of names such as {example}, got {value!r}")


def _names(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values else None


class BaseTaskEnv(gym.Env[str, str]):
    """The fat base class; the registered ids are thin variants of its subclasses (as Minigrid)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    #: What one episode is, for evaluation code: one task (``"task_id"``) or one user's session.
    episode_key = "task_id"

    def __init__(
        self,
        dataset: str = "ptenv-v1",
        split: str = "train",
        scenarios: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        visibility: str = "profile",
        reward_mode: str = "shaped",
        scorer: str = "strict",
        max_steps: int = 12,
        tool_view: str = "full",
        render_mode: str | None = None,
        debug: bool = False,
        sim_user: SimulatedUser | str | None = None,
        records: str | Sequence[Any] | None = None,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        _check_names("dataset", dataset, one=True)
        _check_names("split", split, one=True)
        _check_names("scenarios", scenarios)
        _check_names("kinds", kinds)
        if not isinstance(debug, bool):
            raise ValueError(f"debug must be true or false, got {debug!r}")
        if records is not None and not isinstance(records, (str, os.PathLike, list, tuple)):
            raise ValueError(f"records must be a data.json path or a list of records, got {type(records).__name__}")
        self.dataset_name, self.split = dataset, split
        self._filters = (_names(scenarios), _names(kinds))
        #: PTBench records (a data.json path or a list) to run instead of a ptenv dataset
        self._records = records
        v2 = records is None and getattr(DATASETS.get(dataset), "recipe", "v1") == "v2"
        self.config = EpisodeConfig(
            visibility=visibility,  # type: ignore[arg-type]
            reward_mode=reward_mode,  # type: ignore[arg-type]
            scorer=scorer,  # type: ignore[arg-type]
            max_steps=max_steps,
            tool_view=tool_view,  # type: ignore[arg-type]
            # ptenv-v2 has requests no visible source decides (asking is then the right move) and
            # searches the user would have sorted their way
            ask_user=v2,
            preference_args=v2,
        )
        self.render_mode = render_mode
        self.debug = debug
        self.sim_user: SimulatedUser = make_sim_user(sim_user)
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.source: TaskSource = self._make_source()
        self._last_obs = ""
        #: The last observation as data, before it was encoded (an opening observation without its
        #: tool list): what wrappers read instead of parsing the text again.
        self.last_payload: dict[str, Any] = {}
        #: False when a wrapper reads ``last_payload`` only (the numeric ids): observations are then
        #: returned as ``""`` and encoded only if rendered, which saves the encoding of each one.
        self.text_observations = True
        self._unrendered: tuple[Any, ...] | None = None

    def _make_source(self) -> TaskSource:
        if self._records is not None:
            return RecordSource(self._records)
        return dataset_source(self.dataset_name, self.split, *self._filters)

    @property
    def tasks(self) -> Sequence[Task] | Sequence[PTBenchRecord]:
        """The requests this env draws from, gold included: for evaluation and test code, never
        for agents (an agent sees observations only)."""
        return self.source.tasks if isinstance(self.source, DatasetSource) else self.source.records  # type: ignore[attr-defined]

    # -- what evaluation code uses -------------------------------------------------------------
    def episode_keys(self) -> list[str]:
        """The key of every episode this env can run, in a fixed order (task or record ids)."""
        return list(self.source.keys())

    @property
    def step_limit(self) -> int:
        """The most steps one episode can take before it is truncated."""
        return self.config.max_steps

    def reset_options(self, key: str) -> dict[str, Any]:
        """The ``options`` of ``reset`` that start the episode of ``key``."""
        return {self.episode_key: key}

    def closed_tasks(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        """The result of each request a step's ``info`` reports closed (task id, scenario, kind,
        success, reward terms, PTBench's columns)."""
        return [{k: info.get(k) for k in RESULT_KEYS}] if "metrics" in info else []

    def abandon(self) -> list[dict[str, Any]]:
        """End the running episode because its agent failed: each request it had not closed is
        scored as unanswered (every column false) and returned as :meth:`closed_tasks` would, with
        ``"errored": True``, so evaluation counts it as a failure rather than leaving it out."""
        raise NotImplementedError

    def _unanswered(self, info: TaskInfo, score: EpisodeScore) -> dict[str, Any]:
        return {**{k: v for k, v in self._end_info(info, score).items() if k in RESULT_KEYS}, "errored": True}

    # -- shared by reset and step ----------------------------------------------------------------
    def _pick(self, options: dict[str, Any] | None) -> str:
        """The key of the next episode: named by ``options``, else drawn with ``self.np_random``."""
        options = options or {}
        keys = self.source.keys()
        if "task_id" in options:
            if options["task_id"] not in self.source:
                raise ValueError(f"task {options['task_id']!r} is not in this env's split and filters")
            return str(options["task_id"])
        if "task_index" in options:
            return keys[int(options["task_index"]) % len(keys)]
        return keys[int(self.np_random.integers(len(keys)))]

    def _show(self, payload: dict[str, Any]) -> str:
        """Make ``payload`` the observation: kept as data, returned as text."""
        self.last_payload = payload
        if self.text_observations:
            text = self._last_obs = dumps(payload)
            self._unrendered = None
            return text
        self._last_obs, self._unrendered = "", (payload,)
        return ""

    def _show_intro(self, ep: Episode, with_tools: bool = True, **extra: Any) -> str:
        """Make an episode's opening observation the observation."""
        head = self.last_payload = ep.intro(**extra)
        if self.text_observations:
            self._last_obs, self._unrendered = ep.render_intro(head, with_tools), None
        else:
            self._last_obs, self._unrendered = "", (head, ep, with_tools)
        return self._last_obs

    def observation_text(self) -> str:
        """The last observation as text (encoded now if :attr:`text_observations` is off)."""
        if self._unrendered is not None:
            if len(self._unrendered) == 1:
                self._last_obs = dumps(self._unrendered[0])
            else:
                head, ep, with_tools = self._unrendered
                self._last_obs = ep.render_intro(head, with_tools)
            self._unrendered = None
        return self._last_obs

    def _end_info(self, info: TaskInfo, score: EpisodeScore, into: dict[str, Any] | None = None) -> dict[str, Any]:
        """What ``info`` says of a closed request: its task, success, reward terms and metrics
        (added to ``into`` if given, an ``info`` that already names the task, else a new dict)."""
        out: dict[str, Any] = {"task_id": info.id, "scenario": info.scenario} if into is None else into
        record = score.record
        out["kind"] = info.kind
        out["success"] = record.overall
        out["reward_terms"] = score.reward_terms.copy()
        out["metrics"] = record.as_dict(self.debug)
        return out

    def render(self) -> Any:  # ansi text or None (Any: Gymnasium versions type render differently)
        if self.render_mode == "ansi":
            return self.observation_text() + "\n"
        return None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("source")  # shared per process (dataset) or rebuilt from its records
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.source = self._make_source()
