"""PTBench's one-shot protocol as an environment: one answer text per episode, scored as PTBench does."""

from __future__ import annotations

from typing import Any, SupportsFloat

from ptenv.core.observations import dumps
from ptenv.core.task_episode import REWARD_WEIGHTS, gold_answer, reward_terms, user_view
from ptenv.envs.base import BaseTaskEnv
from ptenv.ptbench.files import PTBenchRecord, prediction_from_text
from ptenv.scenarios.dataset import ptbench_answer, ptbench_prompt_parts
from ptenv.scoring import score_record

ANSWER_FORMAT = (
    "Answer with the platform and the calls, and nothing else: Platform:[func1(param1=value1, param2=value2), func2(...)]. "
    "Use the platform's name and its own function names; quote strings."
)
#: Multi-call tasks need a previous call's result, which a one-shot answer cannot see.
ONE_SHOT_KINDS = ("tool_preference", "preference_and_profile", "profile_dependent", "explicit_platform")


class PTBenchEnv(BaseTaskEnv):
    """
    ## Description
    PTBench's protocol (arXiv 2505.04072): the agent sees the user profile, the scenario's
    platforms and tools and the query, and answers once with ``Platform:[func(arg=value), ...]``.
    Nothing executes; the answer is scored by PTBench's metrics (``compat`` scorer by default).

    ## Action Space
    :class:`~ptenv.envs.spaces.UnicodeText`: the answer text (PTBench form, or JSON tool calls named
    ``platform__api``).

    ## Observation Space
    JSON text, ``type: "ptbench"``: ``user_profile``, ``platforms``, ``tools`` (PTBench's prompt
    parts, as text), ``query``, ``answer_format`` and ``now`` (the task's clock, which PTBench's
    prompt lacks but relative dates need). After the answer, ``type: "scored"``.

    ## Starting State
    A task drawn with ``self.np_random`` (or ``options={"task_id": ...}``); by default multi-call
    tasks are left out (``kinds``), since one answer cannot use a previous call's result.

    ## Rewards
    ``sparse`` (default): PTBench's ``overall`` (platform and every value right), 1 or 0.
    ``shaped``: the weighted terms of ``PersonalToolEnv`` without penalties.

    ## Episode End
    Terminated after the single answer.

    ## Information
    At the end ``metrics`` (the record's PTBench columns and error labels), ``reward_terms`` and
    ``success``. No gold unless ``debug=True``.

    ## Arguments
    As ``PersonalToolEnv``; ``visibility`` is ``profile`` (PTBench's setting) or ``history``;
    ``scorer`` defaults to ``"compat"``.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        scorer: str = "compat",
        reward_mode: str = "sparse",
        visibility: str = "profile",
        kinds: Any = ONE_SHOT_KINDS,
        records: str | list[Any] | None = None,
        **kwargs: Any,
    ):
        if visibility == "hidden":
            raise ValueError("PTBench-v0 is one-shot: the profile must be visible ('profile' or 'history')")
        super().__init__(scorer=scorer, reward_mode=reward_mode, visibility=visibility, kinds=kinds, records=records, **kwargs)
        self._current: PTBenchRecord | None = None
        self._done = False

    def _record_for(self, task: Any) -> PTBenchRecord:
        """A dataset task in PTBench's shape (imported records already are)."""
        if isinstance(task, PTBenchRecord):
            return task
        view = user_view(self._dataset.users[task.user_id], self._registry, task.scenario, self.config.visibility)
        platforms, tools = ptbench_prompt_parts(self._registry, task.scenario)
        answer, qp, pp = ptbench_answer(task, self._registry)
        return PTBenchRecord(0, task.id, view["profile"] or "", platforms, tools, task.query, answer, tuple(qp), tuple(pp), task.now)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        task = self._pick(options)
        rec = self._current = self._record_for(task)
        self._done = False
        self._last_obs = dumps(
            {
                "type": "ptbench",
                "user_profile": rec.user_profile,
                "platforms": rec.platforms,
                "tools": rec.tools,
                "query": rec.query,
                # not in PTBench's prompt; without it "tomorrow" could not be resolved
                "now": rec.now,
                "answer_format": ANSWER_FORMAT,
            }
        )
        info: dict[str, Any] = {"task_id": rec.id, "scenario": getattr(task, "scenario", "ptbench")}
        if self.debug:
            info["gold"] = rec.answer
        return self._last_obs, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        rec = self._current
        if rec is None:
            raise RuntimeError("call reset() before step()")
        task = self._tasks[self._task_index[rec.id]]
        scenario = getattr(task, "scenario", "ptbench")
        if self._done:
            self._last_obs = dumps({"type": "error", "error": "the episode is over; call reset()"})
            return self._last_obs, 0.0, True, False, {"task_id": rec.id, "scenario": scenario}
        self._done = True
        gold = gold_answer(task, self._registry) if not isinstance(task, PTBenchRecord) else rec.gold
        pred, problem = prediction_from_text(action, self._registry)
        record = score_record(pred, gold, self.config.scorer)
        if problem:
            record.notes.insert(0, problem)
        terms = reward_terms(record)
        reward = terms["success"] if self.config.reward_mode == "sparse" else sum(REWARD_WEIGHTS[k] * v for k, v in terms.items())
        info: dict[str, Any] = {
            "task_id": rec.id,
            "scenario": scenario,
            "kind": getattr(task, "kind", None),
            "success": record.overall,
            "reward_terms": {**terms, "total": reward},
            "metrics": record.as_dict(notes=self.debug),
        }
        if self.debug:
            info["gold"] = rec.answer
        self._last_obs = dumps(
            {"type": "scored", "format_ok": record.format, "notes": record.notes if self.debug else [problem] if problem else []}
        )
        return self._last_obs, reward, True, False, info
