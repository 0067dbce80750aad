"""One request of one simulated user per episode: :class:`PersonalToolEnv`."""

from __future__ import annotations

from typing import Any, SupportsFloat

from ptenv.core.episode import Episode
from ptenv.core.reward import EpisodeScore
from ptenv.envs.base import BaseTaskEnv


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
    ``finish`` (always), ``ask_user``, ``get_profile_field``, ``search_history`` (hidden mode),
    ``choose_platform`` (the ``platform_first`` tool view). A malformed action returns an ``error``
    observation and a penalty; it never raises.

    ## Observation Space
    :class:`~ptenv.envs.spaces.UnicodeText`: a JSON document (see :func:`ptenv.parse_observation`). At
    reset, ``type: "task"`` with the query, the clock (``now``), what the visibility mode shows of
    the user, the platforms and the tools (JSON Schema; in the ``platform_first`` view only the
    built-ins, the chosen platform's tools coming back from ``choose_platform``); on ptenv-v2 also
    ``notices`` when the task has any (a platform that cannot be used). After each step,
    ``type: "tool_results"`` (or ``"error"``) with each call's output or structured error.

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
    ``compat``), ``max_steps`` (12), ``tool_view`` (``full``; ``compact``: the same tools, one short
    sentence each and no parameter prose, ~30% smaller; ``platform_first``: pick a platform
    with ``choose_platform`` first, then get its tools: a prompt ~3x smaller, and the personal
    decision is the first action), ``render_mode`` (``"ansi"`` or None), ``debug``, ``sim_user``.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._ep: Episode | None = None
        self._score: EpisodeScore | None = None

    @property
    def episode(self) -> Episode | None:
        """The running episode (its task holds the gold: for evaluation and test code, never agents)."""
        return self._ep

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._ep = self.source.episode(self._pick(options), self.config, self.sim_user)
        self._score = None
        return self._show_intro(self._ep), self._get_info()

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        ep = self._ep
        if ep is None:
            raise RuntimeError("call reset() before step()")
        if self._score is not None:  # stepping a finished episode changes nothing
            return self._show({"type": "error", "error": "the episode is over; call reset()"}), 0.0, True, False, self._get_info()
        payload, reward = ep.act(action)
        terminated = ep.finished
        truncated = not terminated and ep.steps >= self.config.max_steps
        info = self._get_info()
        if terminated or truncated:
            score = self._score = ep.score(self.debug)
            reward += score.terminal_reward
            self._end_info(ep.info, score, info)  # info names the task already
            if self.debug:
                info["gold"] = ep.debug_gold()
        return self._show(payload), reward, terminated, truncated, info

    def abandon(self) -> list[dict[str, Any]]:
        ep = self._ep
        if ep is None or self._score is not None:
            return []
        self._score = ep.score_unanswered()
        return [self._unanswered(ep.info, self._score)]

    def _get_info(self) -> dict[str, Any]:
        ep = self._ep
        assert ep is not None
        task = ep.info
        info: dict[str, Any] = {"task_id": task.id, "scenario": task.scenario, "step": ep.steps, **ep.ledger.counts}
        if self.debug and ep.steps == 0:
            info["gold"] = ep.debug_gold()
        return info
