"""Sessions: several requests of one user in one episode, with feedback after each."""

from __future__ import annotations

from typing import Any, SupportsFloat

from ptenv.core.reward import EpisodeScore
from ptenv.core.sources import DatasetSource
from ptenv.core.task_episode import TaskEpisode
from ptenv.core.user_sim import Situation
from ptenv.envs.base import BaseTaskEnv


class PersonalSessionEnv(BaseTaskEnv):
    """
    ## Description
    ``tasks_per_session`` requests of one simulated user in one episode. After each request the
    user gives feedback ("for a request like that I'd rather have used X"), so an agent can learn
    this user's preferences online. By default the profile is hidden.

    ## Action Space
    As :class:`~ptenv.envs.base.PersonalToolEnv`: text tool calls; ``finish`` closes the current request.

    ## Observation Space
    JSON text. A new request arrives as ``type: "task"`` with ``task_number``, ``tasks_total`` and
    the previous request's ``feedback``; the tool list is included when the scenario changes.
    Step results as in ``PersonalToolEnv``; after the last request ``type: "session_end"``.

    ## Starting State
    A user drawn with ``self.np_random`` among the split's users with enough tasks (or
    ``options={"user_id": ...}``), and ``tasks_per_session`` of their tasks in random order.

    ## Rewards
    Each request is scored like one ``PersonalToolEnv`` episode; its end-of-task reward is paid
    on the step that closes it (``finish`` or the per-request ``max_steps``).

    ## Episode End
    Terminated after the last request is closed. A request that reaches ``max_steps`` is closed
    automatically and the session moves on.

    ## Information
    Counters of the current request; when a request closes, ``task_result`` (its ``task_id``,
    ``kind``, ``success``, ``reward_terms``, ``metrics``); at the end ``session`` (mean terms and
    success rate) and ``reward_terms`` (means). No gold or hidden value unless ``debug=True``.

    ## Arguments
    Those of ``PersonalToolEnv`` (``visibility`` defaults to ``"hidden"``) and
    ``tasks_per_session`` (10).

    ## Version History
    * v0: initial version.
    """

    episode_key = "user_id"

    def __init__(self, tasks_per_session: int = 10, visibility: str = "hidden", **kwargs: Any):
        if kwargs.get("records") is not None:
            raise ValueError("sessions need users with several tasks; PTBench records run in PersonalTool-v0 and PTBench-v0")
        super().__init__(visibility=visibility, **kwargs)
        if not (isinstance(tasks_per_session, int) and not isinstance(tasks_per_session, bool) and 1 <= tasks_per_session <= 10_000):
            raise ValueError(f"tasks_per_session must be an integer between 1 and 10000, got {tasks_per_session!r}")
        self.tasks_per_session = tasks_per_session
        if not self._sessions():
            raise ValueError(f"no user has {self.tasks_per_session} tasks in this split and filters")
        self._queue: list[str] = []
        self._ep: TaskEpisode | None = None
        self._results: list[EpisodeScore] = []
        self._over = False

    @property
    def _tasks_source(self) -> DatasetSource:
        src = self.source
        assert isinstance(src, DatasetSource)  # records are refused in __init__
        return src

    def _sessions(self) -> dict[str, list[str]]:
        """Each user with enough tasks for a session, and the keys of their tasks."""
        return self._tasks_source.by_user(self.tasks_per_session)

    # -- what evaluation code uses: one episode per user -----------------------------------------
    def episode_keys(self) -> list[str]:
        return list(self._sessions())

    @property
    def step_limit(self) -> int:
        return self.config.max_steps * self.tasks_per_session

    def closed_tasks(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        return [info["task_result"]] if "task_result" in info else []

    def abandon(self) -> list[dict[str, Any]]:
        if self._ep is None or self._over:
            return []
        self._over = True
        done = len(self._results)
        eps = [self._ep] + [self._episode(key) for key in self._queue[done + 1 :]]
        return [self._unanswered(ep.info, ep.score_unanswered()) for ep in eps]

    @property
    def episode(self) -> TaskEpisode | None:
        """The running request's episode (for evaluation and test code, never agents)."""
        return self._ep

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        sessions = self._sessions()
        users = list(sessions)
        options = options or {}
        if "user_id" in options:
            if options["user_id"] not in sessions:
                raise ValueError(f"user {options['user_id']!r} has no session in this split and filters")
            user = options["user_id"]
        else:
            user = users[int(self.np_random.integers(len(users)))]
        pool = sessions[user]
        picks = self.np_random.choice(len(pool), size=self.tasks_per_session, replace=False)
        self._queue = [pool[int(i)] for i in picks]
        self._results = []
        self._over = False
        self._ep = self._episode(self._queue[0])
        self._show_intro(self._ep, task_number=1, tasks_total=self.tasks_per_session)
        return self._last_obs, self._get_info()

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        ep = self._ep
        if ep is None:
            raise RuntimeError("call reset() before step()")
        if self._over:
            self._show({"type": "error", "error": "the session is over; call reset()"})
            return self._last_obs, 0.0, True, False, self._get_info()
        payload, reward = ep.act(action)
        info = self._get_info()
        if not (ep.finished or ep.steps >= self.config.max_steps):
            self._show(payload)
            return self._last_obs, reward, False, False, info
        # the request is closed: score it, give feedback, move on
        score = ep.score(self.debug)
        self._results.append(score)
        reward += score.terminal_reward
        info["task_result"] = self._end_info(ep.info, score)
        if self.debug:
            info["gold"] = ep.debug_gold()
        rec = score.record
        profile_ok = rec.profile_hits >= rec.profile_total
        feedback = self.sim_user.feedback(Situation(ep.user, ep.task, ep.scenario), rec.platforms, profile_ok, rec.overall)
        done = len(self._results)
        if done == len(self._queue):
            self._over = True
            summary = self._summary()
            info["session"] = summary
            info["reward_terms"] = summary["mean_terms"]
            self._show({"type": "session_end", "last_results": payload, "feedback": feedback, "tasks_done": done})
            return self._last_obs, reward, True, False, info
        prev_scenario = ep.task.scenario
        self._ep = self._episode(self._queue[done])
        self._show_intro(
            self._ep,
            with_tools=self._ep.task.scenario != prev_scenario,
            task_number=done + 1,
            tasks_total=len(self._queue),
            feedback=feedback,
            last_results=payload,
        )
        return self._last_obs, reward, False, False, info

    def _summary(self) -> dict[str, Any]:
        n = len(self._results)
        keys = self._results[0].terms.keys()
        return {
            "tasks": n,
            "success_rate": sum(r.success for r in self._results) / n,
            "mean_terms": {k: sum(r.terms[k] for r in self._results) / n for k in keys}
            | {"total": sum(r.total for r in self._results) / n},
        }

    def _get_info(self) -> dict[str, Any]:
        ep = self._ep
        assert ep is not None
        return {
            "task_id": ep.task.id,
            "scenario": ep.task.scenario,
            "task_number": len(self._results) + (0 if self._over else 1),
            "step": ep.steps,
            **ep.ledger.counts,
        }

    def _episode(self, key: str) -> TaskEpisode:
        return self._tasks_source.episode(key, self.config, self.sim_user)
