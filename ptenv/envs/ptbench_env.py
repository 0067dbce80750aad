"""PTBench's one-shot protocol as an environment: one answer text per episode, scored as PTBench does."""

from __future__ import annotations

from typing import Any, SupportsFloat

from ptenv.core.episode import UNANSWERED, TaskInfo
from ptenv.core.records import ANSWER_FORMAT, ONE_SHOT_KINDS, PTBenchRecord, prediction_from_text
from ptenv.core.reward import NO_STEP_PENALTIES
from ptenv.envs.base import BaseTaskEnv
from ptenv.scoring import score_record
from ptenv.tools_registry import Registry


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
        self._current: tuple[TaskInfo, PTBenchRecord] | None = None
        self._done = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        key = self._pick(options)
        task, rec = self._current = self.source.info(key), self.source.one_shot(key, self.config.visibility)
        self._done = False
        self._show(
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
        info: dict[str, Any] = {"task_id": task.id, "scenario": task.scenario}
        if self.debug:
            info["gold"] = rec.answer
        return self._last_obs, info

    def abandon(self) -> list[dict[str, Any]]:
        if self._current is None or self._done:
            return []
        self._done = True
        task, rec = self._current
        score = self.config.reward.score(score_record(UNANSWERED, rec.gold, self.config.scorer), NO_STEP_PENALTIES)
        return [self._unanswered(task, score)]

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._current is None:
            raise RuntimeError("call reset() before step()")
        task, rec = self._current
        if self._done:
            self._show({"type": "error", "error": "the episode is over; call reset()"})
            return self._last_obs, 0.0, True, False, {"task_id": task.id, "scenario": task.scenario}
        self._done = True
        pred, problem = prediction_from_text(action, Registry.default())
        record = score_record(pred, rec.gold, self.config.scorer)
        if problem:
            record.notes.insert(0, problem)
        score = self.config.reward.score(record, NO_STEP_PENALTIES)
        info: dict[str, Any] = {
            "task_id": task.id,
            "scenario": task.scenario,
            "kind": task.kind,
            "success": record.overall,
            "reward_terms": {**score.terms, "total": score.total},
            "metrics": record.as_dict(notes=self.debug),
        }
        if self.debug:
            info["gold"] = rec.answer
        self._show({"type": "scored", "format_ok": record.format, "notes": record.notes if self.debug else [problem] if problem else []})
        return self._last_obs, score.total, True, False, info
